import type { Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../../engine/gate.js";
import { argsIn, type DockerfileInput, expand, From, globalArgs, lineOf, properties } from "./parse.js";

interface BaseImage {
  image: string;
  line: number;
  /** Build args the FROM line is made of, and where each value came from. */
  args: { name: string; from: "config" | "default" | "unset"; argLine?: number }[];
}

/** Where a global ARG's value comes from: the config's image.buildArgs, the ARG default, or nowhere. */
function argOrigins(instructions: Instruction[], buildArgs: Record<string, string>, names: string[]) {
  return names.map((name) => {
    if (buildArgs[name] !== undefined) return { name, from: "config" as const };
    const declaration = instructions
      .slice(
        0,
        instructions.findIndex((i) => i instanceof From),
      )
      .find((i) => i.getKeyword() === "ARG" && properties(i).some((p) => p.name === name));
    const hasDefault =
      declaration && properties(declaration).some((p) => p.name === name && p.value !== undefined);
    return declaration && hasDefault
      ? { name, from: "default" as const, argLine: lineOf(declaration) }
      : { name, from: "unset" as const };
  });
}

/** Says which gen3d setting decides a build arg, so the fix lands where the value comes from. */
export function argSource(arg: BaseImage["args"][number]): string {
  const key = `image.buildArgs.${arg.name}`;
  if (arg.from === "config") return `${arg.name} comes from ${key} in the gen3d config`;
  if (arg.from === "default")
    return `${arg.name} is the ARG default at line ${arg.argLine} (set ${key} in the gen3d config to override it)`;
  return `${arg.name} has no default and ${key} is not set in the gen3d config`;
}

/** The FROM lines that name an image (not a stage), with build args expanded. */
export function baseImages(instructions: Instruction[], buildArgs: Record<string, string>): BaseImage[] {
  const args = globalArgs(instructions, buildArgs);
  const stageNames = new Set<string>();
  const images: BaseImage[] = [];
  for (const instruction of instructions) {
    if (!(instruction instanceof From)) continue;
    const written = instruction.getImage() ?? "";
    const image = expand(written, args);
    const stage = instruction.getBuildStage();
    const isStage = stageNames.has(image);
    if (stage) stageNames.add(stage);
    if (isStage || image === "scratch") continue;
    images.push({
      image,
      line: lineOf(instruction),
      args: argOrigins(instructions, buildArgs, argsIn(written)),
    });
  }
  return images;
}

/** The image the final stage builds FROM, with ARGs expanded and stage aliases followed. */
export function finalBaseImage(
  instructions: Instruction[],
  buildArgs: Record<string, string>,
): string | undefined {
  const args = globalArgs(instructions, buildArgs);
  const stages = new Map<string, string>();
  let last: string | undefined;
  for (const instruction of instructions) {
    if (!(instruction instanceof From)) continue;
    const named = expand(instruction.getImage() ?? "", args);
    const image = stages.get(named) ?? named;
    const stage = instruction.getBuildStage();
    if (stage) stages.set(stage, image);
    last = image;
  }
  return last || undefined;
}

/** Tag and digest as the reference's own grammar reads them (a registry port is not a tag). */
function tagOf(image: string): { tag?: string; digest: boolean } {
  if (image.includes("@sha256:")) return { digest: true };
  const lastSegment = image.split("/").at(-1) ?? image;
  return lastSegment.includes(":")
    ? { tag: lastSegment.split(":").at(-1) as string, digest: false }
    : { digest: false };
}

/** Base images pinned: a tag other than latest, or a digest (seed: reproducible builds). */
export function baseImageGate(input: DockerfileInput, instructions: Instruction[]): GateResult {
  const id = "dockerfile.base-pinned";
  const title = "base image pinned";
  const images = baseImages(instructions, input.buildArgs);
  for (const { image, line, args } of images) {
    const origin = args.length > 0 ? ` (${args.map(argSource).join("; ")})` : "";
    const configKey = args[0] ? `image.buildArgs.${args[0].name}` : undefined;
    if (!image) {
      return gate(id, title, "fail", `FROM at line ${line} names no image${origin}`, {
        hint: configKey
          ? `Set ${configKey} in the gen3d config to a pinned image, or give the ARG a pinned default (e.g. pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime).`
          : "Name a pinned image, e.g. pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime.",
        location: { file: input.displayFile, line },
      });
    }
    const { tag, digest } = tagOf(image);
    if (!digest && (tag === undefined || tag === "latest")) {
      const pin =
        "a version tag (e.g. pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime) or a digest (@sha256:…)";
      return gate(
        id,
        title,
        "fail",
        `FROM ${image} (line ${line}) ${tag ? "uses the `latest` tag" : "has no tag, which means `latest`"}: the build changes under you${origin}`,
        {
          hint:
            configKey && args[0]?.from === "config"
              ? `Set ${configKey} in the gen3d config to ${pin}.`
              : `Pin ${pin}${configKey ? ` in the ARG default or in ${configKey}` : ""}.`,
          location: { file: input.displayFile, line },
        },
      );
    }
  }
  return gate(id, title, "pass", images.map((i) => i.image).join(", ") || "no base image", {
    evidence: images,
  });
}
