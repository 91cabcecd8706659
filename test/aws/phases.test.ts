import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { modelPhase } from "../../src/phases/05-model.js";
import { endpointConfigPhase } from "../../src/phases/06-endpoint-config.js";
import { createDeployPhase } from "../../src/phases/07-deploy.js";
import { autoscalingPhase } from "../../src/phases/08-autoscaling.js";
import { createScaleToZeroPhase } from "../../src/phases/10-scale-to-zero.js";
import { allPhases } from "../../src/phases/index.js";
import { PhaseRunner } from "../../src/phases/runner.js";
import { useMoto } from "../support/use-moto.js";
import { createTestContext, DIGEST, runThrough, type TestContext, testConfig } from "./support/context.js";

const deployPhase = createDeployPhase({ minDelaySeconds: 0.05, maxDelaySeconds: 0.2 });
const scaleToZeroPhase = createScaleToZeroPhase({ pollSeconds: 30 });
const PHASES_5_TO_8 = [modelPhase, endpointConfigPhase, deployPhase, autoscalingPhase];

const moto = useMoto();

async function deployed(ctx: TestContext) {
  await runThrough(ctx, PHASES_5_TO_8);
  return ctx;
}

describe("phases 5 → 8, then 10, against moto", () => {
  it("creates model, async config, endpoint and scale-to-zero autoscaling, and each gate reads it back", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    const outcomes = await runThrough(ctx, PHASES_5_TO_8);
    expect([...outcomes.values()].map((o) => [o.id, o.type, o.type === "passed" ? o.outcome : ""])).toEqual([
      [5, "passed", "created"],
      [6, "passed", "created"],
      [7, "passed", "created"],
      [8, "passed", "created"],
    ]);
    const { artifacts } = ctx.state.state;
    expect(artifacts.modelName).toMatch(/^gen3d-test-ab12cd34-[0-9a-f]{8}$/);
    expect(artifacts.endpointConfigName).toMatch(/^gen3d-test-cfg-[0-9a-f]{12}$/);
    expect(artifacts.endpointName).toBe("gen3d-test-async");

    const sagemaker = await ctx.aws.sagemaker();
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: artifacts.modelName }));
    expect(model.PrimaryContainer?.Image).toBe(
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/gen3d@${DIGEST}`,
    );
    expect(model.PrimaryContainer?.Environment).toMatchObject({
      GEN3D_MODEL_DIR: "/opt/gen3d/models",
      GEN3D_ALLOWED_BUCKETS: "gen3d-test-bucket",
      GEN3D_INPUT_PREFIX: "gen3d/input/",
      GEN3D_ENABLE_3D: "true",
    });
    expect(model.ExecutionRoleArn).toBe("arn:aws:iam::123456789012:role/gen3d-sagemaker");

    const config = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: artifacts.endpointConfigName }),
    );
    expect(config.ProductionVariants?.[0]).toMatchObject({
      ModelName: artifacts.modelName,
      InstanceType: "ml.g6e.xlarge",
      InitialInstanceCount: 1,
      // phase 3 measured 42 s: 42 × 2 + 180 = 264, rounded up to whole minutes.
      ContainerStartupHealthCheckTimeoutInSeconds: 300,
      ModelDataDownloadTimeoutInSeconds: 1200,
    });
    expect(config.AsyncInferenceConfig).toMatchObject({
      OutputConfig: {
        S3OutputPath: "s3://gen3d-test-bucket/gen3d/output",
        S3FailurePath: "s3://gen3d-test-bucket/gen3d/failures",
      },
      ClientConfig: { MaxConcurrentInvocationsPerInstance: 1 },
    });

    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: "gen3d-test-async" }));
    expect(endpoint.EndpointStatus).toBe("InService");
    expect(endpoint.EndpointConfigName).toBe(artifacts.endpointConfigName);

    const autoscaling = await ctx.aws.autoscaling();
    const targets = await autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "sagemaker" }),
    );
    expect(targets.ScalableTargets).toHaveLength(1);
    expect(targets.ScalableTargets?.[0]).toMatchObject({
      ResourceId: "endpoint/gen3d-test-async/variant/AllTraffic",
      ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
      MinCapacity: 0,
      MaxCapacity: 2,
    });
    const policies = await autoscaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: "sagemaker" }),
    );
    const byType = Object.fromEntries((policies.ScalingPolicies ?? []).map((p) => [p.PolicyType, p]));
    expect(byType.TargetTrackingScaling?.TargetTrackingScalingPolicyConfiguration).toMatchObject({
      ScaleInCooldown: 300,
      CustomizedMetricSpecification: {
        MetricName: "ApproximateBacklogSizePerInstance",
        Namespace: "AWS/SageMaker",
      },
    });
    expect(byType.StepScaling?.StepScalingPolicyConfiguration?.StepAdjustments).toEqual([
      { MetricIntervalLowerBound: 0, ScalingAdjustment: 1 },
    ]);
    const alarms = await (await ctx.aws.cloudwatch()).send(new DescribeAlarmsCommand({}));
    expect(alarms.MetricAlarms).toHaveLength(1);
    expect(alarms.MetricAlarms?.[0]).toMatchObject({
      MetricName: "HasBacklogWithoutCapacity",
      EvaluationPeriods: 2,
      Period: 60,
      AlarmActions: [byType.StepScaling?.PolicyARN],
    });

    // Each phase's gates passed on what Describe* returned, and STATE.json holds them.
    for (const id of [5, 6, 7, 8]) {
      const record = ctx.state.phase(id);
      expect(record.status).toBe("passed");
      const gates = (record.evidence as { gates: { status: string }[] }).gates;
      expect(gates.length).toBeGreaterThan(1);
      expect(gates.every((g) => g.status === "pass")).toBe(true);
    }
  });

  it("phase 10 waits with a countdown until scale-in brings the variant to 0, and records it", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const sagemaker = await ctx.aws.sagemaker();
    // Scale-in arrives while phase 10 waits: after its second poll, drive capacity to 0.
    const realSleep = ctx.clock.sleep.bind(ctx.clock);
    let sleeps = 0;
    ctx.clock.sleep = async (ms, signal) => {
      sleeps += 1;
      if (sleeps === 2) {
        await sagemaker.send(
          new UpdateEndpointWeightsAndCapacitiesCommand({
            EndpointName: "gen3d-test-async",
            DesiredWeightsAndCapacities: [{ VariantName: "AllTraffic", DesiredInstanceCount: 0 }],
          }),
        );
      }
      return realSleep(ms, signal);
    };
    const outcomes = await runThrough(ctx, [scaleToZeroPhase]);
    expect(outcomes.get(10)).toMatchObject({ type: "passed", outcome: "scaled-to-zero" });
    const countdown = ctx.progressLines.filter((l) => l.includes("waiting for scale-in"));
    expect(countdown.length).toBe(2);
    expect(countdown[0]).toMatch(/AllTraffic: 1 instance\(s\).* 1h00m left/);
    expect(countdown[1]).toMatch(/59m30s left/);
    const evidence = (ctx.state.phase(10).evidence as { run: { polls: number; waitedSeconds: number } }).run;
    expect(evidence.polls).toBe(3);
    expect(evidence.waitedSeconds).toBe(60);
    expect(ctx.state.state.artifacts.scaleToZeroWaitSince).toBeUndefined();
  });

  it("phase 10 resumes the same countdown after a stop", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    // First run: interrupted during its wait.
    ctx.clock.sleep = async () => {
      ctx.abort.abort();
      throw Object.assign(new Error("aborted"), { name: "AbortError" });
    };
    await expect(runThrough(ctx, [scaleToZeroPhase])).rejects.toThrow(/interrupted/);
    expect(ctx.state.phase(10).status).toBe("interrupted");
    const since = ctx.state.state.artifacts.scaleToZeroWaitSince;
    expect(typeof since).toBe("string");

    // `gen3d resume`: a new process, same STATE.json, 10 minutes later; the count is 0 by then.
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
    });
    resumed.clock.offsetMs = 10 * 60_000;
    await moto.setInstanceCount("gen3d-test-async", { currentInstanceCount: 0, desiredInstanceCount: 0 });
    await runThrough(resumed, [scaleToZeroPhase]);
    const run = (resumed.state.phase(10).evidence as { run: { waitedSeconds: number } }).run;
    expect(run.waitedSeconds).toBeGreaterThanOrEqual(600);
    expect(resumed.log.mutatingSince(0)).toEqual([]);
  });

  it("phase 10 times out with a cause and a fix when scale-in never comes", async () => {
    const config = testConfig(moto.endpoint, (raw) => {
      raw.timeouts = { scaleToZeroSeconds: 120 };
    });
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint, config }));
    await expect(runThrough(ctx, [scaleToZeroPhase])).rejects.toMatchObject({
      code: "SCALE_TO_ZERO_TIMEOUT",
    });
    const error = ctx.state.phase(10).error;
    expect(error?.message).toMatch(/still runs 1 instance/);
    expect(error?.hint).toMatch(/15 minutes.*gen3d resume/);
  });
});

describe("S3 model data and cold start", () => {
  it("ships s3-packaged weights as uncompressed ModelDataSource, and refuses an empty prefix", async () => {
    const config = testConfig(moto.endpoint, (raw) => {
      for (const model of raw.models as { packaging?: string }[]) model.packaging = "s3";
    });
    const ctx = await createTestContext({ endpoint: moto.endpoint, config });
    const s3 = await ctx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: "gen3d-test-bucket" }));
    const mark = ctx.log.mark();
    await expect(runThrough(ctx, [modelPhase])).rejects.toMatchObject({ code: "MODEL_DATA_MISSING" });
    expect(ctx.state.phase(5).error?.message).toMatch(
      /no model data under s3:\/\/gen3d-test-bucket\/gen3d\/models\//,
    );
    expect(ctx.log.mutatingSince(mark)).toEqual([]);

    await s3.send(
      new PutObjectCommand({ Bucket: "gen3d-test-bucket", Key: "gen3d/models/sam3/sam3.pt", Body: "w" }),
    );
    await runThrough(ctx, [modelPhase]);
    const model = await (await ctx.aws.sagemaker()).send(
      new DescribeModelCommand({ ModelName: ctx.state.state.artifacts.modelName }),
    );
    expect(model.PrimaryContainer?.ModelDataSource).toEqual({
      S3DataSource: {
        S3Uri: "s3://gen3d-test-bucket/gen3d/models/",
        S3DataType: "S3Prefix",
        CompressionType: "None",
      },
    });
    expect(model.PrimaryContainer?.Environment?.GEN3D_MODEL_DIR).toBe("/opt/ml/model");
    const gates = (ctx.state.phase(5).evidence as { gates: { id: string; status: string }[] }).gates;
    expect(gates.find((g) => g.id === "model.data")?.status).toBe("pass");
  });

  it("phase 10 times a cold start: a job submitted at zero, to its output in S3", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const s3 = await ctx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: "gen3d-test-bucket" }));
    await s3.send(
      new PutObjectCommand({ Bucket: "gen3d-test-bucket", Key: "gen3d/input/job.json", Body: "{}" }),
    );
    await moto.setInstanceCount("gen3d-test-async", { currentInstanceCount: 0, desiredInstanceCount: 0 });
    const phase = createScaleToZeroPhase({
      pollSeconds: 30,
      coldStartInput: "s3://gen3d-test-bucket/gen3d/input/job.json",
    });
    await runThrough(ctx, [phase]);
    const run = (
      ctx.state.phase(10).evidence as { run: { coldStart: { outputLocation: string; seconds: number } } }
    ).run;
    expect(run.coldStart.outputLocation).toMatch(/^s3:\/\/gen3d-test-bucket\/gen3d\/output\/.+\.out$/);
    expect(run.coldStart.seconds).toBeGreaterThanOrEqual(0);
    expect(ctx.log.mutatingSince(0)).toContain("SageMakerRuntime:InvokeEndpointAsync");

    // Work scaled the endpoint out again: verify still passes on the recorded observation, as a warning.
    await moto.setInstanceCount("gen3d-test-async", { currentInstanceCount: 1, desiredInstanceCount: 1 });
    const gates = await phase.verify(ctx);
    expect(gates.map((g) => [g.id, g.status])).toEqual([
      ["scale-to-zero.count", "warn"],
      ["scale-to-zero.cold-start", "pass"],
    ]);
  });
});

describe("idempotency", () => {
  it("a second deploy with no change sends zero mutating AWS calls, even when every phase re-checks reality", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const mark = ctx.log.mark();
    const outcomes = await runThrough(ctx, PHASES_5_TO_8, { force: true });
    expect([...outcomes.values()].map((o) => (o.type === "passed" ? o.outcome : o.type))).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
    expect(ctx.log.mutatingSince(mark)).toEqual([]);
    // It did look: Describe* calls were made.
    expect(ctx.log.since(mark)).toEqual(
      expect.arrayContaining(["SageMaker:DescribeModel", "SageMaker:DescribeEndpoint"]),
    );

    // And without --force the engine skips on unchanged inputs once one read per phase confirms
    // what it produced is still there: reads only, nothing mutated.
    const mark2 = ctx.log.mark();
    const skipped = await runThrough(ctx, PHASES_5_TO_8);
    expect([...skipped.values()].every((o) => o.type === "skipped")).toBe(true);
    expect(ctx.log.mutatingSince(mark2)).toEqual([]);
    expect(ctx.log.since(mark2)).toEqual(
      expect.arrayContaining([
        "SageMaker:DescribeModel",
        "SageMaker:DescribeEndpointConfig",
        "SageMaker:DescribeEndpoint",
        "ApplicationAutoScaling:DescribeScalableTargets",
      ]),
    );
  });

  it("re-running with a lost STATE.json adopts everything by name and creates nothing", async () => {
    const first = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const fresh = await createTestContext({ endpoint: moto.endpoint });
    const outcomes = await runThrough(fresh, PHASES_5_TO_8);
    expect([...outcomes.values()].map((o) => (o.type === "passed" ? o.outcome : o.type))).toEqual([
      "adopted",
      "adopted",
      "unchanged",
      "unchanged",
    ]);
    expect(fresh.log.mutatingSince(0)).toEqual([]);
    expect(fresh.state.state.artifacts.modelName).toBe(first.state.state.artifacts.modelName);
  });

  it("a config change makes a new endpoint config and an UpdateEndpoint, and updates autoscaling in place", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const oldConfig = ctx.state.state.artifacts.endpointConfigName;
    const changed = testConfig(moto.endpoint, (raw) => {
      raw.instance = { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 4 };
      raw.async = { maxConcurrentInvocationsPerInstance: 2 };
    });
    const next = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    const outcomes = await runThrough(next, PHASES_5_TO_8);
    expect([...outcomes.values()].map((o) => (o.type === "passed" ? o.outcome : o.type))).toEqual([
      "skipped",
      "created",
      "updated",
      "updated",
    ]);
    const mutating = next.log.mutatingSince(0);
    // Once the endpoint runs the new config, the old one serves nothing and is deleted.
    expect(mutating).toEqual([
      "SageMaker:CreateEndpointConfig",
      "SageMaker:UpdateEndpoint",
      "SageMaker:DeleteEndpointConfig",
      "ApplicationAutoScaling:RegisterScalableTarget",
    ]);
    const newConfig = next.state.state.artifacts.endpointConfigName;
    expect(newConfig).not.toBe(oldConfig);
    expect(next.state.state.artifacts.createdEndpointConfigs).toEqual([newConfig]);
    const configs = await (await next.aws.sagemaker()).send(new ListEndpointConfigsCommand({}));
    expect(configs.EndpointConfigs?.map((c) => c.EndpointConfigName)).toEqual([newConfig]);
    expect((next.state.phase(7).evidence as { run: { pruned: unknown } }).run.pruned).toEqual({
      endpointConfigs: [oldConfig],
      models: [],
      kept: [],
    });
    const endpoint = await (await next.aws.sagemaker()).send(
      new DescribeEndpointCommand({ EndpointName: "gen3d-test-async" }),
    );
    expect(endpoint.EndpointConfigName).toBe(newConfig);
    expect((next.state.phase(7).evidence as { run: { outcome: unknown } }).run.outcome).toMatchObject({
      type: "updated",
      previousConfigName: oldConfig,
    });
  });
});

describe("instance type change under autoscaling", () => {
  it("detaches autoscaling before UpdateEndpoint (AWS refuses otherwise) and phase 8 re-attaches it", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const changed = testConfig(moto.endpoint, (raw) => {
      raw.instance = { type: "ml.g6e.2xlarge" };
    });
    const next = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    await runThrough(next, PHASES_5_TO_8);
    expect(next.log.mutatingSince(0)).toEqual([
      "SageMaker:CreateEndpointConfig",
      "ApplicationAutoScaling:DeleteScalingPolicy",
      "ApplicationAutoScaling:DeleteScalingPolicy",
      "ApplicationAutoScaling:DeregisterScalableTarget",
      "SageMaker:UpdateEndpoint",
      "SageMaker:DeleteEndpointConfig",
      "ApplicationAutoScaling:RegisterScalableTarget",
      "ApplicationAutoScaling:PutScalingPolicy",
      "ApplicationAutoScaling:PutScalingPolicy",
      "CloudWatch:PutMetricAlarm",
    ]);
    expect(next.progressLines).toContain(
      "instance type ml.g6e.xlarge → ml.g6e.2xlarge: detaching autoscaling for the update (phase 8 re-attaches it)",
    );
    // Everything is back, and the alarm fires the new step policy.
    const gates = await autoscalingPhase.verify(next);
    expect(gates.map((g) => g.status)).toEqual(["pass", "pass", "pass", "pass"]);
    const mark = next.log.mark();
    await runThrough(next, PHASES_5_TO_8, { force: true });
    expect(next.log.mutatingSince(mark)).toEqual([]);
  });
});

/**
 * The "crash": `commandName` reaches AWS, then the process dies before it can record anything.
 * Runs `body` with the client wired that way and restores it afterwards.
 */
async function crashAfter(client: { send: unknown }, commandName: string, body: () => Promise<unknown>) {
  const original = (client.send as (c: unknown, o?: unknown) => Promise<unknown>).bind(client);
  client.send = async (command: { constructor: { name: string } }, options?: unknown) => {
    const out = await original(command, options);
    if (command.constructor.name === commandName) throw new Error("simulated crash");
    return out;
  };
  try {
    await expect(body()).rejects.toThrow(/simulated crash/);
  } finally {
    client.send = original;
  }
}

describe("deploy failures and crashes", () => {
  it("adopts an endpoint left Creating by a crashed run and never creates a second one", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await runThrough(ctx, [modelPhase, endpointConfigPhase]);
    await moto.setEndpointBehaviour("*", { mode: "creating_then_in_service", creatingDescribes: 3 });
    // The "crash": CreateEndpoint reaches AWS, then the process dies before anything else.
    const sagemaker = await ctx.aws.sagemaker();
    await crashAfter(sagemaker, "CreateEndpointCommand", () => runThrough(ctx, [deployPhase]));
    // A killed process leaves the phase "running" in STATE.json (the runner never got to record more).
    await ctx.state.setPhase(7, { status: "running", error: undefined, finishedAt: undefined });
    expect(ctx.state.state.artifacts.endpointName).toBe("gen3d-test-async");
    const status = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: "gen3d-test-async" }));
    expect(status.EndpointStatus).toBe("Creating");

    // `gen3d resume` in a new process.
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
    });
    const outcomes = await runThrough(resumed, [deployPhase]);
    expect(outcomes.get(7)).toMatchObject({ type: "passed", outcome: "adopted" });
    expect(resumed.log.mutatingSince(0)).toEqual([]);
    expect(
      resumed.progressLines.some((l) =>
        /Creating \(started by an earlier run or by autoscaling\): adopting/.test(l),
      ),
    ).toBe(true);
    expect(
      resumed.progressLines.some((l) =>
        /creating gen3d-test-async: Creating · elapsed [^/]+ \/ limit /.test(l),
      ),
      resumed.progressLines.join("\n"),
    ).toBe(true);
    const list = await sagemaker.send(new ListEndpointsCommand({}));
    expect(list.Endpoints?.map((e) => [e.EndpointName, e.EndpointStatus])).toEqual([
      ["gen3d-test-async", "InService"],
    ]);
  });

  it("adopts an endpoint left Updating by a crashed run and does not update it twice", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    const changed = testConfig(moto.endpoint, (raw) => {
      raw.async = { maxConcurrentInvocationsPerInstance: 3 };
    });
    const next = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    await runThrough(next, [modelPhase, endpointConfigPhase]);
    await moto.setEndpointBehaviour("*", { mode: "creating_then_in_service", creatingDescribes: 2 });
    const sagemaker = await next.aws.sagemaker();
    await crashAfter(sagemaker, "UpdateEndpointCommand", () => runThrough(next, [deployPhase]));
    await next.state.setPhase(7, { status: "running", error: undefined, finishedAt: undefined });

    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    const outcomes = await runThrough(resumed, [deployPhase]);
    expect(outcomes.get(7)).toMatchObject({ type: "passed", outcome: "adopted" });
    // No second UpdateEndpoint: only the config the endpoint left behind is deleted.
    expect(resumed.log.mutatingSince(0)).toEqual(["SageMaker:DeleteEndpointConfig"]);
    expect((resumed.state.phase(7).evidence as { run: { outcome: unknown } }).run.outcome).toMatchObject({
      type: "adopted",
      adoptedStatus: "Updating",
      endpointConfigName: resumed.state.state.artifacts.endpointConfigName,
    });
  });

  it("a Failed endpoint ends phase 7 with the reason, the log tail and a hint", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await runThrough(ctx, [modelPhase, endpointConfigPhase]);
    await moto.setEndpointBehaviour("*", { mode: "failed", creatingDescribes: 1 });
    const { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } =
      await import("@aws-sdk/client-cloudwatch-logs");
    const logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint });
    const group = "/aws/sagemaker/Endpoints/gen3d-test-async";
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "AllTraffic/i-0abc" }));
    const t = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: "AllTraffic/i-0abc",
        logEvents: [
          { timestamp: t, message: "gen3d_serving: loading sam3d from /opt/gen3d/models/sam3d" },
          {
            timestamp: t + 1,
            message: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
          },
        ],
      }),
    );
    await expect(runThrough(ctx, [deployPhase])).rejects.toMatchObject({ code: "ENDPOINT_FAILED" });
    const error = ctx.state.phase(7).error;
    expect(ctx.state.phase(7).status).toBe("failed");
    expect(error?.message).toMatch(
      /endpoint gen3d-test-async failed: the models do not fit in the instance's GPU memory/,
    );
    expect(error?.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FailureReason: The primary container .* did not pass the ping health check/),
        expect.stringMatching(/last 2 line\(s\) of \/aws\/sagemaker\/Endpoints\/gen3d-test-async/),
        expect.stringMatching(/CUDA out of memory/),
      ]),
    );
    expect(error?.hint).toMatch(/more GPU memory than ml\.g6e\.xlarge/);

    // After the fix, resume deletes the Failed endpoint and creates it again.
    await moto.setEndpointBehaviour("*", { mode: "in_service" });
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
    });
    await runThrough(resumed, [deployPhase]);
    expect(resumed.log.mutatingSince(0)).toEqual(["SageMaker:DeleteEndpoint", "SageMaker:CreateEndpoint"]);
    expect((resumed.state.phase(7).evidence as { run: { outcome: unknown } }).run.outcome).toMatchObject({
      type: "created",
      replacedFailed: true,
    });
  });

  it("a failed update that SageMaker rolls back fails the phase with the reason", async () => {
    const ctx = await deployed(await createTestContext({ endpoint: moto.endpoint }));
    await moto.setEndpointBehaviour("*", {
      mode: "failed",
      creatingDescribes: 1,
      updateFailure: "rollback",
      failureReason: "Image architecture mismatch: exec format error",
    });
    const changed = testConfig(moto.endpoint, (raw) => {
      raw.instance = { type: "ml.g6e.2xlarge" };
    });
    const next = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    await expect(runThrough(next, PHASES_5_TO_8)).rejects.toMatchObject({ code: "ENDPOINT_FAILED" });
    const error = next.state.phase(7).error;
    expect(error?.message).toMatch(/rolled back to gen3d-test-cfg-/);
    expect(error?.hint).toMatch(/linux\/amd64/);
    expect(error?.details?.some((d) => /log group .* does not exist/.test(d))).toBe(true);
    // The update changed the instance type, so autoscaling was detached first; the rolled-back
    // fleet got it back at once (a GPU left unscaled would run 24/7), and the error says so.
    expect(
      error?.details?.some((d) => /re-attached to the previous fleet .* still scales to zero/.test(d)),
    ).toBe(true);
    const autoscaling = await next.aws.autoscaling();
    const resourceId = "endpoint/gen3d-test-async/variant/AllTraffic";
    const targets = await autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "sagemaker", ResourceIds: [resourceId] }),
    );
    expect(targets.ScalableTargets?.map((t) => [t.MinCapacity, t.MaxCapacity])).toEqual([[0, 2]]);
    const policies = await autoscaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: "sagemaker", ResourceId: resourceId }),
    );
    expect(policies.ScalingPolicies?.map((p) => p.PolicyType).sort()).toEqual([
      "StepScaling",
      "TargetTrackingScaling",
    ]);
    const cloudwatch = await next.aws.cloudwatch();
    const alarms = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ["gen3d-test-has-backlog-without-capacity"] }),
    );
    expect(alarms.MetricAlarms?.[0]?.AlarmActions).toEqual([
      policies.ScalingPolicies?.find((p) => p.PolicyType === "StepScaling")?.PolicyARN,
    ]);
  });

  it("phase 5 names the missing upstream phase", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint, upstream: false });
    // The runner knows the whole pipeline (as `gen3d deploy` does), so it names the phase that records imageUri.
    const runner = new PhaseRunner(ctx, allPhases(), {});
    const handle = { start: () => {}, skip: () => {}, setOutput: () => {} };
    await expect(runner.runPhase(modelPhase, handle)).rejects.toMatchObject({ code: "UPSTREAM_MISSING" });
    expect(ctx.state.phase(5).error?.message).toMatch(/phase 5 needs imageUri: .*phase 4 \(push\)/);
    const sagemaker = await ctx.aws.sagemaker();
    expect((await sagemaker.send(new ListModelsCommand({}))).Models).toEqual([]);
    expect((await sagemaker.send(new ListEndpointConfigsCommand({}))).EndpointConfigs).toEqual([]);
  });
});

describe("teardown of phases 7, 6 and 5", () => {
  it("removes the endpoint, its configs and the models; a second teardown finds them already gone", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await runThrough(ctx, [modelPhase, endpointConfigPhase, deployPhase]);
    const { modelName, endpointConfigName } = ctx.state.state.artifacts;
    const options = { waiter: { minDelaySeconds: 0.05, maxDelaySeconds: 0.1 } };
    const teardown = async () => {
      const removed = [];
      for (const phase of [deployPhase, endpointConfigPhase, modelPhase])
        removed.push(...((await phase.teardown?.(ctx, options)) ?? []));
      return removed.map((r) => `${r.kind} ${r.name}: ${r.result}`);
    };
    expect(await teardown()).toEqual([
      "endpoint gen3d-test-async: deleted",
      `endpoint-config ${endpointConfigName}: deleted`,
      `model ${modelName}: deleted`,
    ]);
    const sagemaker = await ctx.aws.sagemaker();
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    expect((await sagemaker.send(new ListEndpointConfigsCommand({}))).EndpointConfigs).toEqual([]);
    expect((await sagemaker.send(new ListModelsCommand({}))).Models).toEqual([]);
    const mark = ctx.log.mark();
    expect(await teardown()).toEqual([
      "endpoint gen3d-test-async: already-gone",
      `endpoint-config ${endpointConfigName}: already-gone`,
      `model ${modelName}: already-gone`,
    ]);
    // Nothing but the endpoint's DescribeEndpoint and the deletes that found nothing.
    expect(ctx.log.since(mark)).toEqual([
      "SageMaker:DescribeEndpoint",
      "SageMaker:DeleteEndpointConfig",
      "SageMaker:DeleteModel",
    ]);
  });
});
