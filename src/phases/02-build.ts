import path from "node:path";
import { z } from "zod";
import { type ImageInspect, inspectImage } from "../adapters/docker-image.js";
import { BuildProgress, followBuild } from "../adapters/docker-progress.js";
import { cudaFromImageConfig, gpuDriverGate, type ImageCuda } from "../catalog/gpu-driver.js";
import { classifyBuildFailure } from "../checks/build-failure.js";
import { modelDirInImageGate, SAGEMAKER_MODEL_DIR } from "../checks/dockerfile/model-paths.js";
import { filesInImage, imageGates, modelsInImageGates } from "../checks/image.js";
import { confirmed, gone } from "../checks/reality.js";
import { ExternalError } from "../engine/errors.js";
import { progressIntervalMs, ThrottledLine } from "../engine/progress.js";
import { buildTarget, dockerfileInput, gitRevision, PLATFORM } from "./build-context.js";
import { definePhase } from "./contract.js";
import type { Phase, PhaseContext } from "./phase.js";

/**
 * Which builder `docker build` will use, decided as the docker CLI does: DOCKER_BUILDKIT, when
 * set, is parsed like Go's strconv.ParseBool; unset means BuildKit (the default since Docker 23).
 */
export function builderFor(env: Readonly<Record<string, string | undefined>>): "legacy" | "buildkit" {
  const value = env.DOCKER_BUILDKIT;
  return value !== undefined && ["0", "f", "F", "false", "FALSE", "False"].includes(value)
    ? "legacy"
    : "buildkit";
}

/**
 * Flags that make the build a single-platform image with Docker media types. SageMaker refuses an
 * image index, and BuildKit wraps every image in one when it attaches its default provenance (and
 * SBOM) attestations. The legacy builder writes Docker v2 images and rejects these flags.
 */
export function singleManifestFlags(builder: "legacy" | "buildkit"): string[] {
  return builder === "buildkit" ? ["--provenance=false", "--sbom=false"] : [];
}

/** The CUDA version the built image declares (env CUDA_VERSION or a label), for phases 2 and 6. */
export function imageCuda(image: ImageInspect | undefined): ImageCuda | undefined {
  if (!image) return undefined;
  const env = (image.Config as { Env?: unknown }).Env;
  return cudaFromImageConfig(
    Array.isArray(env) ? env.filter((e): e is string => typeof e === "string") : [],
    image.Config.Labels ?? {},
  );
}

