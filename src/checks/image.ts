import path from "node:path";
import type { Docker } from "../adapters/docker.js";
import { type ImageInspect, inspectImage } from "../adapters/docker-image.js";
import type { Gen3dConfig, ModelConfig } from "../config/schema.js";
import { listTree } from "../engine/fingerprint.js";
import { type GateResult, gate } from "../engine/gate.js";
import { formatBytes } from "./models.js";

export const BAKED_MODEL_ROOT = "/opt/gen3d/models";

export function containerModelPath(model: ModelConfig): string {
  return model.containerPath ?? `${BAKED_MODEL_ROOT}/${model.name}`;
}

/** The image exists, is linux/amd64 and fits its size budget. */
export function imageGates(ref: string, image: ImageInspect | undefined, config: Gen3dConfig): GateResult[] {
  if (!image) {
    return [
      gate("image.exists", "image exists", "fail", `no local image ${ref}`, {
        hint: "Build it: `gen3d deploy --to 2` (the tag follows the build context's content).",
      }),
    ];
  }
  const results = [
    gate("image.exists", "image exists", "pass", `${ref} is ${image.Id.slice(0, 19)}`, {
      evidence: { id: image.Id },
    }),
  ];
  const platform = `${image.Os}/${image.Architecture}`;
  results.push(
    platform === "linux/amd64"
      ? gate("image.platform", "image is linux/amd64", "pass", platform)
      : gate(
          "image.platform",
          "image is linux/amd64",
          "fail",
          `${ref} is ${platform}; SageMaker GPU instances run linux/amd64 and would fail with "exec format error"`,
          {
            hint: "Build with `--platform linux/amd64` (gen3d does) from a linux/amd64 base image; on Apple silicon this needs emulation (Docker Desktop's Rosetta/QEMU).",
          },
        ),
  );
  const budget = config.image.maxSizeGb * 1024 ** 3;
  results.push(
    gate(
      "image.size",
      "image size within budget",
      image.Size <= budget ? "pass" : "fail",
      `${formatBytes(image.Size)} (budget ${config.image.maxSizeGb} GiB)`,
      {
        hint:
          image.Size <= budget
            ? undefined
            : "Slim the image (multi-stage build, no caches) or raise image.maxSizeGb.",
        evidence: { bytes: image.Size },
      },
    ),
  );
  return results;
}

/**
 * The files under `dir` in image `ref` with their sizes (`find` in a throwaway container without
 * network: what was built, not the build context), with find's or docker's exit code and stderr.
 */
export async function filesInImage(
  docker: Docker,
  ref: string,
  dir: string,
  signal?: AbortSignal,
): Promise<{ exitCode: number; stderr: string; files: { size: number; path: string }[] }> {
  const result = await docker.exec(
    [
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "find",
      ref,
      dir,
      "-type",
      "f",
      "-printf",
      "%s\\t%P\\n",
    ],
    { allowFailure: true, signal, timeoutMs: 120_000 },
  );
  const files = result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [size, file] = line.split("\t");
      return { size: Number(size), path: file ?? "" };
    });
  return { exitCode: result.exitCode, stderr: result.stderr, files };
}

/**
 * Every model file of the image-packaged models is inside the image with the size it has on disk.
 * Reads the image's own filesystem (`find` in a throwaway container without network), not the
 * build context: what matters is what was built.
 */
export async function modelsInImageGates(
  docker: Docker,
  ref: string,
  config: Gen3dConfig,
  baseDir: string,
  signal?: AbortSignal,
): Promise<GateResult[]> {
  const results: GateResult[] = [];
  for (const model of config.models.filter((m) => m.enabled && m.packaging === "image")) {
    const id = `image.model.${model.name}`;
    const title = `model ${model.name} inside the image`;
    const where = containerModelPath(model);
    const listing = await filesInImage(docker, ref, where, signal);
    // find exits 1 for a path it cannot read; 125–127 are docker's own failure (the daemon, a
    // missing `find`): that says nothing about the weights, so it must not read as "missing".
    if (listing.exitCode >= 125) {
      const said = listing.stderr.trim().split("\n").at(-1) || `exit ${listing.exitCode}`;
      results.push(
        gate(id, title, "fail", `could not list ${where} in the image: docker run failed (${said})`, {
          hint:
            listing.exitCode === 125
              ? "Docker could not start the listing container: check `docker info` and run the command again."
              : "The image has no usable `find` (a distroless or scratch base?): add findutils, or set models[].packaging to s3.",
        }),
      );
      continue;
    }
    if (listing.exitCode !== 0) {
      results.push(
        gate(
          id,
          title,
          "fail",
          `${where} is missing from the image (${listing.stderr.trim().split("\n").at(-1) ?? "find failed"})`,
          {
            hint: `COPY the weights to ${where} in the Dockerfile (their own layer, before the code), or set models[].containerPath.`,
          },
        ),
      );
      continue;
    }
    const inImage = new Map(listing.files.map((f) => [f.path, f.size]));
    const local = await listTree(path.resolve(baseDir, model.localPath)).catch(() => []);
    const missing = local.filter((f) => inImage.get(f.path) === undefined).map((f) => f.path);
    const wrongSize = local
      .filter((f) => inImage.has(f.path) && inImage.get(f.path) !== f.size)
      .map((f) => f.path);
    const bytes = [...inImage.values()].reduce((a, b) => a + b, 0);
    const evidence = { path: where, files: inImage.size, bytes, missing, wrongSize };
    if (inImage.size === 0 || missing.length > 0 || wrongSize.length > 0) {
      const problems = [
        inImage.size === 0 ? `${where} is empty` : "",
        missing.length
          ? `missing: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` (+${missing.length - 5})` : ""}`
          : "",
        wrongSize.length ? `size differs: ${wrongSize.slice(0, 5).join(", ")}` : "",
      ].filter(Boolean);
      results.push(
        gate(
          id,
          title,
          "fail",
          `model ${model.name} in the image does not match ${model.localPath}: ${problems.join("; ")}`,
          {
            hint: "Check the COPY line and .dockerignore for the model directory, then rebuild.",
            evidence,
          },
        ),
      );
      continue;
    }
    results.push(
      gate(id, title, "pass", `${where}: ${inImage.size} file(s), ${formatBytes(bytes)}`, { evidence }),
    );
  }
  return results;
}

export { inspectImage };
