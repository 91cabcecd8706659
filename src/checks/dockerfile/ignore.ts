import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import balena from "@balena/dockerignore";

/** .dockerignore as Docker's own tooling reads it (@balena/dockerignore, a port of moby's matcher). */
export interface IgnoreRules {
  /** Whether the context-relative path is left out of the build context. */
  ignores(relative: string): boolean;
  /** The `.dockerignore` line that leaves the path out (the last rule that matches it), if any. */
  cause(relative: string): { pattern: string; line: number } | undefined;
  /** Whether a `!pattern` could bring back something under this ignored directory. */
  mayReinclude(relativeDir: string): boolean;
}

const newMatcher = (patterns: string[]) => balena.default({ ignorecase: false }).add(patterns);

export function ignoreRules(text: string): IgnoreRules {
  const rules = text
    .split(/\r?\n/)
    .map((raw, index) => ({ raw: raw.trim(), line: index + 1 }))
    .filter((r) => r.raw !== "" && !r.raw.startsWith("#"))
    .map((r) => {
      const negated = r.raw.startsWith("!");
      const pattern = negated ? r.raw.slice(1).trim() : r.raw;
      return { ...r, negated, matcher: newMatcher([pattern]), pattern };
    });
  const all = newMatcher(rules.map((r) => r.raw));
  const exceptions = rules.filter((r) => r.negated).map((r) => r.pattern.replace(/^\/+/, ""));
  return {
    ignores: (relative) => all.ignores(relative),
    cause(relative) {
      if (!all.ignores(relative)) return undefined;
      const last = rules.filter((r) => r.matcher.ignores(relative)).at(-1);
      return last && !last.negated ? { pattern: last.raw, line: last.line } : undefined;
    },
    mayReinclude: (dir) => exceptions.some((p) => p.startsWith(`${dir}/`) || /[*?[]/.test(p)),
  };
}

export async function loadIgnoreRules(contextDir: string): Promise<IgnoreRules> {
  const text = await readFile(path.join(contextDir, ".dockerignore"), "utf8").catch(() => "");
  return ignoreRules(text);
}

/**
 * A predicate for walking the build context: true for what Docker leaves out. An ignored
 * directory is still walked when an exception could bring back something inside it.
 */
export async function dockerignore(contextDir: string): Promise<(relative: string) => boolean> {
  const rules = await loadIgnoreRules(contextDir);
  return (relative) => {
    if (!rules.ignores(relative)) return false;
    let isDirectory = false;
    try {
      isDirectory = statSync(path.join(contextDir, relative)).isDirectory();
    } catch {}
    return !(isDirectory && rules.mayReinclude(relative));
  };
}
