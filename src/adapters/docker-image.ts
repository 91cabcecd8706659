import { z } from "zod";
import type { Docker } from "./docker.js";

/** The part of `docker image inspect` the gates read. */
export const imageInspect = z.object({
  Id: z.string().startsWith("sha256:"),
  RepoTags: z.array(z.string()).nullable().default([]),
  RepoDigests: z.array(z.string()).nullable().default([]),
  Os: z.string(),
  Architecture: z.string(),
  Size: z.number(),
  Config: z.object({ Labels: z.record(z.string(), z.string()).nullable().default({}) }).passthrough(),
});
export type ImageInspect = z.infer<typeof imageInspect>;

/** `docker image inspect REF`, parsed; undefined when there is no such image. */
export async function inspectImage(
  docker: Docker,
  ref: string,
  signal?: AbortSignal,
): Promise<ImageInspect | undefined> {
  const result = await docker.exec(["image", "inspect", "--format", "{{json .}}", ref], {
    allowFailure: true,
    signal,
  });
  if (result.exitCode !== 0) {
    if (/No such image|not found/i.test(result.stderr)) return undefined;
    throw new Error(result.stderr.trim() || `docker image inspect ${ref} failed`);
  }
  return imageInspect.parse(JSON.parse(result.stdout));
}
