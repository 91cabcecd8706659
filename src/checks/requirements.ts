import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../engine/gate.js";
import { isLocation, isPinned, pipInstalls, readPipArgs } from "./dockerfile/pins.js";
import { contextFileFor } from "./dockerfile/sources.js";
import { copyInstructions, type DockerfileInput } from "./dockerfile.js";

/** A requirements file's logical lines (backslash continuations joined), comments removed. */
export function requirementLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const stripped = raw.replace(/(^|\s)#.*$/, "");
    const continued = /\\$/.test(stripped);
    const piece = stripped.replace(/\\$/, "");
    pending = pending ? { ...pending, text: `${pending.text} ${piece}` } : { line: index + 1, text: piece };
    if (!continued) {
      if (pending.text.trim()) out.push({ line: pending.line, text: pending.text.trim() });
      pending = undefined;
    }
  });
  if (pending?.text.trim()) out.push({ line: pending.line, text: pending.text.trim() });
  return out;
}

/** Requirement lines without one exact `==` version (`==3.*` is a range); options, includes and paths are not requirements. */
export function unpinned(text: string): string[] {
  return requirementLines(text)
    .map((l) => l.text)
    .filter((line) => !line.startsWith("-"))
    .map((line) => line.split(/\s+--/)[0]?.trim() ?? line)
    .filter((line) => {
      const spec = (line.split(";")[0] ?? "").trim();
      return !isLocation(spec) && !isPinned(spec);
    });
}

/** The files a requirements file includes with -r / --requirement (relative to it). */
export function includes(text: string): { file: string; line: number }[] {
  return requirementLines(text).flatMap((l) => {
    const words = l.text.split(/\s+/);
    return readPipArgs(words)
      .requirementFiles.filter((f): f is string => f !== undefined)
      .map((file) => ({ file, line: l.line }));
  });
}

const relativeIn = (contextDir: string, file: string) =>
  path.relative(contextDir, file).split(path.sep).join("/");

/**
 * Every Python requirement the image installs pins an exact version (a
 * missing or drifting package broke the image between two builds of the "same" code): requirements
 * files the Dockerfile copies or installs with -r (and the files they include), and the packages
 * named on `RUN pip install` lines.
 */
export async function requirementsGate(
  input: DockerfileInput,
  instructions: Instruction[],
): Promise<GateResult> {
  const id = "dockerfile.requirements-pinned";
  const title = "Python requirements pinned";
  const mappings = copyInstructions(instructions).filter((m) => !m.fromStage);
  const problems: string[] = [];
  let firstLine: number | undefined;
  const queue: { file: string; includedBy?: string }[] = mappings
    .flatMap((m) => m.sources)
    .filter((source) => /requirements[^/]*\.txt$/.test(source))
    .map((source) => ({ file: path.join(input.contextDir, source) }));
  for (const install of await pipInstalls(instructions, input.buildArgs)) {
    for (const spec of install.unpinned)
      problems.push(`${input.displayFile}:${install.line} pip install ${spec}`);
    if (install.unpinned.length > 0) firstLine ??= install.line;
    for (const requirement of install.requirementFiles) {
      if (requirement.path === undefined) continue; // -r "${f}": a variable this check cannot follow
      const file = await contextFileFor(requirement.path, mappings, input.contextDir, requirement.workdir);
      if (file) queue.push({ file });
    }
  }
  const seen = new Set<string>();
  const checked: string[] = [];
  while (queue.length > 0) {
    const { file, includedBy } = queue.shift() as { file: string; includedBy?: string };
    if (seen.has(file)) continue;
    seen.add(file);
    const shown = relativeIn(input.contextDir, file);
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) {
      // A COPY of a missing file is the copy-sources gate's to report; a missing include is ours.
      if (includedBy) problems.push(`${shown} (included by ${includedBy}) is not in the build context`);
      continue;
    }
    checked.push(shown);
    for (const line of unpinned(text)) problems.push(`${shown}: ${line}`);
    for (const include of includes(text))
      queue.push({
        file: path.join(path.dirname(file), include.file),
        includedBy: `${shown} line ${include.line}`,
      });
  }
  if (problems.length > 0) {
    return gate(
      id,
      title,
      "fail",
      `${problems.length} requirement(s) without an exact version: ${problems.slice(0, 5).join("; ")}`,
      {
        hint: "Pin each one with == and a full version (e.g. `flask==3.1.3`, not `flask` or `flask==3.*`), so the image you test is the image you rebuild.",
        details: problems.slice(5, 20),
        location: firstLine ? { file: input.displayFile, line: firstLine } : { file: input.displayFile },
        evidence: { checked, problems },
      },
    );
  }
  return gate(
    id,
    title,
    "pass",
    checked.length > 0 ? `${checked.join(", ")}: every requirement pinned` : "no requirements file copied",
    { evidence: { checked } },
  );
}
