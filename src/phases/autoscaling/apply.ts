import {
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import {
  describeAlarm,
  describeScalableTarget,
  describeScalingPolicies,
} from "../../adapters/autoscaling.js";
import { awsFailure } from "../../adapters/aws-errors.js";
import {
  alarmDifferences,
  policyDifferences,
  type ScalingReality,
  targetDifferences,
} from "../../checks/autoscaling.js";
import { type DesiredScaling, desiredScaling } from "../../spec/autoscaling.js";
import type { PhaseContext } from "../phase.js";

type Step = "created" | "updated" | "unchanged";
export interface AutoscalingOutcome {
  type: Step;
  target: Step;
  targetTracking: Step;
  stepScaling: Step;
  alarm: Step;
  changes: string[];
}

export async function scalingReality(ctx: PhaseContext, desired: DesiredScaling): Promise<ScalingReality> {
  const autoscaling = await ctx.aws.autoscaling();
  const cloudwatch = await ctx.aws.cloudwatch();
  const resourceId = desired.target.ResourceId;
  const [target, policies, alarm] = await Promise.all([
    describeScalableTarget(autoscaling, resourceId, ctx.signal),
    describeScalingPolicies(autoscaling, resourceId, ctx.signal),
    describeAlarm(cloudwatch, desired.alarm.AlarmName, ctx.signal),
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
  ctx: PhaseContext,
  endpointName: string,
): Promise<{ outcome: AutoscalingOutcome; artifacts: Record<string, unknown> }> {
  const desired = desiredScaling(ctx.config, endpointName);
  const autoscaling = await ctx.aws.autoscaling();
  const cloudwatch = await ctx.aws.cloudwatch();
  const now = await scalingReality(ctx, desired);
  const changes: string[] = [];

  const targetDiff = targetDifferences(desired, now.target);
  if (targetDiff.length > 0) {
    changes.push(...targetDiff);
    ctx.progress(
      `registering scalable target ${desired.target.ResourceId} (min ${desired.target.MinCapacity}, max ${desired.target.MaxCapacity})`,
    );
    try {
      await autoscaling.send(new RegisterScalableTargetCommand(desired.target), {
        abortSignal: ctx.signal,
      });
    } catch (error) {
      throw awsFailure(
        error,
        "RegisterScalableTarget",
        "application-autoscaling:RegisterScalableTarget (and iam:CreateServiceLinkedRole for the first registration)",
      );
    }
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
    try {
      const out = await autoscaling.send(new PutScalingPolicyCommand(wanted), { abortSignal: ctx.signal });
      policyArns[key] = out.PolicyARN;
    } catch (error) {
      throw awsFailure(
        error,
        `PutScalingPolicy ${wanted.PolicyName}`,
        "application-autoscaling:PutScalingPolicy",
      );
    }
  }

  const stepArn = policyArns.stepScaling;
  const alarmDiff = alarmDifferences(desired, now.alarm, stepArn);
  if (alarmDiff.length > 0) {
    changes.push(...alarmDiff);
    ctx.progress(`putting alarm ${desired.alarm.AlarmName} → ${desired.stepScaling.PolicyName}`);
    try {
      await cloudwatch.send(
        new PutMetricAlarmCommand({ ...desired.alarm, AlarmActions: stepArn ? [stepArn] : [] }),
        {
          abortSignal: ctx.signal,
        },
      );
    } catch (error) {
      throw awsFailure(error, `PutMetricAlarm ${desired.alarm.AlarmName}`, "cloudwatch:PutMetricAlarm");
    }
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
