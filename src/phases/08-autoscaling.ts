import { z } from "zod";
import {
  alarmDifferences,
  autoscalingGates,
  policyDifferences,
  targetDifferences,
} from "../checks/autoscaling.js";
import { compared, gone } from "../checks/reality.js";
import { desiredScaling } from "../spec/autoscaling.js";
import { endpointNameFor } from "../spec/sagemaker.js";
import { applyAutoscaling, scalingReality, scalingServices } from "./autoscaling/apply.js";
import { removeScaling, scalingLeftovers, scalingRemains } from "./autoscaling/teardown.js";
import { definePhase } from "./contract.js";
import type { Phase, PhaseContext } from "./phase.js";

type TeardownContext = Pick<PhaseContext, "config" | "state" | "aws" | "signal">;

/** What of phase 8 AWS still lists: `alarm …`, `scaling-policy …`, `scalable-target …` (for destroy). */
export async function autoscalingLeftovers(ctx: TeardownContext): Promise<string[]> {
  return scalingLeftovers(scalingRemains(ctx.config, ctx.state.state.artifacts), scalingServices(ctx));
}

/** Phase 8: scalable target (min 0), target tracking, and the step policy + alarm that leave zero. */
export const autoscalingPhase: Phase = definePhase({
  id: 8,
  name: "autoscaling",
  title: "Configure scale-to-zero autoscaling",
  needs: { endpointName: z.string().min(1) },
  produces: z.object({
    scalableTargetResourceId: z.string(),
    scalingPolicyArns: z.array(z.string()),
    alarmNames: z.array(z.string()),
  }),

  async inputs(ctx) {
    // The endpoint's name derives from the config, so the plan can hash this before phase 7 ran.
    return { scaling: desiredScaling(ctx.config, endpointNameFor(ctx.config)), region: ctx.aws.region };
  },

  async run(ctx) {
    const { outcome, artifacts } = await applyAutoscaling(ctx, ctx.upstream.endpointName);
    await ctx.state.setArtifacts(artifacts);
    return { outcome: outcome.type, artifacts, evidence: { outcome } };
  },

  async verify(ctx) {
    const desired = desiredScaling(ctx.config, ctx.upstream.endpointName);
    return autoscalingGates(desired, await scalingReality(ctx, desired));
  },

  /** The scalable target, both policies and the alarm still exist as gen3d put them. */
  async reality(ctx) {
    const desired = desiredScaling(ctx.config, ctx.upstream.endpointName);
    const now = await scalingReality(ctx, desired);
    if (!now.target) return gone(`scalable target ${desired.target.ResourceId} no longer exists`);
    for (const key of ["targetTracking", "stepScaling"] as const) {
      if (!now[key]) return gone(`scaling policy ${desired[key].PolicyName} no longer exists`);
    }
    if (!now.alarm) return gone(`alarm ${desired.alarm.AlarmName} no longer exists`);
    const differences = [
      ...targetDifferences(desired, now.target),
      ...policyDifferences(desired.targetTracking, now.targetTracking),
      ...policyDifferences(desired.stepScaling, now.stepScaling),
      ...alarmDifferences(desired, now.alarm, now.stepScaling?.PolicyARN),
    ];
    return compared("autoscaling", differences, `scalable target, 2 policies and alarm exist`);
  },

  /** The alarm(s), every scaling policy on the variant, and the scalable target. */
  async teardown(ctx) {
    return removeScaling(scalingRemains(ctx.config, ctx.state.state.artifacts), scalingServices(ctx));
  },
});
