import type { PutScalingPolicyRequest } from "@aws-sdk/client-application-auto-scaling";
import { type GateResult, gate } from "../engine/gate.js";
import type { DesiredScaling, MetricAlarm, ScalableTarget, ScalingPolicy } from "../spec/autoscaling.js";
import { subsetDiff } from "./aws-compare.js";

export function targetDifferences(desired: DesiredScaling, actual: ScalableTarget | undefined): string[] {
  if (!actual) return ["scalable target: missing"];
  const { ServiceNamespace: _ns, ...wanted } = desired.target;
  return subsetDiff(wanted, actual).map((d) => `scalable target ${d}`);
}

export function policyDifferences(
  wanted: PutScalingPolicyRequest,
  actual: ScalingPolicy | undefined,
): string[] {
  if (!actual) return [`policy ${wanted.PolicyName}: missing`];
  const { ServiceNamespace: _ns, ...rest } = wanted;
  return subsetDiff(rest, actual).map((d) => `policy ${wanted.PolicyName} ${d}`);
}

export function alarmDifferences(
  desired: DesiredScaling,
  actual: MetricAlarm | undefined,
  stepPolicyArn: string | undefined,
): string[] {
  if (!actual) return [`alarm ${desired.alarm.AlarmName}: missing`];
  const wanted = { ...desired.alarm, AlarmActions: stepPolicyArn ? [stepPolicyArn] : [] };
  return subsetDiff(wanted, actual).map((d) => `alarm ${desired.alarm.AlarmName} ${d}`);
}

export interface ScalingReality {
  target: ScalableTarget | undefined;
  targetTracking: ScalingPolicy | undefined;
  stepScaling: ScalingPolicy | undefined;
  alarm: MetricAlarm | undefined;
}

const REDEPLOY = "Run `gen3d deploy --from 8`.";

/** One gate: pass with the evidence when nothing differs, else fail listing the differences. */
function verdict(
  id: string,
  title: string,
  differences: string[],
  pass: { message: string; evidence: unknown },
  hint = REDEPLOY,
): GateResult {
  return differences.length === 0
    ? gate(id, title, "pass", pass.message, { evidence: pass.evidence })
    : gate(id, title, "fail", differences.join("; "), { hint });
}

export function autoscalingGates(desired: DesiredScaling, actual: ScalingReality): GateResult[] {
  const tracking = desired.targetTracking.TargetTrackingScalingPolicyConfiguration;
  return [
    verdict("autoscaling.target", "scalable target", targetDifferences(desired, actual.target), {
      message: `min ${actual.target?.MinCapacity}, max ${actual.target?.MaxCapacity}`,
      evidence: actual.target,
    }),
    verdict(
      "autoscaling.target-tracking",
      "target tracking on ApproximateBacklogSizePerInstance",
      policyDifferences(desired.targetTracking, actual.targetTracking),
      {
        message: `target ${tracking?.TargetValue}, scale-in cooldown ${tracking?.ScaleInCooldown} s`,
        evidence: actual.targetTracking,
      },
    ),
    verdict(
      "autoscaling.scale-from-zero",
      "step policy to scale out from zero",
      policyDifferences(desired.stepScaling, actual.stepScaling),
      { message: actual.stepScaling?.PolicyARN ?? "", evidence: actual.stepScaling },
      "Without it the endpoint never leaves zero instances; run `gen3d deploy --from 8`.",
    ),
    verdict(
      "autoscaling.alarm",
      "HasBacklogWithoutCapacity alarm fires the step policy",
      alarmDifferences(desired, actual.alarm, actual.stepScaling?.PolicyARN),
      { message: desired.alarm.AlarmName, evidence: actual.alarm },
    ),
  ];
}
