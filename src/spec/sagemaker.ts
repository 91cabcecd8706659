import { UserError } from "../engine/errors.js";

/**
 * What gen3d wants SageMaker to hold, derived from config and from what upstream phases recorded,
 * handed in as values (the spec reads no STATE.json). Names derive from content: the same inputs
 * always give the same name (re-running never duplicates), and any change gives a new name (a
 * model or endpoint config is immutable in SageMaker).
 */
export {
  asyncOutputPaths,
  BAKED_MODEL_DIR,
  containerEnvironment,
  modelContainerPath,
  modelDataPrefix,
  SAGEMAKER_MODEL_DIR,
} from "./container-environment.js";
export {
  type DesiredEndpointConfig,
  deriveStartupTimeout,
  desiredEndpointConfig,
  type EndpointConfigSource,
  inferenceAmiVersion,
  type StartupHealthCheck,
  startupHealthCheckSeconds,
} from "./endpoint-config.js";
export {
  type DesiredModel,
  desiredModel,
  type RecordedImage,
  type UpstreamImage,
  upstreamImage,
} from "./model.js";
export {
  endpointNameFor,
  PROJECT_TAG,
  projectTags,
  scalableResourceId,
  VARIANT_NAME,
} from "./sagemaker-names.js";

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
