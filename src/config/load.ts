import { readFile } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { UserError } from "../engine/errors.js";
import { formatIssues, formatPath, printable } from "./format-issues.js";
import { findJsonSyntaxError } from "./json-syntax.js";
import { crossFieldProblems, regionProblems } from "./load-rules.js";
import { type ConfigWarning, configWarnings } from "./load-warnings.js";
import { configSchema, type Gen3dConfig } from "./schema.js";

export { CONTAINER_DEFAULT_MAX_CONCURRENCY, crossFieldProblems } from "./load-rules.js";
export type { ConfigWarning } from "./load-warnings.js";

export interface LoadedConfig {
  config: Gen3dConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Directory relative paths in the config resolve against. */
  baseDir: string;
  /** The file's raw text, for fingerprints. */
  raw: string;
  /** Legal but unwise settings: printed once when a command loads the config, and in --json. */
  warnings: ConfigWarning[];
}

/** Deeper than any gen3d config needs (smoke-test payloads included); JSON nested past it is a mistake. */
export const MAX_CONFIG_DEPTH = 32;

/** The path to the first value nested deeper than `limit`, walked without recursion. */
function tooDeep(value: unknown, limit: number): PropertyKey[] | undefined {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: node, path } = stack.pop() as { value: unknown; path: PropertyKey[] };
    if (node === null || typeof node !== "object") continue;
    if (path.length >= limit) return path;
    const entries = Array.isArray(node) ? node.map((v, i) => [i, v] as const) : Object.entries(node);
    for (const [key, child] of entries) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}

const MAX_PROBLEMS_SHOWN = 50;

function invalid(file: string, lines: readonly string[], hint?: string): UserError {
  const shown = lines.slice(0, MAX_PROBLEMS_SHOWN).map((l) => `• ${printable(l, 800)}`);
  if (lines.length > shown.length) shown.push(`• … and ${lines.length - shown.length} more`);
  return new UserError("CONFIG_INVALID", `${file} has ${lines.length} problem(s)`, {
    details: shown,
    ...(hint ? { hint } : {}),
  });
}

/**
 * A config whose only schema problems are unknown keys, without them: the cross-field rules can
 * still judge the rest. Undefined when other problems leave nothing sound to judge.
 */
function withoutUnknownKeys(value: unknown, issues: readonly z.core.$ZodIssue[]) {
  if (!issues.every((i) => i.code === "unrecognized_keys")) return undefined;
  const copy = structuredClone(value) as Record<PropertyKey, unknown>;
  for (const issue of issues) {
    const parent = issue.path.reduce<unknown>(
      (node, key) => (node as Record<PropertyKey, unknown>)?.[key],
      copy,
    );
    for (const key of issue.keys) delete (parent as Record<string, unknown>)[key];
  }
  const again = configSchema.safeParse(copy);
  // A typo inside `instance` leaves that object to its defaults: judge only the objects without one.
  const touched = issues.filter((i) => i.path.length > 0).map((i) => formatPath(i.path));
  return again.success ? { config: again.data, touched } : undefined;
}

/** The region, when the schema found nothing wrong with its shape: whether SageMaker runs there. */
function regionOf(value: unknown, issues: readonly z.core.$ZodIssue[]): string | undefined {
  if (issues.some((i) => formatPath(i.path) === "aws.region")) return undefined;
  const region = (value as { aws?: { region?: unknown } } | null)?.aws?.region;
  return typeof region === "string" ? region : undefined;
}

/**
 * Validates an already-parsed JSON value: the schema, the region and the cross-field rules, all
 * reported at once in one UserError (a mistyped key never hides a bad region or a rule).
 */
export function parseConfig(value: unknown, file: string): Gen3dConfig {
  const deep = tooDeep(value, MAX_CONFIG_DEPTH);
  if (deep) {
    throw invalid(file, [
      `${formatPath(deep.slice(0, 8))}${deep.length > 8 ? "…" : ""}: nested deeper than ${MAX_CONFIG_DEPTH} levels; a gen3d config is a few levels deep — remove the nesting`,
    ]);
  }
  const result = configSchema.safeParse(value);
  const issues = result.success ? [] : result.error.issues;
  const region = regionOf(value, issues);
  const problems = [...formatIssues(configSchema, issues), ...(region ? regionProblems(region) : [])];
  const judged = result.success ? { config: result.data, touched: [] } : withoutUnknownKeys(value, issues);
  if (judged) {
    const inTouched = (line: string) => judged.touched.some((t) => line.startsWith(`${t}.`));
    problems.push(...crossFieldProblems(judged.config).filter((line) => !inTouched(line)));
  }
  if (problems.length > 0 || !result.success) {
    throw invalid(
      file,
      problems,
      issues.length > 0
        ? "Fix the keys above; `schema/gen3d.config.schema.json` gives your editor completion and checks."
        : undefined,
    );
  }
  return result.data;
}

/** JSON text → value, or a UserError that points at the line and column where the syntax breaks. */
export function parseConfigText(raw: string, file: string): unknown {
  try {
    // A byte-order mark (some Windows editors write one) is not part of the JSON.
    return JSON.parse(raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw);
  } catch (error) {
    const at = findJsonSyntaxError(raw);
    if (!at) {
      throw new UserError(
        "CONFIG_INVALID",
        `${file}: not valid JSON: ${printable((error as Error).message)}`,
        {
          hint: "Fix the JSON syntax (a trailing comma or a missing quote is the usual cause).",
        },
      );
    }
    const shown = printable(at.text, 200);
    const caret = at.column - 1;
    throw new UserError(
      "CONFIG_INVALID",
      `${file}:${at.line}:${at.column}: not valid JSON: ${printable(at.reason)}`,
      {
        // The line with a caret under the column, when it prints as it is.
        details: shown === at.text ? [`  ${shown}`, `  ${" ".repeat(caret)}^`] : [],
        hint: "Fix the JSON syntax at that line and column (a trailing comma or a missing quote is the usual cause).",
      },
    );
  }
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  let raw: string;
  try {
    raw = await readFile(absolute, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError("CONFIG_NOT_FOUND", `cannot read config ${absolute} (${code ?? "error"})`, {
      hint: "Run `gen3d init` to write one, or pass --config PATH.",
    });
  }
  const config = parseConfig(parseConfigText(raw, absolute), absolute);
  return { config, file: absolute, baseDir: path.dirname(absolute), raw, warnings: configWarnings(config) };
}
