import { readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../engine/errors.js";
import { containerEnvironment, endpointNameFor, projectTags } from "../spec/sagemaker.js";
import { credentialProblems } from "./credential-values.js";
import { formatIssues, formatPath, printable } from "./format-issues.js";
import { findJsonSyntaxError } from "./json-syntax.js";
import { environmentMapProblems, resourceNameProblems, tagProblems } from "./sagemaker-limits.js";
import { configSchema, type Gen3dConfig } from "./schema.js";

export interface LoadedConfig {
  config: Gen3dConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Directory relative paths in the config resolve against. */
  baseDir: string;
  /** The file's raw text, for fingerprints. */
  raw: string;
}

/** Rules that span fields, checked after the schema passed. */
/** The container admits this many invocations at once unless GEN3D_MAX_CONCURRENCY says otherwise. */
export const CONTAINER_DEFAULT_MAX_CONCURRENCY = 32;

/**
 * SageMaker sends up to MaxConcurrentInvocationsPerInstance requests to an instance at once; the
 * container answers 503 to any beyond its admission limit (GEN3D_MAX_CONCURRENCY, 1–256), so
 * a setting above that limit would fail requests under load.
 */
function concurrencyProblems(config: Gen3dConfig): string[] {
  const raw = config.localTest.environment.GEN3D_MAX_CONCURRENCY;
  let limit = CONTAINER_DEFAULT_MAX_CONCURRENCY;
  if (raw !== undefined) {
    limit = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || limit < 1 || limit > 256) {
      return [`localTest.environment.GEN3D_MAX_CONCURRENCY: "${raw}" is not a whole number from 1 to 256`];
    }
  }
  const wanted = config.async.maxConcurrentInvocationsPerInstance;
  if (wanted > limit) {
    return [
      `async.maxConcurrentInvocationsPerInstance: ${wanted} is above what the container admits at once (${limit}${raw === undefined ? ", its default" : ", localTest.environment.GEN3D_MAX_CONCURRENCY"}); lower it, or raise GEN3D_MAX_CONCURRENCY in localTest.environment (at most 256)`,
    ];
  }
  return [];
}

export function crossFieldProblems(config: Gen3dConfig): string[] {
  const problems: string[] = [];
  const { instance } = config;
  if (instance.minCount > instance.maxCount) {
    problems.push(
      `instance.minCount: ${instance.minCount} is above instance.maxCount (${instance.maxCount})`,
    );
  }
  if (instance.initialCount > instance.maxCount) {
    problems.push(
      `instance.initialCount: ${instance.initialCount} is above instance.maxCount (${instance.maxCount})`,
    );
  }
  problems.push(...concurrencyProblems(config));
  problems.push(...credentialProblems(config));
  const seen = new Set<string>();
  config.models.forEach((model, index) => {
    if (seen.has(model.name)) problems.push(`models[${index}].name: "${model.name}" is listed twice`);
    seen.add(model.name);
  });
  if (!config.models.some((m) => m.enabled)) {
    problems.push("models: every model is disabled; enable at least one");
  } else if (!config.models.some((m) => m.enabled && m.tasks.length > 0)) {
    problems.push(
      "models[].tasks: no enabled model lists a task, so nothing would be smoke-tested; name them (get_embedding, segment, generate_3d)",
    );
  }
  if (config.aws.registry && !config.aws.endpoint) {
    problems.push("aws.registry: only meaningful with aws.endpoint (a local emulator); remove it to use ECR");
  }
  const prefixes = config.s3.prefixes;
  const names = Object.entries(prefixes);
  for (const [a, pa] of names) {
    for (const [b, pb] of names) {
      if (a < b && pa !== "" && pa === pb)
        problems.push(`s3.prefixes.${b}: same as s3.prefixes.${a} ("${pa}")`);
    }
  }
  problems.push(...sagemakerLimitProblems(config));
  if (config.models.some((m) => m.enabled && m.packaging === "s3")) {
    // SageMaker copies everything under the models prefix to /opt/ml/model.
    if (prefixes.models === "") {
      problems.push(
        's3.prefixes.models: empty with packaging "s3": SageMaker would copy the whole bucket (async outputs included) to /opt/ml/model; set a prefix that holds only the weights, e.g. "gen3d/models"',
      );
    } else {
      for (const [name, other] of names) {
        if (name !== "models" && other.startsWith(`${prefixes.models}/`))
          problems.push(
            `s3.prefixes.${name}: "${other}" is inside s3.prefixes.models ("${prefixes.models}"), so SageMaker would copy it to /opt/ml/model with the weights; move one of them`,
          );
      }
    }
  }
  return problems;
}

/**
 * What CreateModel / CreateEndpointConfig / CreateEndpoint would refuse, from the config alone:
 * the whole container Environment (gen3d's GEN3D_* entries plus localTest.environment) and the
 * names and tags derived from project.name.
 */
function sagemakerLimitProblems(config: Gen3dConfig): string[] {
  const problems: string[] = [];
  let environment: Record<string, string> | undefined;
  try {
    environment = containerEnvironment(config);
  } catch {
    // Mixed packaging: phase 5 names that; the limits below still apply to what we can derive.
  }
  if (environment) {
    // Each key and value is the schema's to check; here the whole map as SageMaker receives it.
    problems.push(...environmentMapProblems(environment, "localTest.environment"));
  }
  const project = config.project.name;
  // The longest names gen3d derives: PROJECT-<8 hex>-<8 hex> (model), PROJECT-cfg-<12 hex>, PROJECT-async.
  for (const [kind, name] of [
    ["model", `${project}-00000000-00000000`],
    ["endpoint config", `${project}-cfg-000000000000`],
    ["endpoint", endpointNameFor(config)],
  ] as const) {
    for (const problem of resourceNameProblems(kind, name)) problems.push(`project.name: ${problem}`);
  }
  for (const problem of tagProblems(projectTags(config))) problems.push(`project.name: ${problem}`);
  return problems;
}

/** Validates an already-parsed JSON value; throws one UserError listing every problem. */
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

/** Validates an already-parsed JSON value; throws one UserError listing every problem. */
export function parseConfig(value: unknown, file: string): Gen3dConfig {
  const deep = tooDeep(value, MAX_CONFIG_DEPTH);
  if (deep) {
    throw invalid(file, [
      `${formatPath(deep.slice(0, 8))}${deep.length > 8 ? "…" : ""}: nested deeper than ${MAX_CONFIG_DEPTH} levels; a gen3d config is a few levels deep — remove the nesting`,
    ]);
  }
  const result = configSchema.safeParse(value);
  if (!result.success) {
    throw invalid(
      file,
      formatIssues(configSchema, result.error.issues),
      "Fix the keys above; `schema/gen3d.config.schema.json` gives your editor completion and checks.",
    );
  }
  const problems = crossFieldProblems(result.data);
  if (problems.length > 0) throw invalid(file, problems);
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
  const value = parseConfigText(raw, absolute);
  return { config: parseConfig(value, absolute), file: absolute, baseDir: path.dirname(absolute), raw };
}
