import path from "node:path";
import type { DockerfileInput } from "../../src/checks/dockerfile/parse.js";
import { dockerfileGates, readDockerfile } from "../../src/checks/dockerfile.js";
import type { GateResult } from "../../src/phases/phase.js";
import { makeProject } from "./project.js";

/** The Dockerfile input for a project written by makeProject (context: container/). */
export function inputFor(dir: string, buildArgs: Record<string, string> = {}): DockerfileInput {
  return {
    file: path.join(dir, "container/Dockerfile"),
    contextDir: path.join(dir, "container"),
    buildArgs,
    displayFile: "container/Dockerfile",
  };
}

/** Phase 1's Dockerfile gates over a throwaway project, by gate id. */
export async function dockerfileGatesFor(
  dockerfile: string,
  files: Record<string, string> = {},
  buildArgs: Record<string, string> = {},
): Promise<Record<string, GateResult>> {
  const dir = await makeProject({ dockerfile, files });
  const input = inputFor(dir, buildArgs);
  const gates = await dockerfileGates(input, await readDockerfile(input));
  return Object.fromEntries(gates.map((g) => [g.id, g]));
}