function insideContext(file: string, contextDir: string): boolean {
  const relative = path.relative(contextDir, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/** The files under /opt/ml/model in the built image (`find` in a throwaway container without network). */
async function modelDirListing(
  ctx: PhaseContext,
  ref: string,
): Promise<{ size: number; path: string }[] | { error: string }> {
  const result = await filesInImage(ctx.docker, ref, SAGEMAKER_MODEL_DIR, ctx.signal);
  if (result.exitCode !== 0) {
    if (/No such file or directory/.test(result.stderr)) return [];
    return { error: result.stderr.trim().split("\n").at(-1) ?? `find exited ${result.exitCode}` };
  }
  return result.files;
}

async function engineFor(ctx: PhaseContext) {
  return ctx.docker.engine ? await ctx.docker.engine(ctx.signal) : undefined;
}

/** Phase 2: docker build --platform linux/amd64 with an immutable, content-derived tag. */
export const buildPhase: Phase = definePhase({
  id: 2,
  name: "build",
  title: "Build the image",
  produces: z.object({
    imageTag: z.string().min(1),
    imageId: z.string().min(1),
    localImage: z.string().min(1),
    imageCuda: z.object({ version: z.string(), source: z.string() }).nullable(),
  }),

  async inputs(ctx) {
    // A missing context is run()'s error to report; `plan` still shows the phase would run.
    const target = await buildTarget(ctx).catch(() => undefined);
    // What exists now, not only what STATE.json says: a pruned image must be rebuilt.
    const image = target
      ? await inspectImage(ctx.docker, target.ref, ctx.signal).catch(() => undefined)
      : undefined;
    return {
      imageId: image?.Id ?? "missing",
      tag: target?.tag ?? "context-missing",
      models: ctx.config.models.filter((m) => m.enabled),
      maxSizeGb: ctx.config.image.maxSizeGb,
    };
  },

  async run(ctx) {
    const target = await buildTarget(ctx);
    const existing = await inspectImage(ctx.docker, target.ref, ctx.signal);
    if (existing && existing.Config.Labels?.["gen3d.context-hash"] === target.contextHash) {
      ctx.progress(`${target.ref} already built from this context`);
      return {
        outcome: "unchanged",
        artifacts: {
          imageTag: target.tag,
          imageId: existing.Id,
          localImage: target.ref,
          imageCuda: imageCuda(existing) ?? null,
        },
        evidence: { ref: target.ref, imageId: existing.Id, built: false, cuda: imageCuda(existing) ?? null },
      };
    }
    const { file, contextDir } = dockerfileInput(ctx);
    const revision = await gitRevision(ctx.loaded.baseDir);
    const builder = builderFor(ctx.env);
    const args = [
      "build",
      "--force-rm",
      "--platform",
      PLATFORM,
      ...singleManifestFlags(builder),
      "--file",
      file,
      "--tag",
      target.ref,
      "--label",
      `gen3d.context-hash=${target.contextHash}`,
      "--label",
      `org.opencontainers.image.version=${ctx.config.image.version}`,
      "--label",
      `org.opencontainers.image.revision=${revision}`,
      "--build-arg",
      `GEN3D_VERSION=${ctx.config.image.version}`,
      "--build-arg",
      `GIT_REVISION=${revision}`,
      ...Object.entries(ctx.config.image.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      contextDir,
    ];
    const started = ctx.clock.now().getTime();
    const tail: string[] = [];
    // Without a terminal, progress is a line every few seconds, however fast the output comes.
    const plain = new ThrottledLine(ctx.progress, ctx.clock, progressIntervalMs(ctx.io.isTTY, ctx.env));
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
    };
    // The legacy builder speaks the Engine API's JSON stream; BuildKit needs the CLI's session.
    const engine = builder === "legacy" && insideContext(file, contextDir) ? await engineFor(ctx) : undefined;
    try {
      if (engine) {
        const now = () => ctx.clock.now().getTime();
        const follow = followBuild(new BuildProgress(started, ctx.config.timeouts.buildSeconds), plain, now);
        await engine.build(
          {
            contextDir,
            dockerfile: file,
            tag: target.ref,
            platform: PLATFORM,
            labels: {
              "gen3d.context-hash": target.contextHash,
              "org.opencontainers.image.version": ctx.config.image.version,
              "org.opencontainers.image.revision": revision,
            },
            buildArgs: {
              GEN3D_VERSION: ctx.config.image.version,
              GIT_REVISION: revision,
              ...ctx.config.image.buildArgs,
            },
          },
          {
            signal: ctx.signal,
            timeoutMs: ctx.config.timeouts.buildSeconds * 1000,
            onContext: follow.context,
            onMessage: (message) => {
              for (const text of (message.stream ?? "").split("\n")) if (text.trim()) keep(text.trimEnd());
              follow.message(message);
            },
          },
        );
      } else
        await ctx.docker.exec(args, {
          signal: ctx.signal,
          timeoutMs: ctx.config.timeouts.buildSeconds * 1000,
          // The builder the flags were chosen for is the one docker uses, whatever its own env says.
          env: { DOCKER_BUILDKIT: builder === "legacy" ? "0" : "1" },
          onLine: (text) => {
            keep(text);
            plain.offer(() => text.slice(0, 160));
          },
        });
    } catch (error) {
      // The legacy builder prints a failing step's output on stdout: keep it with the error.
      // The engine's stream already put its last lines in details: show the tail once.
      if (error instanceof ExternalError)
        error.details.splice(
          0,
          error.details.length,
          "build output (last lines):",
          ...tail.map((l) => `  ${l}`),
          ...error.details.filter((line) => !tail.includes(line)),
        );
      throw classifyBuildFailure(error);
    }
    const built = await inspectImage(ctx.docker, target.ref, ctx.signal);
    return {
      outcome: "built",
      artifacts: {
        imageTag: target.tag,
        imageId: built?.Id,
        localImage: target.ref,
        imageCuda: imageCuda(built) ?? null,
      },
      evidence: {
        ref: target.ref,
        imageId: built?.Id,
        cuda: imageCuda(built) ?? null,
        built: true,
        builder,
        via: engine ? "engine-api" : "cli",
        platform: PLATFORM,
        seconds: (ctx.clock.now().getTime() - started) / 1000,
        outputTail: tail.slice(-10),
      },
    };
  },

  async verify(ctx) {
    const target = await buildTarget(ctx);
    const image = await inspectImage(ctx.docker, target.ref, ctx.signal);
    const results = imageGates(target.ref, image, ctx.config);
    if (image) results.push(gpuDriverGate(ctx.config.instance.type, imageCuda(image)));
    if (image)
      results.push(
        ...(await modelsInImageGates(ctx.docker, target.ref, ctx.config, ctx.loaded.baseDir, ctx.signal)),
        modelDirInImageGate(await modelDirListing(ctx, target.ref)),
      );
    return results;
  },

  /** The image still exists locally, with the ID phase 2 recorded. */
  async reality(ctx) {
    const { localImage, imageId } = ctx.state.state.artifacts;
    if (typeof localImage !== "string" || !localImage || !imageId) return gone("phase 2 recorded no image");
    const image = await inspectImage(ctx.docker, localImage, ctx.signal);
    if (!image) return gone(`image ${localImage} no longer exists locally`);
    if (image.Id === imageId) return confirmed(`image ${localImage} is ${imageId.slice(0, 19)}`);
    return {
      type: "changed",
      reason: `image ${localImage} changed outside gen3d: ${imageId.slice(0, 19)} → ${image.Id.slice(0, 19)}`,
      changes: [`Id ${imageId} → ${image.Id}`],
    };
  },
});
