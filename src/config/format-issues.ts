import type { z } from "zod";

/** Every known key of the object schema found by walking `path` into `schema`. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    let node = s as { def?: { type?: string; innerType?: unknown; element?: unknown; valueType?: unknown } };
    while (
      node?.def &&
      ["optional", "default", "prefault", "nullable", "pipe"].includes(node.def.type ?? "")
    ) {
      node = (node.def.innerType ?? (node.def as { in?: unknown }).in) as typeof node;
    }
    return node;
  };
  for (const segment of path) {
    const node = unwrap(current) as {
      def?: { type?: string; element?: unknown; valueType?: unknown };
      shape?: Record<string, unknown>;
    };
    if (node?.def?.type === "array") current = node.def.element;
    else if (node?.def?.type === "record") current = node.def.valueType;
    else if (node?.shape) current = node.shape[String(segment)];
    else return [];
  }
  const node = unwrap(current) as { shape?: Record<string, unknown> };
  return node?.shape ? Object.keys(node.shape) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + cost);
      previous = saved;
    }
  }
  return row[b.length] as number;
}

export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(input, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(input.length / 3)) ? best.name : undefined;
}

const LONGEST_SHOWN = 120;

/**
 * `text` safe to print on a terminal, on one line: control, format (bidi overrides) and line
 * separator characters as \u escapes, and anything past `max` characters cut with a count. A key
 * or value from the config may hold an escape sequence that would otherwise repaint the screen.
 */
export function printable(text: string, max = LONGEST_SHOWN): string {
  const chars = [...text];
  const shown = chars.length > max ? chars.slice(0, max) : chars;
  const escaped = shown
    .map((c) =>
      /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(c)
        ? `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, "0")}`
        : c,
    )
    .join("");
  return chars.length > max ? `${escaped}… (${chars.length} characters)` : escaped;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z0-9_$][A-Za-z0-9_$-]*$/.test(String(segment)))
      out += out === "" ? String(segment) : `.${String(segment)}`;
    else out += `["${printable(String(segment), 60).replace(/"/g, '\\"')}"]`;
  }
  return out === "" ? "(root)" : out;
}

/** Turns zod issues into `path.to.key: message` lines, one per problem, with did-you-mean. */
export function formatIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        const where = formatPath([...issue.path, key]);
        lines.push(
          suggestion
            ? `${where}: unknown key; did you mean "${suggestion}"?`
            : `${where}: unknown key (known here: ${known.join(", ") || "none"})`,
        );
      }
      continue;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
      lines.push(`${formatPath(issue.path)}: required (expected ${issue.expected})`);
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${issue.message}`);
  }
  return lines;
}
