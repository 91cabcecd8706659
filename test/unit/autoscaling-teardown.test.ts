import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { Autoscaling } from "../../src/adapters/autoscaling.js";
import type { AwsClients } from "../../src/adapters/aws.js";
import type { CloudWatch } from "../../src/adapters/cloudwatch.js";
import { parseConfig } from "../../src/config/load.js";
import type { ExternalError } from "../../src/engine/errors.js";
import { autoscalingLeftovers, autoscalingPhase } from "../../src/phases/08-autoscaling.js";
import type { ScalingServices } from "../../src/phases/autoscaling/apply.js";
import { removeScaling, scalingLeftovers, scalingRemains } from "../../src/phases/autoscaling/teardown.js";
import type { PhaseContext } from "../../src/phases/phase.js";
import type { ScalingPolicy } from "../../src/spec/autoscaling.js";
import { validConfig } from "../support/project.js";

const config = parseConfig(validConfig(), "x");
const RESOURCE = "endpoint/gen3d-test-async/variant/AllTraffic";
const DESIRED_ALARM = "gen3d-test-has-backlog-without-capacity";

/** An in-memory Application Auto Scaling and CloudWatch that record every mutating call. */
function fakeServices(world: { target: boolean; policies: string[]; alarms: string[] }) {
  const calls: string[] = [];
  const policy = (name: string): ScalingPolicy => ({
    PolicyName: name,
    PolicyARN: `arn:policy/${name}`,
    PolicyType: "StepScaling",
    ResourceId: RESOURCE,
  });
  const autoscaling: Autoscaling = {
    describeScalableTarget: async (id) =>
      world.target && id === RESOURCE
        ? { ResourceId: id, ScalableDimension: "d", MinCapacity: 0, MaxCapacity: 2 }
        : undefined,
    describeScalingPolicies: async (id) => (id === RESOURCE ? world.policies.map(policy) : []),
    registerScalableTarget: async () => {
      throw new Error("teardown must not register");
    },
    putScalingPolicy: async () => {
      throw new Error("teardown must not put policies");
    },
    deleteScalingPolicy: async (id, name) => {
      calls.push(`delete-policy ${id} ${name}`);
      const before = world.policies.length;
      world.policies = world.policies.filter((p) => p !== name);
      return world.policies.length < before ? "deleted" : "already-gone";
    },
    deregisterScalableTarget: async (id) => {
      calls.push(`deregister ${id}`);
      const had = world.target;
      world.target = false;
      return had ? "deleted" : "already-gone";
    },
  };
  const cloudwatch: CloudWatch = {
    describeAlarm: async (name) => (world.alarms.includes(name) ? { AlarmName: name } : undefined),
    putMetricAlarm: async () => {
      throw new Error("teardown must not put alarms");
    },
    deleteAlarm: async (name) => {
      calls.push(`delete-alarm ${name}`);
      world.alarms = world.alarms.filter((a) => a !== name);
      return "deleted";
    },
    asyncBacklog: async () => ({ type: "unknown", why: "fake" }),
  };
  const services: ScalingServices = { autoscaling, cloudwatch };
  return { services, calls };
}

describe("phase 8 teardown (fake facades)", () => {
  const remains = scalingRemains(config, { endpointName: "gen3d-test-async", alarmNames: ["old-alarm"] });

  it("names the recorded alarms and the configured one, and the variant's scalable target", () => {
    expect(remains).toEqual({ resourceId: RESOURCE, alarms: [DESIRED_ALARM, "old-alarm"].sort() });
    // A run that stopped before phase 8 recorded anything still removes what the config names.
    expect(scalingRemains(config, {}).alarms).toEqual([DESIRED_ALARM]);
  });

  it("removes alarms, then every policy (gen3d's or not), then the target; nothing is left", async () => {
    const { services, calls } = fakeServices({
      target: true,
      policies: ["gen3d-test-backlog-per-instance", "gen3d-test-scale-out-from-zero", "someone-elses"],
      alarms: [DESIRED_ALARM, "old-alarm"],
    });
    expect(await scalingLeftovers(remains, services)).toHaveLength(6);
    const removed = await removeScaling(remains, services);
    expect(removed.map((r) => `${r.kind} ${r.name} ${r.result}`)).toEqual([
      `alarm ${DESIRED_ALARM} deleted`,
      "alarm old-alarm deleted",
      "scaling-policy gen3d-test-backlog-per-instance deleted",
      "scaling-policy gen3d-test-scale-out-from-zero deleted",
      "scaling-policy someone-elses deleted",
      `scalable-target ${RESOURCE} deleted`,
    ]);
    // The target goes last: deregistering it first would leave the alarm firing at nothing.
    expect(calls.at(-1)).toBe(`deregister ${RESOURCE}`);
    expect(await scalingLeftovers(remains, services)).toEqual([]);
  });

  it("reports what is absent as already gone, and sends no delete for it", async () => {
    const { services, calls } = fakeServices({ target: false, policies: [], alarms: [] });
    const removed = await removeScaling(remains, services);
    expect(removed).toEqual([
      { kind: "alarm", name: DESIRED_ALARM, result: "already-gone" },
      { kind: "alarm", name: "old-alarm", result: "already-gone" },
      { kind: "scalable-target", name: RESOURCE, result: "already-gone" },
    ]);
    expect(calls).toEqual([]);
  });

  it("a policy that vanished between the listing and the delete is already gone, not an error", async () => {
    const { services } = fakeServices({ target: true, policies: ["p"], alarms: [] });
    const list = services.autoscaling.describeScalingPolicies;
    services.autoscaling.describeScalingPolicies = async (id) => {
      const listed = await list(id);
      await services.autoscaling.deleteScalingPolicy(id, "p"); // someone else removes it first
      return listed;
    };
    const removed = await removeScaling(remains, services);
    expect(removed).toContainEqual({ kind: "scaling-policy", name: "p", result: "already-gone" });
  });
});

