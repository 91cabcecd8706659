import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../engine/phase.js";
import { copyInstructions, type DockerfileInput } from "./dockerfile.js";

/** Requirement lines without an exact `==` pin; options, includes and comments are not requirements. */
export function unpinned(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/\s+#.*$|^#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("-"))
    .filter((line) => !/===?\s*[A-Za-z0-9]/.test(line.split(";")[0] ?? ""));
}

/**
 * Every requirements file the Dockerfile copies pins exact versions (seed issues #12, #25: a
 * missing or drifting package broke the image between two builds of the "same" code).
 */
export async function requirementsGate(
  input: DockerfileInput,
  instructions: Instruction[],
): Promise<GateResult> {
  const id = "dockerfile.requirements-pinned";
  const title = "Python requirements pinned";
  const files = copyInstructions(instructions)
    .filter((m) => !m.fromStage)
    .flatMap((m) => m.sources)
    .filter((source) => /requirements[^/]*\.txt$/.test(source));
  const problems: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(input.contextDir, file), "utf8").catch(() => undefined);
    if (text === undefined) continue; // the copy-sources gate reports a missing file
    for (const line of unpinned(text)) problems.push(`${file}: ${line}`);
  }
  if (problems.length > 0) {
    return gate(
      id,
      title,
      "fail",
      `${problems.length} requirement(s) without an exact version: ${problems.slice(0, 5).join("; ")}`,
      {
        hint: "Pin each one with == (e.g. `flask==3.1.3`), so the image you test is the image you rebuild.",
        details: problems.slice(5, 20),
        location: { file: input.displayFile },
      },
    );
  }
  return gate(
    id,
    title,
    "pass",
    files.length > 0 ? `${files.join(", ")}: every requirement pinned` : "no requirements file copied",
  );
}
