import {
  type ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  paginateDescribeScalingPolicies,
} from "@aws-sdk/client-application-auto-scaling";
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  type MetricAlarm,
  metricAlarmSchema,
  SCALABLE_DIMENSION,
  type ScalableTarget,
  type ScalingPolicy,
  SERVICE_NAMESPACE,
  scalableTargetSchema,
  scalingPolicySchema,
} from "../spec/autoscaling.js";
import { awsFailure } from "./aws-errors.js";

export async function describeScalableTarget(
  client: ApplicationAutoScalingClient,
  resourceId: string,
  signal: AbortSignal,
): Promise<ScalableTarget | undefined> {
  try {
    const out = await client.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: SERVICE_NAMESPACE,
        ResourceIds: [resourceId],
        ScalableDimension: SCALABLE_DIMENSION,
      }),
      { abortSignal: signal },
    );
    const found = (out.ScalableTargets ?? []).find((t) => t.ResourceId === resourceId);
    return found === undefined ? undefined : scalableTargetSchema.parse(found);
  } catch (error) {
    throw awsFailure(error, "DescribeScalableTargets", "application-autoscaling:DescribeScalableTargets");
  }
}

/** Every scaling policy on the variant, whoever made it. */
export async function describeScalingPolicies(
  client: ApplicationAutoScalingClient,
  resourceId: string,
  signal: AbortSignal,
): Promise<ScalingPolicy[]> {
  const policies: ScalingPolicy[] = [];
  try {
    for await (const page of paginateDescribeScalingPolicies(
      { client: client as ApplicationAutoScalingClient },
      { ServiceNamespace: SERVICE_NAMESPACE, ResourceId: resourceId, ScalableDimension: SCALABLE_DIMENSION },
      { abortSignal: signal },
    ))
      for (const p of page.ScalingPolicies ?? [])
        if (p.ResourceId === resourceId) policies.push(scalingPolicySchema.parse(p));
  } catch (error) {
    throw awsFailure(error, "DescribeScalingPolicies", "application-autoscaling:DescribeScalingPolicies");
  }
  return policies;
}

export async function describeAlarm(
  client: CloudWatchClient,
  name: string,
  signal: AbortSignal,
): Promise<MetricAlarm | undefined> {
  try {
    const out = await client.send(
      new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ["MetricAlarm"] }),
      {
        abortSignal: signal,
      },
    );
    const found = (out.MetricAlarms ?? []).find((a) => a.AlarmName === name);
    return found === undefined ? undefined : metricAlarmSchema.parse(found);
  } catch (error) {
    throw awsFailure(error, "DescribeAlarms", "cloudwatch:DescribeAlarms");
  }
}
