import { type GateResult, gate } from "../engine/gate.js";
import { noninteractiveGate } from "./dockerfile/apt.js";
import { baseImageGate } from "./dockerfile/base-image.js";
import { copySourcesGate } from "./dockerfile/copy-sources.js";
import { entrypointGate } from "./dockerfile/entrypoint.js";
import { modelDirGate } from "./dockerfile/model-paths.js";
import { copies, type DockerfileInput, parseDockerfile, stagesOf } from "./dockerfile/parse.js";

/** The Dockerfile gates of phase 1, each one concern (one file each under ./dockerfile/). */
export async function dockerfileGates(
  input: DockerfileInput,
  text: string | undefined,
): Promise<GateResult[]> {
  if (text === undefined) {
    return [
      gate("dockerfile.exists", "Dockerfile exists", "fail", `${input.displayFile} not found`, {
        hint: "Set image.contextDir and image.dockerfile in gen3d.config.json to your Dockerfile.",
      }),
    ];
  }
  const instructions = parseDockerfile(text);
  const finalStage = stagesOf(instructions).at(-1) ?? [];
  return [
    await entrypointGate(input, finalStage, copies(finalStage)),
    await noninteractiveGate(input, instructions),
    await copySourcesGate(input, copies(instructions)),
    baseImageGate(input, instructions),
    await modelDirGate(input, instructions),
  ];
}

export { finalBaseImage } from "./dockerfile/base-image.js";
export { dockerignore, loadIgnoreRules } from "./dockerfile/ignore.js";
export { modelDirInImageGate } from "./dockerfile/model-paths.js";
export {
  copies as copyInstructions,
  type DockerfileInput,
  parseDockerfile,
  readDockerfile,
} from "./dockerfile/parse.js";
