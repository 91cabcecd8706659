import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateRepositoryCommand, ListImagesCommand, PutImageCommand } from "@aws-sdk/client-ecr";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DeleteModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  SageMakerClient,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { destroyDeployment, listLeftovers, renderRemains } from "../../src/commands/destroy.js";
import { listSagemakerLeftovers } from "../../src/commands/destroy-remains.js";
import { readLogs } from "../../src/commands/logs.js";
import { liveStatus, renderLiveStatus } from "../../src/commands/status-live.js";
import { readState } from "../../src/engine/state.js";
import { useMoto } from "../support/use-moto.js";
import {
  createTestContext,
  phases5To8,
  runThrough,
  TEST_ENV,
  type TestContext,
  testConfig,
} from "./support/context.js";

const run = promisify(execFile);
const PHASES = phases5To8();
const WAITER = { minDelaySeconds: 0.05, maxDelaySeconds: 0.2 };

const moto = useMoto();

async function deployed(): Promise<TestContext> {
  const ctx = await createTestContext({ endpoint: moto.endpoint });
  await runThrough(ctx, PHASES);
  return ctx;
}

/** The real AWS CLI (v1, botocore) against the same moto: our reading of the API is not only our own. */
// biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON is checked field by field by each expect
async function awsCli(...args: string[]): Promise<any> {
  const aws = process.env.GEN3D_AWS_CLI ?? "aws";
  const { stdout } = await run(
    aws,
    [...args, "--endpoint-url", moto.endpoint, "--region", "us-east-1", "--output", "json"],
    {
      env: { ...process.env, ...TEST_ENV, AWS_PAGER: "" },
    },
  );
  return JSON.parse(stdout);
}

describe("resources read back by the aws CLI", () => {
  it("sees the model, endpoint config, endpoint, scaling policies and alarm gen3d created", {
    timeout: 90_000,
  }, async () => {
    const ctx = await deployed();
    const a = ctx.state.state.artifacts;
    const model = await awsCli("sagemaker", "describe-model", "--model-name", String(a.modelName));
    expect(model.PrimaryContainer.Image).toBe(a.imageUri);
    expect(model.PrimaryContainer.Environment.GEN3D_OUTPUT_PREFIX).toBe("gen3d/output/");

    const config = await awsCli(
      "sagemaker",
      "describe-endpoint-config",
      "--endpoint-config-name",
      String(a.endpointConfigName),
    );
    expect(config.AsyncInferenceConfig.OutputConfig.S3FailurePath).toBe(
      "s3://gen3d-test-bucket/gen3d/failures",
    );
    expect(config.ProductionVariants[0].ContainerStartupHealthCheckTimeoutInSeconds).toBe(300);

    const endpoint = await awsCli("sagemaker", "describe-endpoint", "--endpoint-name", "gen3d-test-async");
    expect(endpoint.EndpointStatus).toBe("InService");
    expect(endpoint.EndpointConfigName).toBe(a.endpointConfigName);

    const policies = await awsCli(
      "application-autoscaling",
      "describe-scaling-policies",
      "--service-namespace",
      "sagemaker",
    );
    expect(policies.ScalingPolicies.map((p: { PolicyName: string }) => p.PolicyName).sort()).toEqual([
      "gen3d-test-backlog-per-instance",
      "gen3d-test-scale-out-from-zero",
    ]);
    const alarms = await awsCli(
      "cloudwatch",
      "describe-alarms",
      "--alarm-names",
      "gen3d-test-has-backlog-without-capacity",
    );
    expect(alarms.MetricAlarms[0].AlarmActions).toEqual(
      policies.ScalingPolicies.filter((p: { PolicyType: string }) => p.PolicyType === "StepScaling").map(
        (p: { PolicyARN: string }) => p.PolicyARN,
      ),
    );
  });
});

