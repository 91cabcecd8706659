import { describe, expect, it } from "vitest";
import type { Autoscaling } from "../../src/adapters/autoscaling.js";
import type { AwsClients } from "../../src/adapters/aws.js";
import type { CloudWatch } from "../../src/adapters/cloudwatch.js";
import { parseConfig } from "../../src/config/load.js";
import { applyAutoscaling } from "../../src/phases/autoscaling/apply.js";
import type { MetricAlarm, ScalableTarget, ScalingPolicy } from "../../src/spec/autoscaling.js";
import { validConfig } from "../support/project.js";

/** Application Auto Scaling and CloudWatch in memory: Describe answers what Put stored. */
function inMemory() {
  const puts: string[] = [];
  const targets = new Map<string, ScalableTarget>();
  const policies = new Map<string, ScalingPolicy>();
  const alarms = new Map<string, MetricAlarm>();
  const autoscaling: Autoscaling = {
    describeScalableTarget: async (id) => targets.get(id),
    describeScalingPolicies: async (id) => [...policies.values()].filter((p) => p.ResourceId === id),
    registerScalableTarget: async (t) => {
      puts.push("RegisterScalableTarget");
      targets.set(t.ResourceId as string, t as unknown as ScalableTarget);
    },
    putScalingPolicy: async (p) => {
      puts.push(`PutScalingPolicy ${p.PolicyName}`);
      const arn = `arn:policy/${p.PolicyName}`;
      policies.set(p.PolicyName, {
        ...p,
        PolicyARN: arn,
        PolicyType: p.PolicyType ?? "",
        ResourceId: p.ResourceId ?? "",
      });
      return arn;
    },
    deleteScalingPolicy: async () => "deleted",
    deregisterScalableTarget: async () => "deleted",
  };
  const cloudwatch: CloudWatch = {
    describeAlarm: async (name) => alarms.get(name),
    putMetricAlarm: async (a) => {
      puts.push(`PutMetricAlarm ${a.AlarmName}`);
      alarms.set(a.AlarmName, a as MetricAlarm);
    },
    deleteAlarm: async () => "deleted",
    asyncBacklog: async () => ({ type: "unknown", why: "in memory" }),
  };
  return { services: { autoscaling, cloudwatch }, puts, policies };
}

const ctx = (overrides: Record<string, unknown> = {}) => ({
  config: parseConfig(validConfig(overrides), "x"),
  aws: {} as AwsClients,
  signal: new AbortController().signal,
  progress: () => {},
});

describe("applying autoscaling through the facades", () => {
  it("creates target, both policies and the alarm wired to the step policy; a second run sends nothing", async () => {
    const world = inMemory();
    const first = await applyAutoscaling(ctx(), "gen3d-test-async", world.services);
    expect(first.outcome.type).toBe("created");
    expect(world.puts).toEqual([
      "RegisterScalableTarget",
      "PutScalingPolicy gen3d-test-backlog-per-instance",
      "PutScalingPolicy gen3d-test-scale-out-from-zero",
      "PutMetricAlarm gen3d-test-has-backlog-without-capacity",
    ]);
    expect(first.artifacts).toEqual({
      scalableTargetResourceId: "endpoint/gen3d-test-async/variant/AllTraffic",
      scalingPolicyArns: [
        "arn:policy/gen3d-test-backlog-per-instance",
        "arn:policy/gen3d-test-scale-out-from-zero",
      ],
      alarmNames: ["gen3d-test-has-backlog-without-capacity"],
    });
    world.puts.length = 0;
    const second = await applyAutoscaling(ctx(), "gen3d-test-async", world.services);
    expect(second.outcome).toMatchObject({ type: "unchanged", changes: [] });
    expect(world.puts).toEqual([]);
  });

  it("a changed maxCount re-registers only the target", async () => {
    const world = inMemory();
    await applyAutoscaling(ctx(), "gen3d-test-async", world.services);
    world.puts.length = 0;
    const changed = await applyAutoscaling(
      ctx({ instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 3 } }),
      "gen3d-test-async",
      world.services,
    );
    expect(changed.outcome).toMatchObject({ type: "updated", target: "updated", alarm: "unchanged" });
    expect(world.puts).toEqual(["RegisterScalableTarget"]);
  });
});
