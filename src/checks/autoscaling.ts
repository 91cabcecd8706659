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

export function autoscalingGates(desired: DesiredScaling, actual: ScalingReality): GateResult[] {
  const gates: GateResult[] = [];
  const t = targetDifferences(desired, actual.target);
  gates.push(
    t.length === 0
      ? gate(
          "autoscaling.target",
          "scalable target",
          "pass",
          `min ${actual.target?.MinCapacity}, max ${actual.target?.MaxCapacity}`,
          {
            evidence: actual.target,
          },
        )
      : gate("autoscaling.target", "scalable target", "fail", t.join("; "), {
          hint: "Run `gen3d deploy --from 8`.",
        }),
  );
  const tt = policyDifferences(desired.targetTracking, actual.targetTracking);
  const cooldown = desired.targetTracking.TargetTrackingScalingPolicyConfiguration?.ScaleInCooldown;
  gates.push(
    tt.length === 0
      ? gate(
          "autoscaling.target-tracking",
          "target tracking on ApproximateBacklogSizePerInstance",
          "pass",
          `target ${desired.targetTracking.TargetTrackingScalingPolicyConfiguration?.TargetValue}, scale-in cooldown ${cooldown} s`,
          { evidence: actual.targetTracking },
        )
      : gate(
          "autoscaling.target-tracking",
          "target tracking on ApproximateBacklogSizePerInstance",
          "fail",
          tt.join("; "),
          {
            hint: "Run `gen3d deploy --from 8`.",
          },
        ),
  );
  const sp = policyDifferences(desired.stepScaling, actual.stepScaling);
  gates.push(
    sp.length === 0
      ? gate(
          "autoscaling.scale-from-zero",
          "step policy to scale out from zero",
          "pass",
          actual.stepScaling?.PolicyARN ?? "",
          {
            evidence: actual.stepScaling,
          },
        )
      : gate("autoscaling.scale-from-zero", "step policy to scale out from zero", "fail", sp.join("; "), {
          hint: "Without it the endpoint never leaves zero instances; run `gen3d deploy --from 8`.",
        }),
  );
  const al = alarmDifferences(desired, actual.alarm, actual.stepScaling?.PolicyARN);
  gates.push(
    al.length === 0
      ? gate(
          "autoscaling.alarm",
          "HasBacklogWithoutCapacity alarm fires the step policy",
          "pass",
          desired.alarm.AlarmName,
          {
            evidence: actual.alarm,
          },
        )
      : gate(
          "autoscaling.alarm",
          "HasBacklogWithoutCapacity alarm fires the step policy",
          "fail",
          al.join("; "),
          {
            hint: "Run `gen3d deploy --from 8`.",
          },
        ),
  );
  return gates;
}