describe("gen3d destroy", () => {
  it("removes alarm, policies, target, endpoint, every config and model, and records it; list calls prove nothing is left", async () => {
    const ctx = await deployed();
    // A second config from a settings change whose deploy stopped before phase 7 (a deploy that
    // finishes deletes the config it replaced), so destroy has two to clean up.
    const changed = testConfig(moto.endpoint, (raw) => {
      raw.instance = { type: "ml.g6e.2xlarge" };
    });
    const next = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      config: changed,
      upstream: false,
    });
    await runThrough(next, PHASES.slice(0, 2));
    expect(next.state.state.artifacts.createdEndpointConfigs).toHaveLength(2);

    // The same listing that proves the teardown sees everything beforehand.
    const before = await listLeftovers(next);
    expect(before.map((l) => l.split(" ")[0]).sort()).toEqual([
      "alarm",
      "endpoint",
      "endpoint-config",
      "endpoint-config",
      "model",
      "scalable-target",
      "scaling-policy",
      "scaling-policy",
    ]);
    const report = await destroyDeployment(next, { waiter: WAITER });
    expect(report.cancelled).toBe(false);
    expect(report.leftovers).toEqual([]);
    expect(report.removed.filter((r) => r.result === "deleted").map((r) => r.kind)).toEqual([
      "alarm",
      "scaling-policy",
      "scaling-policy",
      "scalable-target",
      "endpoint",
      "endpoint-config",
      "endpoint-config",
      "model",
    ]);

    const sagemaker = await next.aws.sagemaker();
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    expect((await sagemaker.send(new ListEndpointConfigsCommand({}))).EndpointConfigs).toEqual([]);
    expect((await sagemaker.send(new ListModelsCommand({}))).Models).toEqual([]);
    const autoscaling = await next.aws.autoscaling();
    expect(
      (await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "sagemaker" })))
        .ScalableTargets,
    ).toEqual([]);
    expect(
      (await autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: "sagemaker" })))
        .ScalingPolicies,
    ).toEqual([]);
    expect((await (await next.aws.cloudwatch()).send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual(
      [],
    );
    expect((await awsCli("sagemaker", "list-endpoints")).Endpoints).toEqual([]);

    const saved = await readState(next.state.file);
    expect(saved?.artifacts.endpointName).toBeUndefined();
    expect(saved?.artifacts.createdModels).toBeUndefined();
    expect(saved?.artifacts.imageDigest).toBeDefined();
    expect((saved?.artifacts.teardown as { removed: string[] } | undefined)?.removed).toHaveLength(8);
    expect(saved?.phases["7"]?.status).toBe("stale");
    expect(saved?.phases["7"]?.note).toMatch(/removed by gen3d destroy/);
    expect(saved?.history.at(-1)).toMatchObject({ event: "destroy", detail: "8 deleted, 0 left" });
  });

  it("tolerates resources already gone and a second destroy", async () => {
    const ctx = await deployed();
    await (await ctx.aws.sagemaker()).send(
      new DeleteModelCommand({ ModelName: ctx.state.state.artifacts.modelName }),
    );
    const first = await destroyDeployment(ctx, { waiter: WAITER });
    expect(first.removed.find((r) => r.kind === "model")).toMatchObject({ result: "already-gone" });
    expect(first.leftovers).toEqual([]);
    const again = await destroyDeployment(ctx, { waiter: WAITER });
    expect(again.removed.every((r) => r.result === "already-gone")).toBe(true);
    expect(again.leftovers).toEqual([]);
  });

  it("with --delete-images deletes the pushed image by digest from ECR", async () => {
    const ctx = await deployed();
    const ecr = await ctx.aws.ecr();
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "gen3d" }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        size: 2,
        digest: `sha256:${"1".repeat(64)}`,
      },
      layers: [],
    });
    const put = await ecr.send(
      new PutImageCommand({ repositoryName: "gen3d", imageManifest: manifest, imageTag: "1.0.0" }),
    );
    const digest = put.image?.imageId?.imageDigest as string;
    await ctx.state.setArtifacts({ imageDigest: digest });
    const report = await destroyDeployment(ctx, { deleteImages: true, waiter: WAITER });
    expect(report.removed.find((r) => r.kind === "image")).toMatchObject({
      name: `gen3d@${digest}`,
      result: "deleted",
    });
    expect((await ecr.send(new ListImagesCommand({ repositoryName: "gen3d" }))).imageIds).toEqual([]);
    const saved = await readState(ctx.state.file);
    expect(saved?.artifacts.imageDigest).toBeUndefined();
    expect(saved?.phases["4"]?.status).toBe("stale");
  });

  it("with aws.registry set, --delete-images does not claim the registry's image is gone", async () => {
    const ctx = await deployed();
    (ctx.config.aws as { registry?: string }).registry = "127.0.0.1:5000";
    const digest = `sha256:${"a".repeat(64)}`;
    await ctx.state.setArtifacts({ imageDigest: digest });
    const report = await destroyDeployment(ctx, { deleteImages: true, waiter: WAITER });
    expect(report.removed.find((r) => r.kind === "image")).toBeUndefined();
    expect(report.remains[0]).toMatchObject({
      name: `127.0.0.1:5000/gen3d@${digest}`,
      remove: expect.stringContaining(`curl -X DELETE http://127.0.0.1:5000/v2/gen3d/manifests/${digest}`),
    });
    const text = renderRemains({ color: false, verbose: false }, report);
    expect(text).toContain("image 127.0.0.1:5000/gen3d@sha256:aaaaaaaaaaaa…");
    expect(text).not.toContain("a".repeat(13));
    expect(renderRemains({ color: false, verbose: true }, report)).toContain(digest);
    expect((await readState(ctx.state.file))?.artifacts.imageDigest).toBe(digest);
  });

  it("deletes nothing when the user says no", async () => {
    const ctx = await deployed();
    const declined = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
      confirm: false,
    });
    const report = await destroyDeployment(declined, { waiter: WAITER });
    expect(report.cancelled).toBe(true);
    expect(declined.log.mutatingSince(0)).toEqual([]);
    expect(declined.stderr.join("")).toMatch(
      /will delete[\s\S]*endpoint gen3d-test-async[\s\S]*Nothing deleted/,
    );
  });

  it("with --delete-s3 empties the async output, failure and embeddings prefixes, and leaves inputs", async () => {
    const ctx = await deployed();
    const s3 = await ctx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: "gen3d-test-bucket" }));
    for (const key of [
      "gen3d/output/a.out",
      "gen3d/failures/b-error.out",
      "gen3d/embeddings/c.safetensors",
      "gen3d/input/d.png",
    ]) {
      await s3.send(new PutObjectCommand({ Bucket: "gen3d-test-bucket", Key: key, Body: "x" }));
    }
    const report = await destroyDeployment(ctx, { deleteS3: true, waiter: WAITER });
    expect(report.removed.filter((r) => r.kind === "s3-prefix").map((r) => [r.name, r.result])).toEqual([
      ["s3://gen3d-test-bucket/gen3d/output/", "deleted"],
      ["s3://gen3d-test-bucket/gen3d/failures/", "deleted"],
      ["s3://gen3d-test-bucket/gen3d/embeddings/", "deleted"],
    ]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: "gen3d-test-bucket" }));
    expect(left.Contents?.map((o) => o.Key)).toEqual(["gen3d/input/d.png"]);
  });
});

