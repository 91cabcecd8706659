import { z } from "zod";
import { ExternalError } from "../engine/errors.js";
import { type Docker, dockerAdvice } from "./docker.js";

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
    const daemonDown =
      /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(
        result.stderr,
      );
    throw new ExternalError(
      daemonDown ? "DOCKER_UNREACHABLE" : "DOCKER_FAILED",
      daemonDown ? "the Docker daemon is not reachable" : `docker image inspect ${ref} failed`,
      {
        details: result.stderr.trim().split("\n").slice(-5),
        hint: daemonDown ? dockerAdvice(process.platform) : undefined,
      },
    );
  }
  return imageInspect.parse(JSON.parse(result.stdout));
}
