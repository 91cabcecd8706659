import type {
  PutScalingPolicyRequest,
  RegisterScalableTargetRequest,
} from "@aws-sdk/client-application-auto-scaling";
import type { PutMetricAlarmInput } from "@aws-sdk/client-cloudwatch";
import { z } from "zod";
import type { Gen3dConfig } from "../config/schema.js";
import { type GateResult, gate } from "../engine/gate.js";
import { scalableResourceId } from "../spec/sagemaker.js";
import { subsetDiff } from "./aws-compare.js";

/**
 * The async scale-to-zero recipe (AWS docs "async-inference-autoscale"): target tracking on the
 * backlog per instance scales between 1 and max and in to 0; it never leaves 0, because at zero
 * instances there is no per-instance metric. A step policy (+1) fired by an alarm on
 * HasBacklogWithoutCapacity does that.
 */
export const SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount" as const;
export const SERVICE_NAMESPACE = "sagemaker" as const;

export interface DesiredScaling {
  target: RegisterScalableTargetRequest & { ResourceId: string; MinCapacity: number; MaxCapacity: number };
  targetTracking: PutScalingPolicyRequest & { PolicyName: string };
  stepScaling: PutScalingPolicyRequest & { PolicyName: string };
  /** Without AlarmActions: they name the step policy's ARN, known only once it exists. */
  alarm: PutMetricAlarmInput & { AlarmName: string };
}

export function desiredScaling(config: Gen3dConfig, endpointName: string): DesiredScaling {
  const resourceId = scalableResourceId(endpointName);
  const common = {
    ServiceNamespace: SERVICE_NAMESPACE,
    ResourceId: resourceId,
    ScalableDimension: SCALABLE_DIMENSION,
  };
  const dimensions = [{ Name: "EndpointName", Value: endpointName }];
  const project = config.project.name;
  return {
    target: { ...common, MinCapacity: config.instance.minCount, MaxCapacity: config.instance.maxCount },
    targetTracking: {
      ...common,
      PolicyName: `${project}-backlog-per-instance`,
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: config.async.targetBacklogPerInstance,
        CustomizedMetricSpecification: {
          MetricName: "ApproximateBacklogSizePerInstance",
          Namespace: "AWS/SageMaker",
          Dimensions: dimensions,
          Statistic: "Average",
        },
        ScaleInCooldown: config.async.scaleInCooldownSeconds,
        ScaleOutCooldown: config.async.scaleOutCooldownSeconds,
      },
    },
    stepScaling: {
      ...common,
      PolicyName: `${project}-scale-out-from-zero`,
      PolicyType: "StepScaling",
      // ExactCapacity 1, not ChangeInCapacity +1: the alarm stays in ALARM until the first
      // instance answers /ping, and Application Auto Scaling re-runs the policy each minute
      // once the cooldown ends. A GPU cold start (provisioning, a multi-GB pull, model load)
      // outlasts any sensible cooldown, so +1 would add a second instance; "exactly 1" is
      // safe to repeat. The alarm only fires at zero, so this never lowers a running fleet.
      StepScalingPolicyConfiguration: {
        AdjustmentType: "ExactCapacity",
        MetricAggregationType: "Average",
        Cooldown: config.async.scaleOutCooldownSeconds,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      },
    },
    alarm: {
      AlarmName: `${project}-has-backlog-without-capacity`,
      AlarmDescription: `gen3d: scale ${endpointName} out from zero when jobs wait and no instance runs`,
      Namespace: "AWS/SageMaker",
      MetricName: "HasBacklogWithoutCapacity",
      Dimensions: dimensions,
      Statistic: "Average",
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "missing",
    },
  };
}

export const scalableTargetSchema = z.looseObject({
  ResourceId: z.string(),
  ScalableDimension: z.string(),
  MinCapacity: z.number(),
  MaxCapacity: z.number(),
});
export const scalingPolicySchema = z.looseObject({
  PolicyName: z.string(),
  PolicyARN: z.string(),
  PolicyType: z.string(),
  ResourceId: z.string(),
});
export const metricAlarmSchema = z.looseObject({
  AlarmName: z.string(),
  MetricName: z.string().optional(),
  AlarmActions: z.array(z.string()).optional(),
});

export type ScalableTarget = z.infer<typeof scalableTargetSchema>;
export type ScalingPolicy = z.infer<typeof scalingPolicySchema>;
export type MetricAlarm = z.infer<typeof metricAlarmSchema>;

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
