import type { Gen3dConfig } from "../config/schema.js";
import { UserError } from "../engine/errors.js";

export const VARIANT_NAME = "AllTraffic";
export const PROJECT_TAG = "gen3d:project";

export function endpointNameFor(config: Gen3dConfig): string {
  return `${config.project.name}-async`;
}

export function scalableResourceId(endpointName: string): string {
  return `endpoint/${endpointName}/variant/${VARIANT_NAME}`;
}

export function projectTags(config: Gen3dConfig) {
  return [{ Key: PROJECT_TAG, Value: config.project.name }];
}

/**
 * Defence in depth for what the config loader already checked: a request SageMaker would refuse
 * fails here, naming the field, instead of as a ValidationException after the build and push.
 */
export function assertWithinLimits(problems: string[]): void {
  if (problems.length === 0) return;
  throw new UserError("SAGEMAKER_LIMITS", `the request would exceed ${problems.length} SageMaker limit(s)`, {
    details: problems.map((p) => `• ${p}`),
    hint: "Shorten project.name or fix localTest.environment as listed, then re-run.",
  });
}
