import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { ListServiceQuotasCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createAccount } from "../../src/adapters/account.js";
import type { AwsClients } from "../../src/adapters/aws.js";
import { awsGates, trustsSageMaker } from "../../src/checks/aws-account.js";
import { dockerDaemonGate } from "../../src/checks/docker-daemon.js";
import { instanceFitGate } from "../../src/checks/instance-fit.js";
import { modelGates } from "../../src/checks/models.js";
import { parseConfig } from "../../src/config/load.js";
import { dockerDown, dockerUp } from "../support/fakes.js";
import { makeProject, validConfig } from "../support/project.js";
import { SAM3D_MODEL } from "../support/seed-mistakes.js";

const sam3d = SAM3D_MODEL;

describe("instance fit", () => {
  it("fails ml.g5.2xlarge with SAM 3D Objects enabled and names instances that fit", () => {
    const config = parseConfig(
      validConfig({
        instance: { type: "ml.g5.2xlarge" },
        models: [...(validConfig().models as object[]), sam3d],
      }),
      "x",
    );
    const result = instanceFitGate(config);
    expect(result.status).toBe("fail");
    expect(result.message).toMatch(/ml\.g5\.2xlarge has 24 GB per GPU.*need 38 GB.*sam3d alone needs 32 GB/);
    expect(result.hint).toMatch(/ml\.g6e\.xlarge/);
    expect(result.hint).not.toMatch(/ml\.g5\./);
  });

  it("passes when the GPU holds every enabled model, ignoring disabled ones", () => {
    const disabled = { ...sam3d, enabled: false };
    const config = parseConfig(
      validConfig({
        instance: { type: "ml.g5.2xlarge" },
        models: [...(validConfig().models as object[]), disabled],
      }),
      "x",
    );
    expect(instanceFitGate(config).status).toBe("pass");
  });
});

describe("model gates", () => {
  it("pass a present model of the expected size and fail missing, empty or wrong-size ones", async () => {
    const dir = await makeProject({
      files: { "container/models/small/a.bin": "x".repeat(10), "container/models/empty/.keep": "" },
    });
    const config = parseConfig(
      validConfig({
        models: [
          ...(validConfig().models as object[]),
          { name: "gone", localPath: "container/models/gone", expectedSizeBytes: 10, gpuMemoryGb: 1 },
          { name: "empty", localPath: "container/models/empty", expectedSizeBytes: 10, gpuMemoryGb: 1 },
          { name: "small", localPath: "container/models/small", expectedSizeBytes: 1000, gpuMemoryGb: 1 },
        ],
      }),
      "x",
    );
    const gates = Object.fromEntries((await modelGates(config, dir)).map((g) => [g.id, g]));
    expect(gates["models.sam3"]?.status).toBe("pass");
    expect(gates["models.gone"]).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/does not exist/),
    });
    expect(gates["models.empty"]).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/is empty/),
    });
    expect(gates["models.small"]).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/holds 10 B .* expected 1000 B/),
    });
  });

  it("say where a known model's weights come from, and what files go in its directory", async () => {
    const dir = await makeProject({ withoutModels: true });
    const config = parseConfig(validConfig(), "x");
    const hint = (await modelGates(config, dir)).find((g) => g.id === "models.sam3")?.hint;
    expect(hint).toMatch(/Download the SAM 3 weights \(config\.json, model\.safetensors/);
    expect(hint).toMatch(/from Hugging Face facebook\/sam3 \(gated: accept the licence/);
  });
});

describe("docker daemon gate", () => {
  it("passes with the server version as evidence", async () => {
    const result = await dockerDaemonGate(dockerUp(), "linux");
    expect(result).toMatchObject({ status: "pass", evidence: { Version: "26.1.5", Arch: "amd64" } });
  });

  it.each([
    ["linux", /systemctl start docker/],
    ["darwin", /Docker Desktop/],
    ["win32", /WSL 2/],
  ] as const)("fails with %s advice when the daemon is down", async (platform, advice) => {
    const result = await dockerDaemonGate(dockerDown(), platform);
    expect(result.status).toBe("fail");
    expect(result.message).toMatch(/not reachable/);
    expect(result.hint).toMatch(advice);
  });
});

