import type {
  PutScalingPolicyRequest,
  RegisterScalableTargetRequest,
} from "@aws-sdk/client-application-auto-scaling";
import type { PutMetricAlarmInput } from "@aws-sdk/client-cloudwatch";
import { z } from "zod";
import type { Gen3dConfig } from "../config/schema.js";
import { scalableResourceId } from "./sagemaker.js";

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
