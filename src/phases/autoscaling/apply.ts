import { type Autoscaling, createAutoscaling } from "../../adapters/autoscaling.js";
import { type CloudWatch, createCloudWatch } from "../../adapters/cloudwatch.js";
import {
  alarmDifferences,
  policyDifferences,
  type ScalingReality,
  targetDifferences,
} from "../../checks/autoscaling.js";
import { type DesiredScaling, desiredScaling } from "../../spec/autoscaling.js";
import type { PhaseContext } from "../phase.js";

/** The two services phase 8 talks to. */
export interface ScalingServices {
  autoscaling: Autoscaling;
  cloudwatch: CloudWatch;
}

export function scalingServices(ctx: Pick<PhaseContext, "aws" | "signal">): ScalingServices {
  return { autoscaling: createAutoscaling(ctx), cloudwatch: createCloudWatch(ctx) };
}

type Step = "created" | "updated" | "unchanged";
export interface AutoscalingOutcome {
  type: Step;
  target: Step;
  targetTracking: Step;
  stepScaling: Step;
  alarm: Step;
  changes: string[];
}

export async function scalingReality(
  ctx: Pick<PhaseContext, "aws" | "signal">,
  desired: DesiredScaling,
  { autoscaling, cloudwatch }: ScalingServices = scalingServices(ctx),
): Promise<ScalingReality> {
  const resourceId = desired.target.ResourceId;
  const [target, policies, alarm] = await Promise.all([
    autoscaling.describeScalableTarget(resourceId),
    autoscaling.describeScalingPolicies(resourceId),
    cloudwatch.describeAlarm(desired.alarm.AlarmName),
  ]);
  return {
    target,
    targetTracking: policies.find((p) => p.PolicyName === desired.targetTracking.PolicyName),
    stepScaling: policies.find((p) => p.PolicyName === desired.stepScaling.PolicyName),
    alarm,
  };
}

const step = (missing: boolean, differences: string[]): Step =>
  missing ? "created" : differences.length > 0 ? "updated" : "unchanged";

/**
 * Puts the scalable target, both policies and the alarm as the config wants them for this
 * endpoint, changing only what differs. Phase 8's work; phase 7 also calls it to re-attach
 * autoscaling to a fleet that a failed, rolled-back update left without it.
 */
export async function applyAutoscaling(
  ctx: Pick<PhaseContext, "config" | "aws" | "signal" | "progress">,
  endpointName: string,
  services: ScalingServices = scalingServices(ctx),
): Promise<{ outcome: AutoscalingOutcome; artifacts: Record<string, unknown> }> {
  const desired = desiredScaling(ctx.config, endpointName);
  const { autoscaling, cloudwatch } = services;
  const now = await scalingReality(ctx, desired, services);
  const changes: string[] = [];

  const targetDiff = targetDifferences(desired, now.target);
  if (targetDiff.length > 0) {
    changes.push(...targetDiff);
    ctx.progress(
      `registering scalable target ${desired.target.ResourceId} (min ${desired.target.MinCapacity}, max ${desired.target.MaxCapacity})`,
    );
    await autoscaling.registerScalableTarget(desired.target);
  }

  const policyArns: Record<string, string | undefined> = {
    targetTracking: now.targetTracking?.PolicyARN,
    stepScaling: now.stepScaling?.PolicyARN,
  };
  const outcomes: Record<string, Step> = {};
  for (const key of ["targetTracking", "stepScaling"] as const) {
    const wanted = desired[key];
    const diff = policyDifferences(wanted, now[key]);
    outcomes[key] = step(now[key] === undefined, diff);
    if (diff.length === 0) continue;
    changes.push(...diff);
    ctx.progress(`putting scaling policy ${wanted.PolicyName}`);
    policyArns[key] = await autoscaling.putScalingPolicy(wanted);
  }

  const stepArn = policyArns.stepScaling;
  const alarmDiff = alarmDifferences(desired, now.alarm, stepArn);
  if (alarmDiff.length > 0) {
    changes.push(...alarmDiff);
    ctx.progress(`putting alarm ${desired.alarm.AlarmName} → ${desired.stepScaling.PolicyName}`);
    await cloudwatch.putMetricAlarm({ ...desired.alarm, AlarmActions: stepArn ? [stepArn] : [] });
  }

  const parts = {
    target: step(now.target === undefined, targetDiff),
    targetTracking: outcomes.targetTracking ?? "unchanged",
    stepScaling: outcomes.stepScaling ?? "unchanged",
    alarm: step(now.alarm === undefined, alarmDiff),
  };
  const all = Object.values(parts);
  const type: Step = all.every((s) => s === "unchanged")
    ? "unchanged"
    : all.every((s) => s === "created")
      ? "created"
      : "updated";
  const outcome: AutoscalingOutcome = { type, ...parts, changes };
  const artifacts = {
    scalableTargetResourceId: desired.target.ResourceId,
    scalingPolicyArns: [policyArns.targetTracking, policyArns.stepScaling].filter((a): a is string =>
      Boolean(a),
    ),
    alarmNames: [desired.alarm.AlarmName],
  };
  return { outcome, artifacts };
}
