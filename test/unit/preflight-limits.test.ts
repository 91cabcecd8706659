/**
 * Phase 1's AWS gates against answers moto cannot give: PassRole per the policy simulator, a quota
 * with no applied value, the instances an update needs, a trust policy with a single Statement.
 */
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import {
  GetAWSDefaultServiceQuotaCommand,
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createAccount } from "../../src/adapters/account.js";
import type { AwsClients } from "../../src/adapters/aws.js";
import { awsGates } from "../../src/checks/aws-account.js";
import { parseConfig } from "../../src/config/load.js";
import { validConfig } from "../support/project.js";

const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);
const s3 = mockClient(S3Client);
const quotas = mockClient(ServiceQuotasClient);
const sagemaker = mockClient(SageMakerClient);
const aws = {
  region: "us-east-1",
  endpoint: undefined,
  sts: async () => new STSClient({ region: "us-east-1" }),
  iam: async () => new IAMClient({ region: "us-east-1" }),
  s3: async () => new S3Client({ region: "us-east-1" }),
  quotas: async () => new ServiceQuotasClient({ region: "us-east-1" }),
  sagemaker: async () => new SageMakerClient({ region: "us-east-1" }),
} as unknown as AwsClients;
const QUOTA = "ml.g6e.xlarge for endpoint usage";
const config = parseConfig(
  validConfig({ instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 2 } }),
  "x",
);
const trustOne = encodeURIComponent(
  JSON.stringify({
    Version: "2012-10-17",
    // One statement object, not an array: valid IAM policy grammar.
    Statement: {
      Effect: "Allow",
      Principal: { Service: "sagemaker.amazonaws.com" },
      Action: "sts:AssumeRole",
    },
  }),
);

beforeEach(() => {
  for (const m of [sts, iam, s3, quotas, sagemaker]) m.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: "123456789012",
    Arn: "arn:aws:sts::123456789012:assumed-role/Deployer/ci-session",
    UserId: "AROA:ci-session",
  });
  iam.on(GetRoleCommand, { RoleName: "gen3d-sagemaker" }).resolves({
    Role: { Arn: config.executionRoleArn, AssumeRolePolicyDocument: trustOne } as never,
  });
  iam.on(GetRoleCommand, { RoleName: "Deployer" }).resolves({
    Role: { Arn: "arn:aws:iam::123456789012:role/teams/Deployer" } as never,
  });
  iam.on(SimulatePrincipalPolicyCommand).resolves({
    EvaluationResults: [{ EvalActionName: "iam:PassRole", EvalDecision: "allowed" }],
  });
  s3.on(HeadBucketCommand).resolves({});
  quotas
    .on(ListServiceQuotasCommand)
    .resolves({ Quotas: [{ QuotaName: QUOTA, Value: 4, QuotaCode: "L-1" }] });
  sagemaker
    .on(DescribeEndpointCommand)
    .rejects(Object.assign(new Error("Could not find endpoint"), { name: "ValidationException" }));
});

const byId = async () =>
  Object.fromEntries(
    (await awsGates(config, createAccount({ aws, signal: new AbortController().signal }))).map((g) => [
      g.id,
      g,
    ]),
  );

describe("execution role", () => {
  it("a trust policy whose Statement is a single object is valid", async () => {
    expect((await byId())["aws.execution-role"]?.status).toBe("pass");
  });
});

describe("iam:PassRole", () => {
  it("asks the policy simulator for the caller's role (assumed-role session → role ARN with its path)", async () => {
    const gate = (await byId())["aws.pass-role"];
    expect(gate?.status).toBe("pass");
    const input = iam.commandCalls(SimulatePrincipalPolicyCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      PolicySourceArn: "arn:aws:iam::123456789012:role/teams/Deployer",
      ActionNames: ["iam:PassRole"],
      ResourceArns: [config.executionRoleArn],
      ContextEntries: [
        {
          ContextKeyName: "iam:PassedToService",
          ContextKeyType: "string",
          ContextKeyValues: ["sagemaker.amazonaws.com"],
        },
      ],
    });
  });

  it("fails, naming the grant, when the simulator denies it", async () => {
    iam.on(SimulatePrincipalPolicyCommand).resolves({
      EvaluationResults: [{ EvalActionName: "iam:PassRole", EvalDecision: "implicitDeny" }],
    });
    const gate = (await byId())["aws.pass-role"];
    expect(gate).toMatchObject({ status: "fail", message: expect.stringMatching(/implicitDeny/) });
    expect(gate?.hint).toMatch(/iam:PassRole on arn:aws:iam::123456789012:role\/gen3d-sagemaker/);
  });

  it("says 'not checked', visibly, where the simulator may not be called", async () => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(
      Object.assign(new Error("not authorized to perform: iam:SimulatePrincipalPolicy"), {
        name: "AccessDenied",
      }),
    );
    const gate = (await byId())["aws.pass-role"];
    expect(gate).toMatchObject({
      status: "not-checked",
      message: expect.stringMatching(/AccessDenied.*not checked/),
    });
  });
});

describe("service quota", () => {
  it("falls back to the AWS default when the quota has no applied value", async () => {
    quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [] });
    quotas.on(ListAWSDefaultServiceQuotasCommand).resolves({
      Quotas: [
        { QuotaName: "ml.g5.xlarge for endpoint usage", QuotaCode: "L-0" },
        { QuotaName: QUOTA, QuotaCode: "L-6E869C2A" },
      ],
    });
    quotas
      .on(GetAWSDefaultServiceQuotaCommand, { ServiceCode: "sagemaker", QuotaCode: "L-6E869C2A" })
      .resolves({ Quota: { QuotaName: QUOTA, QuotaCode: "L-6E869C2A", Value: 1 } });
    const gate = (await byId())["aws.quota"];
    expect(gate).toMatchObject({
      status: "fail",
      message: `${QUOTA}: 1 (AWS default); needed 2: instance.maxCount`,
    });
    expect(gate?.hint).toMatch(/code L-6E869C2A\) to at least 2/);
  });

  it("counts the instances running now plus InitialInstanceCount while an update replaces them", async () => {
    sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: "gen3d-test-async",
      EndpointArn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/gen3d-test-async",
      EndpointConfigName: "gen3d-test-cfg-old",
      EndpointStatus: "InService",
      ProductionVariants: [{ VariantName: "AllTraffic", CurrentInstanceCount: 2, DesiredInstanceCount: 2 }],
    } as never);
    sagemaker.on(DescribeEndpointConfigCommand).resolves({
      EndpointConfigName: "gen3d-test-cfg-old",
      ProductionVariants: [{ VariantName: "AllTraffic", ModelName: "m", InstanceType: "ml.g6e.xlarge" }],
    } as never);
    quotas
      .on(ListServiceQuotasCommand)
      .resolves({ Quotas: [{ QuotaName: QUOTA, Value: 2, QuotaCode: "L-1" }] });
    const gate = (await byId())["aws.quota"];
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /: 2 \(applied\); needed 3: an update adds 1 instance\(s\).* to the 2 running/,
    );
  });
});
