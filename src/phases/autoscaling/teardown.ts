import type { Gen3dConfig } from "../../config/schema.js";
import type { Artifacts } from "../../engine/state.js";
import { desiredScaling } from "../../spec/autoscaling.js";
import { endpointNameFor, scalableResourceId } from "../../spec/sagemaker.js";
import type { Removal } from "../phase.js";
import type { ScalingServices } from "./apply.js";

/** What phase 8 may have left on the endpoint's variant. */
export interface ScalingRemains {
  resourceId: string;
  /** Every alarm STATE.json records, and the one the config names (a half-made run records none). */
  alarms: string[];
}

/** From STATE.json's artifacts, not from `needs`: a half-made deployment must still be removable. */
export function scalingRemains(config: Gen3dConfig, artifacts: Artifacts): ScalingRemains {
  const endpointName = artifacts.endpointName ?? endpointNameFor(config);
  const named = [...(artifacts.alarmNames ?? []), desiredScaling(config, endpointName).alarm.AlarmName];
  return {
    resourceId: scalableResourceId(endpointName),
    alarms: [...new Set(named.filter((n) => n !== ""))].sort(),
  };
}

/**
 * Removes the alarm(s) first (they would fire the step policy), then every scaling policy on the
 * variant, whoever made it, then the scalable target. What is already gone is said so.
 */
export async function removeScaling(
  remains: ScalingRemains,
  { autoscaling, cloudwatch }: ScalingServices,
): Promise<Removal[]> {
  const removed: Removal[] = [];
  for (const alarm of remains.alarms) {
    const result = (await cloudwatch.describeAlarm(alarm))
      ? await cloudwatch.deleteAlarm(alarm)
      : "already-gone";
    removed.push({ kind: "alarm", name: alarm, result });
  }
  for (const policy of await autoscaling.describeScalingPolicies(remains.resourceId)) {
    const result = await autoscaling.deleteScalingPolicy(remains.resourceId, policy.PolicyName);
    removed.push({ kind: "scaling-policy", name: policy.PolicyName, result });
  }
  const result = (await autoscaling.describeScalableTarget(remains.resourceId))
    ? await autoscaling.deregisterScalableTarget(remains.resourceId)
    : "already-gone";
  removed.push({ kind: "scalable-target", name: remains.resourceId, result });
  return removed;
}

/** What of phase 8 AWS still lists (for destroy's proof that the teardown is complete). */
export async function scalingLeftovers(
  remains: ScalingRemains,
  { autoscaling, cloudwatch }: ScalingServices,
): Promise<string[]> {
  const out: string[] = [];
  if (await autoscaling.describeScalableTarget(remains.resourceId))
    out.push(`scalable-target ${remains.resourceId}`);
  for (const p of await autoscaling.describeScalingPolicies(remains.resourceId))
    out.push(`scaling-policy ${p.PolicyName}`);
  for (const alarm of remains.alarms) if (await cloudwatch.describeAlarm(alarm)) out.push(`alarm ${alarm}`);
  return out;
}
