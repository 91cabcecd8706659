/**
 * Teardown order against states moto cannot produce: an endpoint that autoscaling holds in
 * Updating (DeleteEndpoint then fails), and an async queue that is not empty.
 */
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
} from "@aws-sdk/client-cloudwatch";
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  SageMakerClient,
  SageMakerServiceException,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { destroyDeployment } from "../../src/commands/destroy.js";
import { createTestContext } from "./support/context.js";

const sagemaker = mockClient(SageMakerClient);
const autoscaling = mockClient(ApplicationAutoScalingClient);
const cloudwatch = mockClient(CloudWatchClient);
const ENDPOINT = "http://127.0.0.1:9"; // never reached: every client is mocked
const NAME = "gen3d-test-async";
const WAITER = { minDelaySeconds: 0.05, maxDelaySeconds: 0.1 };

const validation = (message: string) =>
  new SageMakerServiceException({
    name: "ValidationException",
    message,
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });

/** A deployed endpoint whose status the test drives; every call is recorded in order. */
function fakeDeployment(initial: "Updating" | "InService", options: { inServiceAfter?: number } = {}) {
  const calls: string[] = [];
  let status: string = initial;
  let describes = 0;
  sagemaker.on(DescribeEndpointCommand).callsFake(() => {
    describes += 1;
    if (status === "Updating" && describes > (options.inServiceAfter ?? 2)) status = "InService";
    calls.push(`DescribeEndpoint=${status}`);
    if (status === "gone") throw validation(`Could not find endpoint "${NAME}".`);
    return {
      EndpointName: NAME,
      EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${NAME}`,
      EndpointConfigName: "gen3d-test-cfg-1",
      EndpointStatus: status,
    };
  });
  sagemaker.on(DeleteEndpointCommand).callsFake(() => {
    calls.push("DeleteEndpoint");
    // What SageMaker answers while an endpoint is changing.
    if (status !== "InService" && status !== "Failed")
      throw validation(`Cannot update in-progress endpoint "arn:aws:sagemaker:…:endpoint/${NAME}".`);
    status = "gone";
    return {};
  });
  sagemaker.on(DeleteEndpointConfigCommand).resolves({});
  sagemaker.on(DeleteModelCommand).resolves({});
  sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });
  sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [] });
  sagemaker.on(ListModelsCommand).resolves({ Models: [] });
  let policies = [
    { PolicyName: "gen3d-test-backlog-target", PolicyARN: "arn:policy", ServiceNamespace: "sagemaker" },
  ];
  autoscaling.on(DescribeScalingPoliciesCommand).callsFake(() => ({ ScalingPolicies: policies }));
  autoscaling.on(DeleteScalingPolicyCommand).callsFake(() => {
    calls.push("DeleteScalingPolicy");
    policies = [];
    return {};
  });
  let targets = [
    {
      ServiceNamespace: "sagemaker",
      ResourceId: `endpoint/${NAME}/variant/AllTraffic`,
      ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
      MinCapacity: 0,
      MaxCapacity: 2,
      RoleARN: "arn:role",
      CreationTime: new Date(),
    },
  ];
  autoscaling.on(DescribeScalableTargetsCommand).callsFake(() => ({ ScalableTargets: targets }));
  autoscaling.on(DeregisterScalableTargetCommand).callsFake(() => {
    calls.push("DeregisterScalableTarget");
    targets = [];
    return {};
  });
  let alarms = [{ AlarmName: "gen3d-test-has-backlog-without-capacity" }];
  cloudwatch.on(DescribeAlarmsCommand).callsFake(() => ({ MetricAlarms: alarms }));
  cloudwatch.on(DeleteAlarmsCommand).callsFake(() => {
    calls.push("DeleteAlarms");
    alarms = [];
    return {};
  });
  cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
  return { calls };
}

beforeEach(() => {
  sagemaker.reset();
  autoscaling.reset();
  cloudwatch.reset();
});

describe("gen3d destroy: teardown order", () => {
  it("waits for an endpoint that autoscaling holds in Updating before removing anything", async () => {
    const { calls } = fakeDeployment("Updating");
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    const report = await destroyDeployment(ctx, { waiter: WAITER });
    expect(report.leftovers).toEqual([]);
    const firstRemoval = calls.findIndex((c) => !c.startsWith("DescribeEndpoint"));
    expect(calls[firstRemoval]).toBe("DeleteAlarms");
    // Nothing was removed until SageMaker said InService.
    expect(calls.slice(0, firstRemoval)).toContain("DescribeEndpoint=InService");
    expect(calls.slice(0, firstRemoval).at(-1)).toBe("DescribeEndpoint=InService");
    expect(calls.filter((c) => c === "DeleteEndpoint")).toHaveLength(1);
    expect(report.removed.find((r) => r.kind === "endpoint")).toMatchObject({ result: "deleted" });
    expect(ctx.stderr.join("")).toMatch(
      /is Updating .*waiting for InService or Failed before removing anything/,
    );
  });

  it("gives up without deleting anything when the endpoint stays Updating past the deploy timeout", async () => {
    const { calls } = fakeDeployment("Updating", { inServiceAfter: Number.POSITIVE_INFINITY });
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    (ctx.config.timeouts as { deploySeconds: number }).deploySeconds = 1;
    await expect(destroyDeployment(ctx, { waiter: WAITER })).rejects.toMatchObject({
      code: "ENDPOINT_BUSY",
      message: expect.stringMatching(/still Updating after 1 s: nothing was deleted/),
    });
    expect(calls.filter((c) => !c.startsWith("DescribeEndpoint"))).toEqual([]);
  });

  it("warns with the count when async requests are queued, and asks again", async () => {
    const { calls } = fakeDeployment("InService");
    cloudwatch.on(GetMetricStatisticsCommand).resolves({
      Datapoints: [
        { Timestamp: new Date(Date.now() - 120_000), Maximum: 3 },
        { Timestamp: new Date(Date.now() - 60_000), Maximum: 7 },
      ],
    });
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    const asked: string[] = [];
    ctx.prompt = {
      async confirm(message) {
        asked.push(message);
        return asked.length === 1; // yes to the teardown, no to dropping the queue
      },
    };
    const report = await destroyDeployment(ctx, { waiter: WAITER });
    expect(report.cancelled).toBe(true);
    expect(report.backlog).toMatchObject({ type: "known", count: 7 });
    expect(asked).toEqual(["Delete these resources of gen3d-test?", "Drop the 7 queued request(s) too?"]);
    expect(ctx.stderr.join("")).toMatch(/Warning: 7 async request\(s\) are still queued on gen3d-test-async/);
    expect(calls.filter((c) => !c.startsWith("DescribeEndpoint"))).toEqual([]);
    const query = cloudwatch.commandCalls(GetMetricStatisticsCommand)[0]?.args[0].input;
    expect(query).toMatchObject({
      Namespace: "AWS/SageMaker",
      MetricName: "ApproximateBacklogSize",
      Dimensions: [{ Name: "EndpointName", Value: NAME }],
    });
  });

  it("with --yes (no second question) it goes ahead with the queue, having said so", async () => {
    fakeDeployment("InService");
    cloudwatch.on(GetMetricStatisticsCommand).resolves({
      Datapoints: [{ Timestamp: new Date(Date.now() - 60_000), Maximum: 2 }],
    });
    const ctx = await createTestContext({ endpoint: ENDPOINT, yes: true });
    const report = await destroyDeployment(ctx, { waiter: WAITER });
    expect(report.cancelled).toBe(false);
    expect(ctx.stderr.join("")).toMatch(/2 async request\(s\) are still queued/);
  });
});
