import path from "node:path";
import { type GateResult, gate } from "../../engine/gate.js";
import { loadIgnoreRules } from "./ignore.js";
import type { CopyMapping, DockerfileInput } from "./parse.js";
import { matchSource } from "./sources.js";

interface Problem {
  source: string;
  line: number;
  why: string;
  /** The .dockerignore rule that leaves the source out. */
  ignoredBy?: { pattern: string; line: number };
}

/** Every COPY/ADD source exists in the build context and is not excluded by .dockerignore: a missing models/ directory otherwise fails the build late or ships an image without weights. */
export async function copySourcesGate(input: DockerfileInput, mappings: CopyMapping[]): Promise<GateResult> {
  const id = "dockerfile.copy-sources";
  const title = "every COPY/ADD source exists in the build context";
  const rules = await loadIgnoreRules(input.contextDir);
  const problems: Problem[] = [];
  for (const mapping of mappings) {
    if (mapping.fromStage) continue;
    for (const source of mapping.sources) {
      if (mapping.keyword === "ADD" && /^(https?|git):\/\//.test(source)) continue;
      const matches = await matchSource(input.contextDir, source);
      if (matches.length === 0) {
        problems.push({ source, line: mapping.line, why: "does not exist" });
        continue;
      }
      const ignored = matches.filter((m) => m !== "." && rules.ignores(m));
      if (ignored.length === matches.length) {
        const cause = rules.cause(ignored[0] as string);
        const why = cause
          ? `is excluded by .dockerignore (line ${cause.line}: \`${cause.pattern}\`)`
          : "is excluded by .dockerignore";
        problems.push({ source, line: mapping.line, why, ...(cause ? { ignoredBy: cause } : {}) });
      }
    }
  }
  const first = problems[0];
  if (first) {
    const context = path.relative(process.cwd(), input.contextDir) || ".";
    const dockerignore = path.join(context, ".dockerignore");
    let hint: string;
    if (first.ignoredBy)
      hint = `The file is there, but ${dockerignore} leaves it out of the build context: remove or narrow \`${first.ignoredBy.pattern}\` (line ${first.ignoredBy.line}), or add \`!${first.source.replace(/^\.?\/+|\/+$/g, "")}\` after it.`;
    else if (/model/i.test(first.source))
      hint = `Put the model weights at ${context}/${first.source} before building (README: Models), or fix the COPY path.`;
    else hint = `Create ${context}/${first.source}, or fix the COPY path.`;
    return gate(
      id,
      title,
      "fail",
      problems.map((p) => `${p.source} (line ${p.line}) ${p.why} in build context ${context}/`).join("; "),
      { hint, location: { file: input.displayFile, line: first.line }, evidence: problems },
    );
  }
  return gate(
    id,
    title,
    "pass",
    `${mappings.reduce((n, m) => n + m.sources.length, 0)} COPY/ADD source(s) found`,
  );
}