describe("phase 8 teardown through the SDK (mocked clients)", () => {
  const autoscaling = mockClient(ApplicationAutoScalingClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const aws = {
    region: "us-east-1",
    endpoint: undefined,
    autoscaling: async () => new ApplicationAutoScalingClient({ region: "us-east-1" }),
    cloudwatch: async () => new CloudWatchClient({ region: "us-east-1" }),
  } as unknown as AwsClients;
  const ctx = {
    config,
    aws,
    signal: new AbortController().signal,
    state: { state: { artifacts: { endpointName: "gen3d-test-async", alarmNames: [DESIRED_ALARM] } } },
  } as unknown as PhaseContext;

  beforeEach(() => {
    autoscaling.reset();
    cloudwatch.reset();
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: DESIRED_ALARM }] });
    cloudwatch.on(DeleteAlarmsCommand).resolves({});
    autoscaling.on(DescribeScalingPoliciesCommand).resolves({
      ScalingPolicies: [
        {
          PolicyName: "gen3d-test-scale-out-from-zero",
          PolicyARN: "arn:p",
          PolicyType: "StepScaling",
          ResourceId: RESOURCE,
          ServiceNamespace: "sagemaker",
          ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
          CreationTime: new Date(),
        },
      ],
    });
    autoscaling.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ResourceId: RESOURCE,
          ServiceNamespace: "sagemaker",
          ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
          MinCapacity: 0,
          MaxCapacity: 2,
          RoleARN: "arn:r",
          CreationTime: new Date(),
        },
      ],
    });
    autoscaling.on(DeleteScalingPolicyCommand).resolves({});
    autoscaling.on(DeregisterScalableTargetCommand).resolves({});
  });

  it("sends the deletes for the variant's dimension and reports each removal", async () => {
    const removed = await autoscalingPhase.teardown?.(ctx, {});
    expect(removed?.map((r) => r.result)).toEqual(["deleted", "deleted", "deleted"]);
    expect(cloudwatch.commandCalls(DeleteAlarmsCommand)[0]?.args[0].input).toEqual({
      AlarmNames: [DESIRED_ALARM],
    });
    const dimension = {
      ServiceNamespace: "sagemaker",
      ResourceId: RESOURCE,
      ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
    };
    expect(autoscaling.commandCalls(DeleteScalingPolicyCommand)[0]?.args[0].input).toEqual({
      PolicyName: "gen3d-test-scale-out-from-zero",
      ...dimension,
    });
    expect(autoscaling.commandCalls(DeregisterScalableTargetCommand)[0]?.args[0].input).toEqual(dimension);
  });

  it("a delete AWS answers 'not found' is already gone; a refused one names the permission", async () => {
    autoscaling
      .on(DeleteScalingPolicyCommand)
      .rejects(Object.assign(new Error("No scaling policy found"), { name: "ObjectNotFoundException" }));
    expect((await autoscalingPhase.teardown?.(ctx, {}))?.[1]).toMatchObject({ result: "already-gone" });
    autoscaling
      .on(DeregisterScalableTargetCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    const error = (await autoscalingPhase.teardown?.(ctx, {}).catch((e: unknown) => e)) as ExternalError;
    expect(error.code).toBe("AWS_CALL_FAILED");
    expect(error.message).toContain(`deleting scalable-target ${RESOURCE}`);
    expect(error.hint).toContain("application-autoscaling:DeregisterScalableTarget");
  });

  it("lists what is still there for destroy's leftovers check", async () => {
    expect(await autoscalingLeftovers(ctx)).toEqual([
      `scalable-target ${RESOURCE}`,
      "scaling-policy gen3d-test-scale-out-from-zero",
      `alarm ${DESIRED_ALARM}`,
    ]);
  });
});
