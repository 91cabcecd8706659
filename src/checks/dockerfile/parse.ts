import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  Add,
  Copy,
  DockerfileParser,
  From,
  type Instruction,
  JSONInstruction,
  ModifiableInstruction,
  PropertyInstruction,
} from "dockerfile-ast";

/** What the Dockerfile gates need to know about the build. */
export interface DockerfileInput {
  /** Absolute path of the Dockerfile. */
  file: string;
  /** Absolute path of the build context. */
  contextDir: string;
  /** Build arguments that will be passed (they override ARG defaults). */
  buildArgs: Record<string, string>;
  /** How the path is shown in messages (relative to the config). */
  displayFile: string;
}

export const lineOf = (instruction: Instruction) => instruction.getRange().start.line + 1;

const textLines = new WeakMap<Instruction, string[]>();

/** The instructions, each remembering the Dockerfile's text (for exec-form decoding). */
export function parseDockerfile(text: string): Instruction[] {
  const instructions = DockerfileParser.parse(text).getInstructions();
  const lines = text.split(/\r?\n/);
  for (const instruction of instructions) textLines.set(instruction, lines);
  return instructions;
}

export async function readDockerfile(input: DockerfileInput): Promise<string | undefined> {
  try {
    return await readFile(input.file, "utf8");
  } catch {
    return undefined;
  }
}

/** The instructions of each stage, each list starting with its FROM. */
export function stagesOf(instructions: Instruction[]): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction instanceof From) stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** NAME=value pairs of an ENV or ARG line, through dockerfile-ast's own property accessors. */
export function properties(instruction: Instruction): { name: string; value: string | undefined }[] {
  if (!(instruction instanceof PropertyInstruction)) return [];
  return instruction.getProperties().map((p) => ({ name: p.getName(), value: p.getValue() ?? undefined }));
}

/** Arguments of ARG lines before the first FROM, with defaults overridden by build args. */
export function globalArgs(
  instructions: Instruction[],
  buildArgs: Record<string, string>,
): Map<string, string> {
  const args = new Map<string, string>();
  for (const instruction of instructions) {
    if (instruction instanceof From) break;
    if (instruction.getKeyword() !== "ARG") continue;
    for (const { name, value } of properties(instruction)) {
      const resolved = buildArgs[name] ?? value;
      if (resolved !== undefined) args.set(name, resolved);
    }
  }
  return args;
}

/** `$NAME`, `${NAME}` and `${NAME:-default}` as the builder expands them in FROM. */
export function expand(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g,
    (_m, name: string, fallback?: string) => vars.get(name) ?? fallback ?? "",
  );
}

/** The build args a FROM line's image is made of (`FROM ${BASE_IMAGE}` → BASE_IMAGE). */
export function argsIn(text: string): string[] {
  return [...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
}

/** The source text of each JSON string, decoded as JSON (dockerfile-ast's values drop inner spaces). */
function jsonStrings(instruction: JSONInstruction, lines: string[]): string[] {
  return instruction.getJSONStrings().map((argument) => {
    const { start, end } = argument.getJSONRange();
    const raw =
      start.line === end.line
        ? (lines[start.line] ?? "").slice(start.character, end.character)
        : [
            (lines[start.line] ?? "").slice(start.character),
            ...lines.slice(start.line + 1, end.line),
            (lines[end.line] ?? "").slice(0, end.character),
          ].join("\n");
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return argument.getJSONValue();
    }
  });
}

/**
 * The argv of an exec-form (JSON array) instruction; undefined in shell form. A `[` without a
 * valid closing `]` is shell form to Docker too.
 */
export function execArgv(instruction: Instruction): string[] | undefined {
  if (!(instruction instanceof JSONInstruction)) return undefined;
  if (instruction.getOpeningBracket() === null || instruction.getClosingBracket() === null) return undefined;
  const lines = textLines.get(instruction);
  return lines ? jsonStrings(instruction, lines) : instruction.getJSONStrings().map((a) => a.getJSONValue());
}

/** Starts with `[`: meant as exec form, whether or not the JSON is valid. */
export function looksExecForm(instruction: Instruction): boolean {
  return (instruction.getArgumentsContent() ?? "").trim().startsWith("[");
}

export function flagValue(instruction: Instruction, name: string): string | undefined {
  if (!(instruction instanceof ModifiableInstruction)) return undefined;
  const flag = instruction.getFlags().find((f) => f.getName() === name);
  return flag ? (flag.getValue() ?? "") : undefined;
}

export interface CopyMapping {
  sources: string[];
  destination: string;
  line: number;
  keyword: string;
  fromStage: boolean;
}

/** COPY and ADD lines: sources, destination, and whether they copy from another stage. */
export function copies(instructions: Instruction[]): CopyMapping[] {
  const out: CopyMapping[] = [];
  for (const instruction of instructions) {
    if (!(instruction instanceof Copy || instruction instanceof Add)) continue;
    const args =
      execArgv(instruction) ??
      instruction
        .getArguments()
        .map((a) => a.getValue())
        .filter((a) => !a.startsWith("--"));
    if (args.length < 2) continue;
    out.push({
      sources: args.slice(0, -1),
      destination: args.at(-1) as string,
      line: lineOf(instruction),
      keyword: instruction.getKeyword(),
      fromStage: flagValue(instruction, "from") !== undefined,
    });
  }
  return out;
}

/** The working directory in effect at each instruction of a stage. */
export function workdirAt(stage: Instruction[], index: number): string {
  let workdir = "/";
  for (const instruction of stage.slice(0, index)) {
    if (instruction.getKeyword() === "WORKDIR")
      workdir = path.posix.resolve(workdir, instruction.getArgumentsContent() ?? "/");
  }
  return workdir;
}

/** A path as seen inside the image: relative paths resolve against the WORKDIR. */
export function imagePath(p: string, workdir: string): string {
  return path.posix.isAbsolute(p) ? path.posix.normalize(p) : path.posix.join(workdir, p);
}

/** Context-relative form of a COPY source (`./a/` → `a`, `.` → `.`). */
export function cleanSource(source: string): string {
  return path.posix.normalize(source.replace(/^\.?\/+/, "")).replace(/\/$/, "") || ".";
}

export { From };
