import { createAutoscaling } from "../../adapters/autoscaling.js";
import type { DescribedEndpoint, SageMakerApi } from "../../adapters/sagemaker.js";
import { describeEndpointConfigSchema } from "../../checks/endpoint-config.js";
import { scalableResourceId, VARIANT_NAME } from "../../spec/sagemaker.js";
import { applyAutoscaling } from "../autoscaling/apply.js";
import type { PhaseContext } from "../phase.js";

function variantInstanceType(raw: unknown): string | undefined {
  const parsed = describeEndpointConfigSchema.safeParse(raw);
  return parsed.success
    ? parsed.data.ProductionVariants.find((v) => v.VariantName === VARIANT_NAME)?.InstanceType
    : undefined;
}

/**
 * UpdateEndpoint fails when it changes the instance type of a variant that is an autoscaling
 * target (AWS docs: "Update endpoints that use auto scaling"). Delete the variant's scaling
 * policies and deregister it first; phase 8, which re-runs after phase 7, attaches them again.
 * A change of model only is allowed with autoscaling in place, so then nothing is detached.
 */
export async function detachAutoscalingForTypeChange(
  ctx: PhaseContext,
  sagemaker: Pick<SageMakerApi, "describeEndpointConfig">,
  endpoint: DescribedEndpoint,
  configName: string,
): Promise<string[]> {
  if (!endpoint.EndpointConfigName) return [];
  const [before, after] = await Promise.all([
    sagemaker.describeEndpointConfig(endpoint.EndpointConfigName),
    sagemaker.describeEndpointConfig(configName),
  ]);
  const oldType = variantInstanceType(before);
  const newType = variantInstanceType(after);
  if (oldType === undefined || oldType === newType) return [];
  const autoscaling = createAutoscaling(ctx);
  const resourceId = scalableResourceId(endpoint.EndpointName);
  if (!(await autoscaling.describeScalableTarget(resourceId))) return [];
  ctx.progress(
    `instance type ${oldType} → ${newType}: detaching autoscaling for the update (phase 8 re-attaches it)`,
  );
  const detached: string[] = [];
  for (const policy of await autoscaling.describeScalingPolicies(resourceId)) {
    await autoscaling.deleteScalingPolicy(resourceId, policy.PolicyName);
    detached.push(`policy ${policy.PolicyName}`);
  }
  await autoscaling.deregisterScalableTarget(resourceId);
  detached.push(`scalable target ${resourceId}`);
  return detached;
}

/**
 * A rolled-back update left the old fleet running without the autoscaling detached for it: put
 * it back at once, so the GPU instances still scale to zero. Never leaves that silent.
 */
export async function reattach(
  ctx: PhaseContext,
  endpointName: string,
  after: DescribedEndpoint,
  detached: string[],
): Promise<string[]> {
  const running = after.ProductionVariants?.[0]?.CurrentInstanceCount ?? "?";
  ctx.progress(`update rolled back: re-attaching autoscaling to ${endpointName} (${detached.join(", ")})`);
  try {
    await applyAutoscaling(ctx, endpointName);
    return [
      `autoscaling, detached for the instance-type change, was re-attached to the previous fleet (${running} instance(s) now): it still scales to zero`,
    ];
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return [
      `autoscaling was detached for the instance-type change (${detached.join(", ")}) and re-attaching it failed (${why}): the endpoint now runs unscaled at ${running} instance(s) and will not scale to zero — fix the cause and \`gen3d resume\` (phase 8 attaches it), or \`gen3d destroy\``,
    ];
  }
}