describe("gen3d destroy says exactly what remains", () => {
  it("counts the ECR images, the S3 objects under each prefix and the log group it leaves, with how to remove each", async () => {
    const ctx = await deployed();
    const ecr = await ctx.aws.ecr();
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "gen3d" }));
    for (const [tag, fill] of [
      ["1.0.0", "1"],
      ["1.0.1", "2"],
    ]) {
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          size: 2,
          digest: `sha256:${(fill as string).repeat(64)}`,
        },
        layers: [],
      });
      await ecr.send(
        new PutImageCommand({ repositoryName: "gen3d", imageManifest: manifest, imageTag: tag }),
      );
    }
    const s3 = await ctx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: "gen3d-test-bucket" }));
    for (const key of ["gen3d/input/a.png", "gen3d/input/b.png", "gen3d/output/c.out"])
      await s3.send(new PutObjectCommand({ Bucket: "gen3d-test-bucket", Key: key, Body: "x" }));
    const logs = await ctx.aws.logs();
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/aws/sagemaker/Endpoints/gen3d-test-async" }));

    const report = await destroyDeployment(ctx, { waiter: WAITER });
    expect(report.leftovers).toEqual([]);
    expect(report.remains.map((r) => [r.kind, r.name, r.count])).toEqual([
      ["ecr-images", "gen3d", 2],
      ["s3-objects", "s3://gen3d-test-bucket/gen3d/input/", 2],
      ["s3-objects", "s3://gen3d-test-bucket/gen3d/output/", 1],
      ["log-group", "/aws/sagemaker/Endpoints/gen3d-test-async", 1],
    ]);
    const text = renderRemains({ color: false }, report);
    expect(text).not.toMatch(/nothing .*is left/i);
    expect(text).toContain("ECR repository gen3d: 2 image(s)");
    expect(text).toContain(
      "s3://gen3d-test-bucket/gen3d/output/: 1 object(s) — to remove: gen3d destroy --delete-s3",
    );
    expect(text).toContain(
      "aws logs delete-log-group --log-group-name /aws/sagemaker/Endpoints/gen3d-test-async",
    );
    const saved = await readState(ctx.state.file);
    expect((saved?.artifacts.teardown as { remains?: string[] } | undefined)?.remains).toHaveLength(4);
  });

  it("reads every page of SageMaker's lists: a model on the second page is still found", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    const sagemaker = mockClient(SageMakerClient);
    try {
      sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });
      sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [] });
      sagemaker
        .on(ListModelsCommand)
        .resolvesOnce({
          Models: [{ ModelName: "gen3d-test-a", ModelArn: "a", CreationTime: new Date() }],
          NextToken: "2",
        })
        .resolvesOnce({ Models: [{ ModelName: "gen3d-test-b", ModelArn: "b", CreationTime: new Date() }] });
      expect(await listSagemakerLeftovers(ctx)).toEqual(["model gen3d-test-a", "model gen3d-test-b"]);
      // The second page was asked for: the paginator passed the first page's NextToken on.
      expect(sagemaker.commandCalls(ListModelsCommand)).toHaveLength(2);
    } finally {
      sagemaker.restore();
    }
  });
});

