import {
  type ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  type PutScalingPolicyRequest,
  paginateDescribeScalingPolicies,
  RegisterScalableTargetCommand,
  type RegisterScalableTargetRequest,
} from "@aws-sdk/client-application-auto-scaling";
import {
  SCALABLE_DIMENSION,
  type ScalableTarget,
  type ScalingPolicy,
  SERVICE_NAMESPACE,
  scalableTargetSchema,
  scalingPolicySchema,
} from "../spec/autoscaling.js";
import type { AwsScope } from "./aws.js";
import { type Deleted, deleteTolerant, mapFailure } from "./aws-errors.js";

// Callers not yet on the facade import the alarm read from here.
export { describeAlarm } from "./cloudwatch.js";

/** Application Auto Scaling as gen3d calls it: the variant's scalable target and its policies. */
export interface Autoscaling {
  describeScalableTarget(resourceId: string): Promise<ScalableTarget | undefined>;
  /** Every scaling policy on the variant, whoever made it, every page read. */
  describeScalingPolicies(resourceId: string): Promise<ScalingPolicy[]>;
  registerScalableTarget(target: RegisterScalableTargetRequest): Promise<void>;
  /** Creates or replaces the policy; its ARN. */
  putScalingPolicy(policy: PutScalingPolicyRequest & { PolicyName: string }): Promise<string | undefined>;
  deleteScalingPolicy(resourceId: string, policyName: string): Promise<Deleted>;
  deregisterScalableTarget(resourceId: string): Promise<Deleted>;
}

/** The variant's instance count as Application Auto Scaling names it. */
const variant = (resourceId: string) => ({
  ServiceNamespace: SERVICE_NAMESPACE,
  ResourceId: resourceId,
  ScalableDimension: SCALABLE_DIMENSION,
});

export async function describeScalableTarget(
  client: ApplicationAutoScalingClient,
  resourceId: string,
  signal: AbortSignal,
): Promise<ScalableTarget | undefined> {
  return mapFailure(
    "DescribeScalableTargets",
    "application-autoscaling:DescribeScalableTargets",
    async () => {
      const { ResourceId: _one, ...dimension } = variant(resourceId);
      const out = await client.send(
        new DescribeScalableTargetsCommand({ ...dimension, ResourceIds: [resourceId] }),
        {
          abortSignal: signal,
        },
      );
      const found = (out.ScalableTargets ?? []).find((t) => t.ResourceId === resourceId);
      return found === undefined ? undefined : scalableTargetSchema.parse(found);
    },
  );
}

export async function describeScalingPolicies(
  client: ApplicationAutoScalingClient,
  resourceId: string,
  signal: AbortSignal,
): Promise<ScalingPolicy[]> {
  return mapFailure(
    "DescribeScalingPolicies",
    "application-autoscaling:DescribeScalingPolicies",
    async () => {
      const policies: ScalingPolicy[] = [];
      for await (const page of paginateDescribeScalingPolicies({ client }, variant(resourceId), {
        abortSignal: signal,
      }))
        for (const p of page.ScalingPolicies ?? [])
          if (p.ResourceId === resourceId) policies.push(scalingPolicySchema.parse(p));
      return policies;
    },
  );
}

export function createAutoscaling({ aws, signal }: AwsScope): Autoscaling {
  const options = { abortSignal: signal };
  return {
    describeScalableTarget: async (resourceId) =>
      describeScalableTarget(await aws.autoscaling(), resourceId, signal),
    describeScalingPolicies: async (resourceId) =>
      describeScalingPolicies(await aws.autoscaling(), resourceId, signal),
    async registerScalableTarget(target) {
      const client = await aws.autoscaling();
      await mapFailure(
        "RegisterScalableTarget",
        "application-autoscaling:RegisterScalableTarget (and iam:CreateServiceLinkedRole for the first registration)",
        () => client.send(new RegisterScalableTargetCommand(target), options),
      );
    },
    async putScalingPolicy(policy) {
      const client = await aws.autoscaling();
      const out = await mapFailure(
        `PutScalingPolicy ${policy.PolicyName}`,
        "application-autoscaling:PutScalingPolicy",
        () => client.send(new PutScalingPolicyCommand(policy), options),
      );
      return out.PolicyARN;
    },
    async deleteScalingPolicy(resourceId, policyName) {
      const client = await aws.autoscaling();
      return deleteTolerant(
        `deleting scaling-policy ${policyName}`,
        "application-autoscaling:DeleteScalingPolicy",
        () =>
          client.send(
            new DeleteScalingPolicyCommand({ PolicyName: policyName, ...variant(resourceId) }),
            options,
          ),
      );
    },
    async deregisterScalableTarget(resourceId) {
      const client = await aws.autoscaling();
      return deleteTolerant(
        `deleting scalable-target ${resourceId}`,
        "application-autoscaling:DeregisterScalableTarget",
        () => client.send(new DeregisterScalableTargetCommand(variant(resourceId)), options),
      );
    },
  };
}
