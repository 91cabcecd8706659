import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type DockerfileInput, dockerignore } from "../checks/dockerfile.js";
import { UserError } from "../engine/errors.js";
import { hashTree } from "../engine/fingerprint.js";
import type { PhaseContext } from "./phase.js";

export function dockerfileInput(ctx: Pick<PhaseContext, "config" | "loaded">): DockerfileInput {
  const contextDir = path.resolve(ctx.loaded.baseDir, ctx.config.image.contextDir);
  const file = path.resolve(contextDir, ctx.config.image.dockerfile);
  return {
    file,
    contextDir,
    buildArgs: ctx.config.image.buildArgs,
    displayFile: path.relative(ctx.loaded.baseDir, file) || file,
  };
}

export const PLATFORM = "linux/amd64";

export interface BuildTarget {
  /** version + content hash of the build context: immutable, never `latest`. */
  tag: string;
  /** Local reference, NAME:TAG. */
  ref: string;
  contextHash: string;
}

/** The tag follows the build context's content, so a changed file can never hide behind an old tag. */
export async function buildTarget(ctx: Pick<PhaseContext, "config" | "loaded">): Promise<BuildTarget> {
  const { contextDir, file } = dockerfileInput(ctx);
  const contextHash = await hashTree(contextDir, { exclude: await dockerignore(contextDir) }).catch(
    (error: NodeJS.ErrnoException) => {
      throw new UserError(
        "CONTEXT_MISSING",
        `build context ${contextDir} cannot be read (${error.code ?? error.message})`,
        {
          hint: "Set image.contextDir in gen3d.config.json to the directory holding the Dockerfile, relative to the config.",
        },
      );
    },
  );
  const dockerfile = await readFile(file).catch(() => Buffer.alloc(0));
  const settings = { args: ctx.config.image.buildArgs, platform: PLATFORM };
  const combined = createHash("sha256")
    .update(contextHash)
    .update(dockerfile)
    .update(JSON.stringify(settings))
    .digest("hex")
    .slice(0, 12);
  const tag = `${ctx.config.image.version}-${combined}`;
  return { tag, ref: `${ctx.config.image.name}:${tag}`, contextHash: combined };
}

/** The revision label: the config directory's git HEAD, read without running git. */
export async function gitRevision(dir: string): Promise<string> {
  let current = dir;
  for (let i = 0; i < 20; i++) {
    try {
      const head = (await readFile(path.join(current, ".git", "HEAD"), "utf8")).trim();
      if (!head.startsWith("ref: ")) return head;
      const ref = head.slice(5);
      try {
        return (await readFile(path.join(current, ".git", ref), "utf8")).trim();
      } catch {
        const packed = await readFile(path.join(current, ".git", "packed-refs"), "utf8").catch(() => "");
        return (
          packed
            .split("\n")
            .find((l) => l.endsWith(` ${ref}`))
            ?.split(" ")[0] ?? "unknown"
        );
      }
    } catch {
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  return "unknown";
}
