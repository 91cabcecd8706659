import { readFile } from "node:fs/promises";
import path from "node:path";
import { awsErrorName } from "../adapters/aws-errors.js";
import type { S3Objects } from "../adapters/s3.js";
import type { LoadedConfig } from "../config/load.js";
import { type Gen3dConfig, TASK_NAMES, type TaskName } from "../config/schema.js";
import { UserError } from "../engine/errors.js";
import { glbHeader, plyHeader, pngSize, syntheticPng } from "./artifacts.js";

/**
 * What every smoke test shares, whether it reaches the container directly (phase 3) or through the
 * async endpoint (phase 9, `gen3d invoke`): the tasks to exercise, their input picture and request
 * body, and the reading of the S3 artifacts a response names.
 */

/** The tasks the enabled models serve, in the order they chain (segment's mask feeds generate_3d). */
export function tasksUnderTest(config: Pick<Gen3dConfig, "models">): TaskName[] {
  const offered = new Set(config.models.filter((m) => m.enabled).flatMap((m) => m.tasks));
  return TASK_NAMES.filter((t) => offered.has(t));
}

export interface SmokeImage {
  bytes: Buffer;
  name: string;
}

/** The task's configured fixture picture, or gen3d's synthetic one when the config names none. */
export async function smokeImage(
  ctx: { config: Gen3dConfig; loaded: Pick<LoadedConfig, "baseDir"> },
  task: TaskName,
): Promise<SmokeImage> {
  const fixture = ctx.config.smokeTests[task];
  if (!fixture) return { bytes: syntheticPng(), name: "synthetic.png" };
  const file = path.resolve(ctx.loaded.baseDir, fixture.image);
  try {
    return { bytes: await readFile(file), name: path.basename(file) };
  } catch {
    throw new UserError("FIXTURE_MISSING", `smokeTests.${task}.image: ${file} cannot be read`, {
      hint: "Point it at an image file (relative to the config), or remove the entry to use gen3d's synthetic picture.",
    });
  }
}

export interface PayloadInput {
  bucket: string;
  imageKey: string;
  sessionId: string;
  /** The input picture's size: segment's default point is its centre. */
  image: { width: number; height: number } | undefined;
  /** generate_3d's mask (segment's output). */
  maskKey?: string;
  /** Fields that win over the defaults (smokeTests.TASK.payload, or `gen3d invoke`'s prompt). */
  overrides?: Record<string, unknown>;
}

/** The JSON body of POST /invocations for one task (container/gen3d_serving/schemas.py). */
export function taskPayload(task: TaskName, input: PayloadInput): Record<string, unknown> {
  const defaults: Record<string, unknown> =
    task === "segment"
      ? {
          prompt_type: "point",
          point: [Math.floor((input.image?.width ?? 2) / 2), Math.floor((input.image?.height ?? 2) / 2)],
          point_label: 1,
        }
      : task === "generate_3d"
        ? { mask_s3_key: input.maskKey }
        : {};
  return {
    task,
    bucket: input.bucket,
    image_s3_key: input.imageKey,
    session_id: input.sessionId,
    ...defaults,
    ...(input.overrides ?? {}),
  };
}

export interface ArtifactCheck {
  key: string;
  kind: string;
  ok: boolean;
  detail: string;
}

/** One artifact's bytes judged: a PNG mask of the image's size, a PLY with vertices, a GLB v2. */
export function judgeArtifact(
  kind: string,
  bytes: Uint8Array,
  image: { width: number; height: number } | undefined,
): { ok: boolean; detail: string } {
  if (kind === "embedding") return { ok: bytes.length > 0, detail: `${bytes.length} bytes` };
  if (kind === "mask") {
    const size = pngSize(bytes);
    if (!size) return { ok: false, detail: "not a PNG" };
    const matches = !image || (size.width === image.width && size.height === image.height);
    return {
      ok: matches,
      detail: `PNG ${size.width}×${size.height}${image ? ` for a ${image.width}×${image.height} image` : ""}`,
    };
  }
  if (kind === "ply") {
    const header = plyHeader(bytes);
    return header
      ? { ok: header.vertices > 0, detail: `PLY ${header.format}, ${header.vertices} vertices` }
      : { ok: false, detail: "not a PLY" };
  }
  const header = glbHeader(bytes);
  return header
    ? { ok: true, detail: `glTF ${header.version}, ${header.length} bytes` }
    : { ok: false, detail: "not a GLB" };
}

/** The S3 objects a task's (parsed) response names, as `kind → key`. */
export function artifactKeys(task: TaskName, body: Record<string, unknown>): Array<[string, string]> {
  if (task === "get_embedding") return [["embedding", String(body.embedding_s3_key)]];
  if (task === "segment") return [["mask", String(body.mask_s3_key)]];
  return Object.entries((body.asset_s3_keys ?? {}) as Record<string, string>);
}

export interface FetchedArtifact extends ArtifactCheck {
  /** The bytes, when `keepBytes` asked for them. */
  bytes?: Uint8Array;
}

/**
 * Reads back every S3 object a task's response names and judges it. The embedding (megabytes) is
 * only HEADed unless `keepBytes`, which also returns every artifact's bytes (for `gen3d invoke`).
 */
export async function checkTaskArtifacts(
  deps: { s3: S3Objects; signal: AbortSignal },
  bucket: string,
  task: TaskName,
  body: Record<string, unknown>,
  image: { width: number; height: number } | undefined,
  options: { keepBytes?: boolean } = {},
): Promise<FetchedArtifact[]> {
  const out: FetchedArtifact[] = [];
  for (const [kind, key] of artifactKeys(task, body)) {
    const unreadable = (why: string) =>
      out.push({ key, kind, ok: false, detail: `cannot read s3://${bucket}/${key}: ${why}` });
    try {
      if (kind === "embedding" && !options.keepBytes) {
        const head = await deps.s3.headObject({ bucket, key });
        if (!head) unreadable("NotFound");
        else out.push({ key, kind, ok: head.contentLength > 0, detail: `${head.contentLength} bytes` });
        continue;
      }
      const bytes = await deps.s3.getObject({ bucket, key });
      out.push({ key, kind, ...judgeArtifact(kind, bytes, image), ...(options.keepBytes ? { bytes } : {}) });
    } catch (error) {
      if (deps.signal.aborted) throw error;
      // The facade's error wraps the SDK's: its name (NoSuchKey, AccessDenied…) says why.
      unreadable(awsErrorName((error as { cause?: unknown }).cause ?? error) || "Error");
    }
  }
  return out;
}
