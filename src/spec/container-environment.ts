import type { Gen3dConfig } from "../config/schema.js";
import { UserError } from "../engine/errors.js";

/** Where SageMaker puts ModelDataSource content inside the container. */
export const SAGEMAKER_MODEL_DIR = "/opt/ml/model";
export const BAKED_MODEL_DIR = "/opt/gen3d/models";

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
