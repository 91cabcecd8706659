import type {
  CreateEndpointConfigInput,
  CreateModelInput,
  ProductionVariant,
} from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { driverPlan, type ImageCuda, noFitHint, parseCuda } from "../catalog/gpu-driver.js";
import { environmentProblems, resourceNameProblems, tagProblems } from "../config/sagemaker-limits.js";
import type { Gen3dConfig } from "../config/schema.js";
import { UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import type { StateStore } from "../engine/state.js";
import { localTestRecord } from "./local-test.js";

/** What desired state derives from: the config and what earlier phases recorded. */
type SpecSource = { state: Pick<StateStore, "state" | "phase">; config: Gen3dConfig };

/**
 * What gen3d wants SageMaker to hold, derived from config and upstream phases only. Names derive
 * from content: the same inputs always give the same name (re-running never duplicates), and any
 * change gives a new name (a model or endpoint config is immutable in SageMaker).
 */

export const VARIANT_NAME = "AllTraffic";
export const PROJECT_TAG = "gen3d:project";
/** Where SageMaker puts ModelDataSource content inside the container. */
export const SAGEMAKER_MODEL_DIR = "/opt/ml/model";
export const BAKED_MODEL_DIR = "/opt/gen3d/models";

/** Instance families with local NVMe storage: SageMaker rejects VolumeSizeInGB for them. */
const INSTANCE_STORE_FAMILIES =
  /^ml\.(g4dn|g5|g6|g6e|p3dn|p4d|p4de|p5|p5e|p5en|m5d|c5d|r5d|m6id|c6id|r6id)\./;

const imageUriSchema = z
  .string()
  .regex(/^[^@\s]+@sha256:[a-f0-9]{64}$/, "must be REPOSITORY@sha256:<64 hex>");
const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export function endpointNameFor(config: Gen3dConfig): string {
  return `${config.project.name}-async`;
}

export function scalableResourceId(endpointName: string): string {
  return `endpoint/${endpointName}/variant/${VARIANT_NAME}`;
}

export function projectTags(config: Gen3dConfig) {
  return [{ Key: PROJECT_TAG, Value: config.project.name }];
}

export interface UpstreamImage {
  imageUri: string;
  imageDigest: string;
}

/** Phase 4's pushed image, pinned by digest. Fails naming phase 4 when it is missing or malformed. */
export function upstreamImage(ctx: Pick<SpecSource, "state">): UpstreamImage {
  const { imageUri, imageDigest } = ctx.state.state.artifacts;
  const uri = imageUriSchema.safeParse(imageUri);
  if (!uri.success) {
    throw new UserError(
      "UPSTREAM_MISSING",
      imageUri === undefined
        ? "STATE.json has no artifacts.imageUri: phase 4 (push) has not recorded the pushed image"
        : `artifacts.imageUri ${JSON.stringify(imageUri)} is not pinned by digest (REPOSITORY@sha256:…)`,
      { hint: "Run phase 4 first: `gen3d deploy --from 4` (or `gen3d resume`)." },
    );
  }
  const digest = uri.data.slice(uri.data.indexOf("@") + 1);
  if (imageDigest !== undefined && (!digestSchema.safeParse(imageDigest).success || imageDigest !== digest)) {
    throw new UserError(
      "UPSTREAM_INCONSISTENT",
      `artifacts.imageDigest (${String(imageDigest)}) does not match the digest in artifacts.imageUri (${digest})`,
      { hint: "STATE.json was edited or phase 4 was interrupted: re-run phase 4 (`gen3d deploy --from 4`)." },
    );
  }
  return { imageUri: uri.data, imageDigest: digest };
}

/** Phase 3's measured seconds to the first healthy /ping (`artifacts.localTest`), or undefined. */
export function measuredStartupSeconds(ctx: Pick<SpecSource, "state">): number | undefined {
  const recorded = localTestRecord.safeParse(ctx.state.state.artifacts.localTest);
  return recorded.success ? recorded.data.secondsToHealthy : undefined;
}

/**
 * ContainerStartupHealthCheckTimeoutInSeconds. A configured value wins. Otherwise the local
 * measurement, doubled plus 3 minutes (on SageMaker the image layers and weights come from cold
 * storage, not the build machine's page cache), rounded up to whole minutes so that measurement
 * noise does not make a new endpoint config on every run, clamped to SageMaker's 60–3600.
 */
export function startupHealthCheckSeconds(ctx: SpecSource): {
  seconds: number;
  source: "config" | "measured";
  measured?: number;
} {
  const configured = ctx.config.timeouts.containerStartupHealthCheckSeconds;
  if (configured !== undefined) return { seconds: configured, source: "config" };
  const measured = measuredStartupSeconds(ctx);
  if (measured === undefined) {
    throw new UserError(
      "UPSTREAM_MISSING",
      "phase 3 (local test) has not recorded a measured startup time (artifacts.localTest.secondsToHealthy)",
      {
        hint: "Run phase 3 first (`gen3d deploy --from 3`), or set timeouts.containerStartupHealthCheckSeconds in the config.",
      },
    );
  }
  return { seconds: deriveStartupTimeout(measured), source: "measured", measured };
}

export function deriveStartupTimeout(measuredSeconds: number): number {
  const withMargin = Math.ceil((measuredSeconds * 2 + 180) / 60) * 60;
  return Math.min(3600, Math.max(60, withMargin));
}

function s3Join(bucket: string, prefix: string): string {
  return prefix === "" ? `s3://${bucket}/` : `s3://${bucket}/${prefix}/`;
}

function bucketOf(uri: string): string {
  return uri.slice("s3://".length).split("/")[0] ?? "";
}

export function asyncOutputPaths(config: Gen3dConfig): { output: string; failure: string } {
  const { bucket, prefixes } = config.s3;
  return {
    output: config.async.outputPath ?? s3Join(bucket, prefixes.output).replace(/\/$/, ""),
    failure: config.async.failurePath ?? s3Join(bucket, prefixes.failure).replace(/\/$/, ""),
  };
}

/** Where S3-packaged weights live; SageMaker copies this prefix to /opt/ml/model. */
export function modelDataPrefix(config: Gen3dConfig): string {
  return s3Join(config.s3.bucket, config.s3.prefixes.models);
}

/** Where an enabled model's files are inside the container: S3 model data lands under /opt/ml/model. */
export function modelContainerPath(model: Gen3dConfig["models"][number]): string {
  return model.packaging === "s3"
    ? `${SAGEMAKER_MODEL_DIR}/${model.name}`
    : (model.containerPath ?? `${BAKED_MODEL_DIR}/${model.name}`);
}

/**
 * The directory of each model the container loads, by the role its tasks give it: the container
 * reads GEN3D_SAM3_DIR (get_embedding, segment) and GEN3D_SAM3D_DIR (generate_3d), so a model's
 * name and `containerPath` are what the server opens, not a name it assumes.
 */
function modelDirectories(enabled: Gen3dConfig["models"]): Record<string, string> {
  const directories: Record<string, string> = {};
  for (const model of enabled) {
    if (model.tasks.some((t) => t === "get_embedding" || t === "segment"))
      directories.GEN3D_SAM3_DIR ??= modelContainerPath(model);
    if (model.tasks.includes("generate_3d")) directories.GEN3D_SAM3D_DIR ??= modelContainerPath(model);
  }
  return directories;
}

/**
 * The model's environment on SageMaker, and the local test's: gen3d's GEN3D_* settings, then
 * `localTest.environment` (which may override them). Nothing here is specific to the local run.
 */
export function containerEnvironment(config: Gen3dConfig): Record<string, string> {
  const enabled = config.models.filter((m) => m.enabled);
  const packagings = new Set(enabled.map((m) => m.packaging));
  if (packagings.size > 1) {
    throw new UserError(
      "CONFIG_MIXED_PACKAGING",
      `models mix packaging "image" and "s3" (${enabled.map((m) => `${m.name}: ${m.packaging}`).join(", ")})`,
      {
        hint: 'The container reads one model directory (GEN3D_MODEL_DIR): give every enabled model the same "packaging".',
      },
    );
  }
  const paths = asyncOutputPaths(config);
  const buckets = [...new Set([config.s3.bucket, bucketOf(paths.output), bucketOf(paths.failure)])].sort();
  const prefix = (p: string) => (p === "" ? "" : `${p}/`);
  return {
    GEN3D_MODEL_DIR: packagings.has("s3") ? SAGEMAKER_MODEL_DIR : BAKED_MODEL_DIR,
    ...modelDirectories(enabled),
    GEN3D_ALLOWED_BUCKETS: buckets.join(","),
    GEN3D_INPUT_PREFIX: prefix(config.s3.prefixes.input),
    GEN3D_OUTPUT_PREFIX: prefix(config.s3.prefixes.output),
    GEN3D_EMBEDDINGS_PREFIX: prefix(config.s3.prefixes.embeddings),
    GEN3D_LOG_LEVEL: "INFO",
    GEN3D_ENABLE_3D: enabled.some((m) => m.tasks.includes("generate_3d")) ? "true" : "false",
    ...config.localTest.environment,
  };
}

/**
 * Defence in depth for what the config loader already checked: a request SageMaker would refuse
 * fails here, naming the field, instead of as a ValidationException after the build and push.
 */
function assertWithinLimits(problems: string[]): void {
  if (problems.length === 0) return;
  throw new UserError("SAGEMAKER_LIMITS", `the request would exceed ${problems.length} SageMaker limit(s)`, {
    details: problems.map((p) => `• ${p}`),
    hint: "Shorten project.name or fix localTest.environment as listed, then re-run.",
  });
}

export interface DesiredModel {
  name: string;
  input: CreateModelInput & { ModelName: string };
  settingsHash: string;
}

export function desiredModel(ctx: SpecSource): DesiredModel {
  const { config } = ctx;
  const image = upstreamImage(ctx);
  const environment = containerEnvironment(config);
  const usesS3 = environment.GEN3D_MODEL_DIR === SAGEMAKER_MODEL_DIR;
  const primaryContainer = {
    Image: image.imageUri,
    Mode: "SingleModel" as const,
    Environment: environment,
    ...(usesS3
      ? {
          ModelDataSource: {
            S3DataSource: {
              S3Uri: modelDataPrefix(config),
              S3DataType: "S3Prefix" as const,
              CompressionType: "None" as const,
            },
          },
        }
      : {}),
  };
  const settingsHash = hashValue({ primaryContainer, role: config.executionRoleArn }, 8);
  const digestHex = image.imageDigest.slice("sha256:".length, "sha256:".length + 8);
  const name = `${config.project.name}-${digestHex}-${settingsHash}`;
  assertWithinLimits([
    ...environmentProblems(environment, "localTest.environment"),
    ...resourceNameProblems("model", name),
    ...tagProblems(projectTags(config)),
  ]);
  return {
    name,
    settingsHash,
    input: {
      ModelName: name,
      ExecutionRoleArn: config.executionRoleArn,
      PrimaryContainer: primaryContainer,
      Tags: projectTags(config),
    },
  };
}

/**
 * The InferenceAmiVersion the variant needs, from the CUDA version phase 2 read from the built
 * image: none when the family's default driver runs it (or the CUDA version is unknown), the
 * lowest-driver AMI that runs it and allows the family otherwise. No such AMI is a config error.
 */
export function inferenceAmiVersion(ctx: SpecSource): string | undefined {
  const recorded = ctx.state.state.artifacts.imageCuda as ImageCuda | null | undefined;
  const cuda = recorded ? parseCuda(recorded.version) : undefined;
  if (!recorded || !cuda) return undefined;
  const plan = driverPlan(ctx.config.instance.type, cuda);
  if (plan.type === "ami") return plan.ami.version;
  if (plan.type === "no-fit") {
    throw new UserError(
      "GPU_DRIVER_MISMATCH",
      `instance.type ${ctx.config.instance.type}: no driver SageMaker offers for ${plan.family} runs the image's CUDA ${recorded.version} (${recorded.source})`,
      { hint: noFitHint(plan, recorded.version) },
    );
  }
  return undefined;
}

export interface DesiredEndpointConfig {
  name: string;
  input: CreateEndpointConfigInput & { EndpointConfigName: string };
  startup: ReturnType<typeof startupHealthCheckSeconds>;
  settingsHash: string;
}

export function desiredEndpointConfig(ctx: SpecSource, modelName: string): DesiredEndpointConfig {
  const { config } = ctx;
  const startup = startupHealthCheckSeconds(ctx);
  const ami = inferenceAmiVersion(ctx);
  const volume = config.instance.volumeSizeGb;
  if (volume !== undefined && INSTANCE_STORE_FAMILIES.test(config.instance.type)) {
    throw new UserError(
      "CONFIG_VOLUME_UNSUPPORTED",
      `instance.volumeSizeGb is set, but ${config.instance.type} has local NVMe storage and SageMaker rejects VolumeSizeInGB for it`,
      { hint: "Remove instance.volumeSizeGb: the instance's own storage is used." },
    );
  }
  const variant: ProductionVariant = {
    VariantName: VARIANT_NAME,
    ModelName: modelName,
    InstanceType: config.instance.type as ProductionVariant["InstanceType"],
    InitialInstanceCount: config.instance.initialCount,
    ContainerStartupHealthCheckTimeoutInSeconds: startup.seconds,
    ModelDataDownloadTimeoutInSeconds: config.timeouts.modelDataDownloadSeconds,
    ...(volume === undefined ? {} : { VolumeSizeInGB: volume }),
    ...(ami === undefined ? {} : { InferenceAmiVersion: ami as ProductionVariant["InferenceAmiVersion"] }),
  };
  const paths = asyncOutputPaths(config);
  const notification =
    config.async.successTopicArn || config.async.errorTopicArn
      ? {
          NotificationConfig: {
            ...(config.async.successTopicArn ? { SuccessTopic: config.async.successTopicArn } : {}),
            ...(config.async.errorTopicArn ? { ErrorTopic: config.async.errorTopicArn } : {}),
          },
        }
      : {};
  const asyncConfig = {
    OutputConfig: { S3OutputPath: paths.output, S3FailurePath: paths.failure, ...notification },
    ClientConfig: { MaxConcurrentInvocationsPerInstance: config.async.maxConcurrentInvocationsPerInstance },
  };
  const settingsHash = hashValue({ variant, asyncConfig }, 12);
  const name = `${config.project.name}-cfg-${settingsHash}`;
  assertWithinLimits(resourceNameProblems("endpoint config", name));
  return {
    name,
    startup,
    settingsHash,
    input: {
      EndpointConfigName: name,
      ProductionVariants: [variant],
      AsyncInferenceConfig: asyncConfig,
      Tags: projectTags(config),
    },
  };
}

/**
 * A phase's inputs before its upstream phase has run: the plan may hash every phase up front, so
 * a missing upstream output becomes a marker (which changes once the upstream runs), not an error.
 */
export async function inputsOrPending(compute: () => unknown): Promise<unknown> {
  try {
    return compute();
  } catch (error) {
    if (error instanceof UserError && error.code === "UPSTREAM_MISSING")
      return { upstreamPending: error.message };
    throw error;
  }
}
