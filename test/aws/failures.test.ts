/**
 * Failure paths moto cannot produce (access denied, quotas, capacity, timeouts), with
 * aws-sdk-client-mock standing in for the SDK. Each must end in a failed phase whose error names
 * the cause and the fix.
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, DescribeLogStreamsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateEndpointCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeModelCommand,
  SageMakerClient,
  SageMakerServiceException,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyEndpointFailure } from "../../src/checks/endpoint-failure.js";
import { modelPhase } from "../../src/phases/05-model.js";
import { endpointConfigPhase } from "../../src/phases/06-endpoint-config.js";
import { createDeployPhase } from "../../src/phases/07-deploy.js";
import { autoscalingPhase } from "../../src/phases/08-autoscaling.js";
import { deriveStartupTimeout } from "../../src/spec/sagemaker.js";
import { createTestContext, runThrough, testConfig } from "./support/context.js";

const sagemaker = mockClient(SageMakerClient);
const logs = mockClient(CloudWatchLogsClient);
const autoscaling = mockClient(ApplicationAutoScalingClient);
const cloudwatch = mockClient(CloudWatchClient);
const ENDPOINT = "http://127.0.0.1:9"; // never reached: every client is mocked

function awsError(name: string, message: string, status = 400) {
  return new SageMakerServiceException({
    name,
    message,
    $fault: "client",
    $metadata: { httpStatusCode: status },
  });
}

const notFound = (what: string) => awsError("ValidationException", `Could not find ${what}`);

beforeEach(() => {
  sagemaker.reset();
  logs.reset();
  autoscaling.reset();
  cloudwatch.reset();
});
afterEach(() => {
  sagemaker.reset();
});

async function contextAtPhase7() {
  const ctx = await createTestContext({ endpoint: ENDPOINT });
  await ctx.state.setArtifacts({ modelName: "gen3d-test-m", endpointConfigName: "gen3d-test-cfg-1" });
  return ctx;
}

describe("AWS errors become failed phases that name the permission or quota", () => {
  it("AccessDenied on CreateModel names sagemaker:CreateModel and iam:PassRole", async () => {
    sagemaker.on(DescribeModelCommand).rejects(notFound("model"));
    sagemaker
      .on(CreateModelCommand)
      .rejects(
        awsError(
          "AccessDeniedException",
          "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sagemaker:CreateModel",
          403,
        ),
      );
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    await expect(runThrough(ctx, [modelPhase])).rejects.toMatchObject({ code: "AWS_CALL_FAILED" });
    const error = ctx.state.phase(5).error;
    expect(error?.message).toMatch(/CreateModel gen3d-test-\S+ failed: AccessDeniedException/);
    expect(error?.hint).toMatch(/lacks `sagemaker:CreateModel \(and iam:PassRole on the execution role\)`/);
  });

  it("ResourceLimitExceeded on CreateEndpoint names the quota to raise", async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(notFound("endpoint"));
    sagemaker
      .on(CreateEndpointCommand)
      .rejects(
        awsError(
          "ResourceLimitExceeded",
          "The account-level service limit 'ml.g6e.xlarge for endpoint usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances.",
        ),
      );
    const ctx = await contextAtPhase7();
    await expect(runThrough(ctx, [createDeployPhase()])).rejects.toMatchObject({ code: "AWS_CALL_FAILED" });
    const error = ctx.state.phase(7).error;
    expect(error?.message).toMatch(/ResourceLimitExceeded/);
    expect(error?.hint).toMatch(/raise it in the Service Quotas console/);
  });

  it("AccessDenied while waiting stops the waiter at once instead of polling for an hour", async () => {
    sagemaker
      .on(DescribeEndpointCommand)
      .resolvesOnce({
        EndpointName: "gen3d-test-async",
        EndpointArn: "arn:x",
        EndpointStatus: "Creating",
        EndpointConfigName: "gen3d-test-cfg-1",
      })
      .rejects(
        awsError("AccessDeniedException", "not authorized to perform: sagemaker:DescribeEndpoint", 403),
      );
    const ctx = await contextAtPhase7();
    const started = Date.now();
    await expect(
      runThrough(ctx, [createDeployPhase({ minDelaySeconds: 0.05, maxDelaySeconds: 0.1 })]),
    ).rejects.toMatchObject({
      code: "AWS_CALL_FAILED",
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ctx.state.phase(7).error?.hint).toMatch(/sagemaker:DescribeEndpoint/);
  });

  it("a deploy that outlives timeouts.deploySeconds fails with DEPLOY_TIMEOUT and says resume keeps waiting", async () => {
    sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: "gen3d-test-async",
      EndpointArn: "arn:x",
      EndpointStatus: "Creating",
      EndpointConfigName: "gen3d-test-cfg-1",
    });
    const config = testConfig(ENDPOINT, (raw) => {
      raw.timeouts = { deploySeconds: 1 };
    });
    const ctx = await createTestContext({ endpoint: ENDPOINT, config });
    await ctx.state.setArtifacts({ modelName: "m", endpointConfigName: "gen3d-test-cfg-1" });
    await expect(
      runThrough(ctx, [createDeployPhase({ minDelaySeconds: 0.2, maxDelaySeconds: 0.3 })]),
    ).rejects.toMatchObject({
      code: "DEPLOY_TIMEOUT",
    });
    const error = ctx.state.phase(7).error;
    expect(error?.message).toMatch(/still Creating after 1 s/);
    expect(error?.hint).toMatch(/gen3d resume` adopts the endpoint and keeps waiting/);
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
  });

  it("insufficient capacity reported by a Failed endpoint suggests another instance type or region", async () => {
    const failed = {
      EndpointName: "gen3d-test-async",
      EndpointArn: "arn:x",
      EndpointStatus: "Failed" as const,
      EndpointConfigName: "gen3d-test-cfg-1",
      FailureReason:
        "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error",
    };
    // An earlier attempt left it Failed: phase 7 deletes it, creates it again, and the new one fails too.
    sagemaker
      .on(DescribeEndpointCommand)
      .resolvesOnce(failed)
      .rejectsOnce(notFound("endpoint"))
      .resolves(failed);
    sagemaker.on(DeleteEndpointCommand).resolves({});
    sagemaker.on(CreateEndpointCommand).resolves({ EndpointArn: "arn:x" });
    logs.on(DescribeLogStreamsCommand).rejects(
      Object.assign(new Error("The specified log group does not exist."), {
        name: "ResourceNotFoundException",
      }),
    );
    const ctx = await contextAtPhase7();
    await expect(
      runThrough(ctx, [createDeployPhase({ minDelaySeconds: 0.05, maxDelaySeconds: 0.1 })]),
    ).rejects.toMatchObject({
      code: "ENDPOINT_FAILED",
    });
    expect(sagemaker.commandCalls(DeleteEndpointCommand)).toHaveLength(1);
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(1);
    const error = ctx.state.phase(7).error;
    expect(error?.message).toMatch(/no free capacity/);
    expect(error?.hint).toMatch(
      /another instance type than ml\.g6e\.xlarge or another region than us-east-1/,
    );
    expect(error?.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FailureReason: Unable to provision/),
        expect.stringMatching(/log group .* does not exist/),
      ]),
    );
  });

  it("AccessDenied on RegisterScalableTarget names the permission", async () => {
    autoscaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
    autoscaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: [] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    autoscaling
      .on(RegisterScalableTargetCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    await ctx.state.setArtifacts({ endpointName: "gen3d-test-async" });
    await expect(runThrough(ctx, [autoscalingPhase])).rejects.toMatchObject({ code: "AWS_CALL_FAILED" });
    expect(ctx.state.phase(8).error?.hint).toMatch(/application-autoscaling:RegisterScalableTarget/);
  });

  it("phase 6 without phase 3's measurement or a configured timeout names phase 3", async () => {
    const ctx = await createTestContext({ endpoint: ENDPOINT });
    await ctx.state.setPhase(3, { status: "passed", attempts: 1, evidence: {} });
    await ctx.state.setArtifacts({ modelName: "gen3d-test-m", localTest: undefined });
    await expect(runThrough(ctx, [endpointConfigPhase])).rejects.toMatchObject({ code: "UPSTREAM_MISSING" });
    expect(ctx.state.phase(6).error?.message).toMatch(/phase 3 \(local test\)/);
    expect(ctx.state.phase(6).error?.hint).toMatch(/timeouts\.containerStartupHealthCheckSeconds/);
    expect(sagemaker.calls()).toHaveLength(0);
  });

  it("VolumeSizeInGB on an instance with local NVMe storage is refused before any call", async () => {
    const config = testConfig(ENDPOINT, (raw) => {
      raw.instance = { type: "ml.g5.2xlarge", volumeSizeGb: 100 };
    });
    const ctx = await createTestContext({ endpoint: ENDPOINT, config });
    await ctx.state.setArtifacts({ modelName: "gen3d-test-m" });
    await expect(runThrough(ctx, [endpointConfigPhase])).rejects.toMatchObject({
      code: "CONFIG_VOLUME_UNSUPPORTED",
    });
    expect(sagemaker.calls()).toHaveLength(0);
  });
});

describe("endpoint failure classifier", () => {
  const context = {
    instanceType: "ml.g5.2xlarge",
    region: "eu-west-1",
    startupTimeoutSeconds: 300,
    roleArn: "arn:aws:iam::1:role/r",
  };
  const cases: [string, string | undefined, string[], RegExp][] = [
    [
      "image-architecture",
      "The primary container for production variant AllTraffic did not pass the ping health check.",
      ["exec /usr/local/bin/serve: exec format error"],
      /--platform linux\/amd64/,
    ],
    [
      "startup-timeout",
      "The primary container for production variant AllTraffic did not pass the ping health check. Please check CloudWatch logs for this endpoint.",
      ["loading weights 40%"],
      /containerStartupHealthCheckSeconds above 300/,
    ],
    [
      "gpu-out-of-memory",
      undefined,
      ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.5 GiB"],
      /more GPU memory than ml\.g5\.2xlarge/,
    ],
    [
      "insufficient-capacity",
      "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error.",
      [],
      /another instance type than ml\.g5\.2xlarge or another region than eu-west-1/,
    ],
    [
      "quota",
      "ResourceLimitExceeded: The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 Instances",
      [],
      /"ml\.g5\.2xlarge for endpoint usage"/,
    ],
    [
      "ecr-access",
      "The role 'arn:aws:iam::1:role/r' does not have BatchGetImage permission for the image: '1.dkr.ecr.eu-west-1.amazonaws.com/gen3d@sha256:ab'. AccessDenied",
      [],
      /ecr:BatchGetImage/,
    ],
    [
      "s3-access",
      "Could not access model data at s3://bucket/gen3d/models/. Please ensure that the role has s3:GetObject permissions. AccessDenied",
      [],
      /s3:GetObject and s3:ListBucket on the model data prefix/,
    ],
    ["unknown", "Something else entirely", ["ok"], /reproduce/],
  ];
  for (const [cause, reason, lines, hint] of cases) {
    it(`classifies ${cause}`, () => {
      const diagnosis = classifyEndpointFailure(reason, lines, context);
      expect(diagnosis.cause).toBe(cause);
      expect(diagnosis.hint).toMatch(hint);
    });
  }

  it("derives the startup health-check timeout from the measurement, with margin, in whole minutes, clamped", () => {
    expect(deriveStartupTimeout(0)).toBe(180);
    expect(deriveStartupTimeout(42)).toBe(300);
    expect(deriveStartupTimeout(45)).toBe(300);
    expect(deriveStartupTimeout(600)).toBe(1380);
    expect(deriveStartupTimeout(5000)).toBe(3600);
  });
});
