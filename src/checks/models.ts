import { stat } from "node:fs/promises";
import path from "node:path";
import { modelSource } from "../catalog/models.js";
import type { Gen3dConfig } from "../config/schema.js";
import { listTree } from "../engine/fingerprint.js";
import { type GateResult, gate } from "../engine/gate.js";
import type { DockerfileInput } from "./dockerfile.js";
import { copyInstructions, loadIgnoreRules } from "./dockerfile.js";
import { formatBytes } from "./format.js";
import { checkSafetensors } from "./safetensors.js";

/** "Download the sam3 weights (…) into models/sam3, from Hugging Face facebook/sam3 (gated: …)". */
function download(name: string, dir: string): string {
  const source = modelSource(name);
  return source
    ? `Download the ${source.title} weights (${source.files}) into ${dir}, from ${source.from}`
    : `Download the ${name} weights into ${dir}`;
}

export { formatBytes };

/** Every enabled model's directory exists, is non-empty and is within tolerance of its expected size: a missing or half-downloaded checkpoint is caught before the build. */
export async function modelGates(config: Gen3dConfig, baseDir: string): Promise<GateResult[]> {
  const results: GateResult[] = [];
  for (const model of config.models.filter((m) => m.enabled)) {
    const id = `models.${model.name}`;
    const title = `model ${model.name} present with the expected size`;
    const dir = path.resolve(baseDir, model.localPath);
    const shown = path.relative(baseDir, dir) || ".";
    let isDir = false;
    try {
      isDir = (await stat(dir)).isDirectory();
    } catch {}
    if (!isDir) {
      results.push(
        gate(id, title, "fail", `model ${model.name}: directory ${shown} does not exist`, {
          hint: `${download(model.name, shown)} (README: Models), or fix models[].localPath.`,
        }),
      );
      continue;
    }
    const files = await listTree(dir);
    const total = files.reduce((sum, f) => sum + f.size, 0);
    const evidence = {
      dir: shown,
      files: files.length,
      bytes: total,
      expectedBytes: model.expectedSizeBytes,
    };
    if (files.length === 0 || total === 0) {
      results.push(
        gate(id, title, "fail", `model ${model.name}: ${shown} is empty`, {
          hint: `${download(model.name, shown)}; an empty directory builds an image that cannot serve.`,
          evidence,
        }),
      );
      continue;
    }
    // Each safetensors file against its own header, whatever the size tolerance allows.
    const broken: string[] = [];
    for (const file of files.filter((f) => f.path.endsWith(".safetensors"))) {
      const check = await checkSafetensors(path.join(dir, file.path));
      if (!check.ok)
        broken.push(`${path.posix.join(shown.split(path.sep).join("/"), file.path)} ${check.problem}`);
    }
    if (broken.length > 0) {
      results.push(
        gate(id, title, "fail", `model ${model.name}: ${broken.join("; ")}`, {
          hint: `Download ${broken.length === 1 ? "that file" : "those files"} again (a partial download or a copy that stopped early); the safetensors library refuses a file whose size differs from what its header declares.`,
          evidence: { ...evidence, broken },
        }),
      );
      continue;
    }
    const deviation = Math.abs(total - model.expectedSizeBytes) / model.expectedSizeBytes;
    if (deviation > model.sizeTolerance) {
      results.push(
        gate(
          id,
          title,
          "fail",
          `model ${model.name}: ${shown} holds ${formatBytes(total)} in ${files.length} file(s), expected ${formatBytes(model.expectedSizeBytes)} ±${Math.round(model.sizeTolerance * 100)}%`,
          {
            hint: "A partial download or the wrong checkpoint? Re-download it, or update models[].expectedSizeBytes if the new size is right.",
            evidence,
          },
        ),
      );
      continue;
    }
    results.push(
      gate(id, title, "pass", `${model.name}: ${formatBytes(total)} in ${files.length} file(s)`, {
        evidence,
      }),
    );
  }
  return results;
}

/** Models packaged in the image must be inside the build context and copied by the Dockerfile, or the image ships without them. */
export async function modelsInImageGate(
  config: Gen3dConfig,
  baseDir: string,
  dockerfile: DockerfileInput,
  instructions: Parameters<typeof copyInstructions>[0],
): Promise<GateResult> {
  const id = "models.copied-into-image";
  const title = "image-packaged models are copied by the Dockerfile";
  const copied = copyInstructions(instructions).flatMap((m) =>
    m.fromStage ? [] : m.sources.map((s) => s.replace(/^\.?\/+|\/+$/g, "")),
  );
  const missing: string[] = [];
  const ignored: { text: string; cause?: { pattern: string; line: number } }[] = [];
  const rules = await loadIgnoreRules(dockerfile.contextDir);
  for (const model of config.models.filter((m) => m.enabled && m.packaging === "image")) {
    const relative = path
      .relative(dockerfile.contextDir, path.resolve(baseDir, model.localPath))
      .split(path.sep)
      .join("/");
    const covered = copied.some(
      (source) => source === "." || relative === source || relative.startsWith(`${source}/`),
    );
    if (relative.startsWith("..") || !covered) {
      missing.push(`${model.name} (${relative})`);
      continue;
    }
    // Copied, but .dockerignore may still leave files out of the build context.
    const files = await listTree(path.resolve(baseDir, model.localPath)).catch(() => []);
    const left = files.map((f) => `${relative}/${f.path}`).filter((f) => rules.ignores(f));
    const cause = left[0] ? rules.cause(left[0]) : undefined;
    if (left.length > 0)
      ignored.push({
        text: `${model.name}: ${left.length} of its ${files.length} file(s) excluded by .dockerignore${cause ? ` (line ${cause.line}: \`${cause.pattern}\`)` : ""}: ${left.slice(0, 3).join(", ")}${left.length > 3 ? ", …" : ""}`,
        ...(cause ? { cause } : {}),
      });
  }
  const firstIgnored = ignored[0];
  if (missing.length === 0 && firstIgnored) {
    const dockerignore = path.join(path.relative(baseDir, dockerfile.contextDir) || ".", ".dockerignore");
    return gate(id, title, "fail", ignored.map((i) => i.text).join("; "), {
      hint: firstIgnored.cause
        ? `Remove or narrow \`${firstIgnored.cause.pattern}\` (line ${firstIgnored.cause.line} of ${dockerignore}), or add an exception after it (e.g. \`!models/\`); the build never sees an ignored file.`
        : `Change ${dockerignore} so the model files stay in the build context.`,
      location: { file: dockerignore, ...(firstIgnored.cause ? { line: firstIgnored.cause.line } : {}) },
      evidence: ignored,
    });
  }
  if (missing.length > 0) {
    return gate(
      id,
      title,
      "fail",
      `no COPY in ${dockerfile.displayFile} puts these models into the image: ${missing.join(", ")}`,
      {
        hint: 'Add a COPY for each model directory (its own layer, before the code), or set packaging to "s3".',
        location: { file: dockerfile.displayFile },
      },
    );
  }
  return gate(id, title, "pass", "every image-packaged model has a COPY");
}