describe("AWS gates (SDK mocked)", () => {
  const sts = mockClient(STSClient);
  const iam = mockClient(IAMClient);
  const s3 = mockClient(S3Client);
  const quotas = mockClient(ServiceQuotasClient);
  const aws = {
    region: "us-east-1",
    endpoint: undefined,
    sts: async () => new STSClient({ region: "us-east-1" }),
    iam: async () => new IAMClient({ region: "us-east-1" }),
    s3: async () => new S3Client({ region: "us-east-1" }),
    quotas: async () => new ServiceQuotasClient({ region: "us-east-1" }),
  } as unknown as AwsClients;
  const config = parseConfig(validConfig(), "x");
  const trust = encodeURIComponent(
    JSON.stringify({
      Statement: [
        { Effect: "Allow", Principal: { Service: "sagemaker.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    }),
  );

  beforeEach(() => {
    for (const m of [sts, iam, s3, quotas]) m.reset();
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/dev", UserId: "AIDA" });
    iam
      .on(GetRoleCommand)
      .resolves({ Role: { Arn: config.executionRoleArn, AssumeRolePolicyDocument: trust } as never });
    iam
      .on(SimulatePrincipalPolicyCommand)
      .resolves({ EvaluationResults: [{ EvalActionName: "iam:PassRole", EvalDecision: "allowed" }] });
    s3.on(HeadBucketCommand).resolves({});
    quotas
      .on(ListServiceQuotasCommand)
      .resolves({ Quotas: [{ QuotaName: "ml.g6e.xlarge for endpoint usage", Value: 4, QuotaCode: "L-1" }] });
  });

  const byId = async () =>
    Object.fromEntries(
      (await awsGates(config, createAccount({ aws, signal: new AbortController().signal }))).map((g) => [
        g.id,
        g,
      ]),
    );

  it("pass with identity, trusted role, bucket, PassRole and quota as evidence", async () => {
    const gates = await byId();
    expect(Object.values(gates).map((g) => g.status)).toEqual(["pass", "pass", "pass", "pass", "pass"]);
    expect(gates["aws.quota"]?.message).toContain("ml.g6e.xlarge for endpoint usage: 4");
  });

  it("stop after identity when credentials are bad, with the fix", async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error("The security token included in the request is expired"), {
        name: "ExpiredToken",
      }),
    );
    const gates = await byId();
    expect(Object.keys(gates)).toEqual(["aws.identity"]);
    expect(gates["aws.identity"]?.hint).toMatch(/credentials/);
  });

  it("fail a role that does not trust SageMaker, and a missing role", async () => {
    iam.on(GetRoleCommand).resolves({
      Role: {
        AssumeRolePolicyDocument: encodeURIComponent(
          JSON.stringify({
            Statement: [
              { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
            ],
          }),
        ),
      } as never,
    });
    expect((await byId())["aws.execution-role"]).toMatchObject({
      status: "fail",
      hint: expect.stringContaining("sagemaker.amazonaws.com"),
    });
    iam.on(GetRoleCommand).rejects(Object.assign(new Error("no role"), { name: "NoSuchEntityException" }));
    expect((await byId())["aws.execution-role"]?.message).toMatch(/does not exist/);
  });

  it("fail a missing bucket and a quota below maxCount", async () => {
    s3.on(HeadBucketCommand).rejects(
      Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } }),
    );
    quotas
      .on(ListServiceQuotasCommand)
      .resolves({ Quotas: [{ QuotaName: "ml.g6e.xlarge for endpoint usage", Value: 0, QuotaCode: "L-1" }] });
    const gates = await byId();
    expect(gates["aws.bucket"]).toMatchObject({ status: "fail", hint: expect.stringContaining("aws s3 mb") });
    expect(gates["aws.quota"]).toMatchObject({
      status: "fail",
      hint: expect.stringContaining("Request an increase"),
    });
  });

  it("a suggested aws command carries --endpoint-url when aws.endpoint points at a local AWS", async () => {
    s3.on(HeadBucketCommand).rejects(
      Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } }),
    );
    const local = { ...config, aws: { ...config.aws, endpoint: "http://127.0.0.1:5050" } };
    const gates = Object.fromEntries(
      (await awsGates(local, createAccount({ aws, signal: new AbortController().signal }))).map((g) => [
        g.id,
        g,
      ]),
    );
    expect(gates["aws.bucket"]?.hint).toContain(
      `aws s3 mb s3://${config.s3.bucket} --endpoint-url http://127.0.0.1:5050`,
    );
    const { awsCli } = await import("../../src/config/aws-cli.js");
    expect(awsCli(config, "logs delete-log-group --log-group-name g")).toBe(
      "aws logs delete-log-group --log-group-name g",
    );
  });

  it("shows the quota as not checked where the API does not answer", async () => {
    quotas.on(ListServiceQuotasCommand).rejects(new Error("not implemented"));
    expect((await byId())["aws.quota"]?.status).toBe("not-checked");
  });

  it("reads trust policies in either encoding and shape", () => {
    expect(trustsSageMaker(trust)).toBe(true);
    expect(
      trustsSageMaker(
        JSON.stringify({
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: ["ec2.amazonaws.com", "sagemaker.amazonaws.com"] },
              Action: ["sts:AssumeRole"],
            },
          ],
        }),
      ),
    ).toBe(true);
  });
});