describe("gen3d status --live", () => {
  it("shows no drift right after a deploy, and marks drift when AWS changes behind gen3d's back", async () => {
    const ctx = await deployed();
    const clean = await liveStatus(ctx);
    expect(clean.drift).toBe(0);
    expect(clean.rows.find((r) => r.resource === "endpoint")?.actual).toBe(
      "InService, 1 instance(s) (desired 1)",
    );

    await (await ctx.aws.sagemaker()).send(
      new DeleteModelCommand({ ModelName: ctx.state.state.artifacts.modelName }),
    );
    await (await ctx.aws.sagemaker()).send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: "gen3d-test-async",
        DesiredWeightsAndCapacities: [{ VariantName: "AllTraffic", DesiredInstanceCount: 0 }],
      }),
    );
    const drifted = await liveStatus(ctx);
    expect(drifted.rows.filter((r) => r.drift).map((r) => [r.resource, r.actual])).toEqual([
      ["model", "missing"],
    ]);
    expect(drifted.rows.find((r) => r.resource === "endpoint")?.actual).toBe(
      "InService, 0 instance(s) (desired 0)",
    );
    const text = renderLiveStatus(ctx.io, drifted);
    expect(text).toMatch(/model\s+gen3d-test-\S+\s+missing\s+drift/);
    expect(text).toMatch(/1 drifted/);
    expect(
      ctx.log
        .since(0)
        .filter(
          (c) => /Delete|Update/.test(c) && !c.startsWith("SageMaker:DeleteModel") && !c.includes("Weights"),
        ),
    ).toEqual([]);
  });
});

describe("gen3d logs", () => {
  it("prints the endpoint's log lines, oldest first, across streams", async () => {
    const ctx = await deployed();
    const logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint });
    const group = "/aws/sagemaker/Endpoints/gen3d-test-async";
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    const t = Date.now() - 60_000;
    for (const [stream, offset, message] of [
      ["AllTraffic/i-1", 2, "second"],
      ["AllTraffic/i-2", 1, "first"],
    ] as const) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          logEvents: [{ timestamp: t + offset, message }],
        }),
      );
    }
    const result = await readLogs(ctx, { since: 10 });
    expect(result).toMatchObject({ group, lines: 2, found: true });
    expect(ctx.stdout.join("")).toMatch(/\[i-2\] first\n.*\[i-1\] second\n$/);
  });

  it("with --follow picks up new lines and ends cleanly on Ctrl-C", async () => {
    const ctx = await deployed();
    const logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint });
    const group = "/aws/sagemaker/Endpoints/gen3d-test-async";
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "AllTraffic/i-1" }));
    let polls = 0;
    ctx.clock.sleep = async (_ms, signal) => {
      polls += 1;
      if (polls === 1) {
        await logs.send(
          new PutLogEventsCommand({
            logGroupName: group,
            logStreamName: "AllTraffic/i-1",
            logEvents: [{ timestamp: Date.now(), message: "late line" }],
          }),
        );
      }
      if (polls === 3) ctx.abort.abort();
      if (signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
    };
    const result = await readLogs(ctx, { follow: true, since: 5 });
    expect(result.lines).toBe(1);
    expect(ctx.stdout.join("")).toMatch(/late line/);
  });

  it("says so when the endpoint has no log group", async () => {
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    const result = await readLogs(ctx, {});
    expect(result.found).toBe(false);
    expect(ctx.stderr.join("")).toMatch(
      /log group \/aws\/sagemaker\/Endpoints\/gen3d-test-async does not exist/,
    );
  });
});
