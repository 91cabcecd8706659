import { hasInstanceStorage } from "../catalog/instance-storage.js";
import { isSagemakerRegion, SAGEMAKER_REGIONS } from "../catalog/regions.js";
import { containerEnvironment, endpointNameFor, projectTags } from "../spec/sagemaker.js";
import { credentialProblems } from "./credential-values.js";
import { didYouMean, printable } from "./format-issues.js";
import { environmentMapProblems, resourceNameProblems, tagProblems } from "./sagemaker-limits.js";
import type { Gen3dConfig } from "./schema.js";

/**
 * The config loader's rules that span fields, each a `path: message` line naming the fix. They
 * run at load, before anything else, so a config SageMaker or a phase would refuse fails here
 * with every problem at once, not halfway through a deploy.
 */

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

/** A region SageMaker does not run in would end as a DNS failure at the first AWS call. */
export function regionProblems(region: string): string[] {
  if (isSagemakerRegion(region)) return [];
  const near = didYouMean(region, SAGEMAKER_REGIONS);
  return [
    `aws.region: SageMaker does not run in "${printable(region, 40)}"; ${near ? `did you mean ${near}?` : `set a region where it runs, e.g. ${SAGEMAKER_REGIONS.slice(0, 4).join(", ")}`}`,
  ];
}

/** Phase 6 would be refused by SageMaker (spec/sagemaker.ts keeps the same check as a guard). */
function volumeProblems(config: Gen3dConfig): string[] {
  const { type, volumeSizeGb } = config.instance;
  if (volumeSizeGb === undefined || !hasInstanceStorage(type)) return [];
  return [
    `instance.volumeSizeGb: ${type} has local NVMe storage and SageMaker rejects VolumeSizeInGB for it; remove instance.volumeSizeGb (the instance's own storage is used)`,
  ];
}

/** The container reads one model directory (GEN3D_MODEL_DIR): every enabled model packaged the same way. */
function packagingProblems(config: Gen3dConfig): string[] {
  const enabled = config.models.map((model, index) => ({ model, index })).filter((m) => m.model.enabled);
  const first = enabled[0];
  if (!first) return [];
  return enabled
    .filter(({ model }) => model.packaging !== first.model.packaging)
    .map(
      ({ model, index }) =>
        `models[${index}].packaging: "${model.packaging}", but models[${first.index}] (${first.model.name}) is "${first.model.packaging}": the container reads one model directory (GEN3D_MODEL_DIR); give every enabled model the same packaging`,
    );
}

function modelProblems(config: Gen3dConfig): string[] {
  const problems: string[] = [];
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
  return [...problems, ...packagingProblems(config)];
}

function prefixProblems(config: Gen3dConfig): string[] {
  const problems: string[] = [];
  const prefixes = config.s3.prefixes;
  const names = Object.entries(prefixes);
  for (const [a, pa] of names) {
    for (const [b, pb] of names) {
      if (a < b && pa !== "" && pa === pb)
        problems.push(`s3.prefixes.${b}: same as s3.prefixes.${a} ("${pa}")`);
    }
  }
  if (!config.models.some((m) => m.enabled && m.packaging === "s3")) return problems;
  // SageMaker copies everything under the models prefix to /opt/ml/model.
  if (prefixes.models === "") {
    problems.push(
      's3.prefixes.models: empty with packaging "s3": SageMaker would copy the whole bucket (async outputs included) to /opt/ml/model; set a prefix that holds only the weights, e.g. "gen3d/models"',
    );
    return problems;
  }
  for (const [name, other] of names) {
    if (name !== "models" && other.startsWith(`${prefixes.models}/`))
      problems.push(
        `s3.prefixes.${name}: "${other}" is inside s3.prefixes.models ("${prefixes.models}"), so SageMaker would copy it to /opt/ml/model with the weights; move one of them`,
      );
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
    // Mixed packaging: packagingProblems names that; the limits below still apply to what we can derive.
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

/** Rules that span fields, checked once the schema passed: every problem, each as `path: message`. */
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
  problems.push(...volumeProblems(config));
  problems.push(...concurrencyProblems(config));
  problems.push(...credentialProblems(config));
  problems.push(...modelProblems(config));
  if (config.aws.registry && !config.aws.endpoint) {
    problems.push("aws.registry: only meaningful with aws.endpoint (a local emulator); remove it to use ECR");
  }
  problems.push(...prefixProblems(config));
  problems.push(...sagemakerLimitProblems(config));
  return problems;
}
