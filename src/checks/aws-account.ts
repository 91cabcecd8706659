import { z } from "zod";
import type { AwsClients } from "../adapters/aws.js";
import { awsFailure } from "../adapters/aws-errors.js";
import { awsCli } from "../config/aws-cli.js";
import type { Gen3dConfig } from "../config/schema.js";
import { type Gen3dError, isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";
import { passRoleGate } from "./aws-passrole.js";
import { quotaGate } from "./aws-quota.js";

/** A short, actionable reading of an SDK error, for a gate's message and hint. */
export function describeAwsError(error: unknown, action = "AWS call"): { message: string; hint?: string } {
  const failure = awsFailure(error, action) as Gen3dError;
  return { message: failure.message, hint: failure.hint };
}

const identity = z.object({ Account: z.string().regex(/^\d{12}$/), Arn: z.string(), UserId: z.string() });

const trustStatement = z.object({
  Effect: z.string(),
  Principal: z
    .union([
      z.string(),
      z.object({ Service: z.union([z.string(), z.array(z.string())]).optional() }).passthrough(),
    ])
    .optional(),
  Action: z.union([z.string(), z.array(z.string())]).optional(),
});
/** IAM's policy grammar lets `Statement` be one statement object as well as an array of them. */
const trustPolicy = z.object({ Statement: z.union([trustStatement, z.array(trustStatement)]) });

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function trustsSageMaker(document: string): boolean {
  const parsed = trustPolicy.safeParse(JSON.parse(decodeURIComponent(document)));
  if (!parsed.success) return false;
  return asArray(parsed.data.Statement).some(
    (s) =>
      s.Effect === "Allow" &&
      typeof s.Principal === "object" &&
      asArray(s.Principal.Service).includes("sagemaker.amazonaws.com") &&
      asArray(s.Action).some((a) => a === "sts:AssumeRole" || a === "sts:*" || a === "*"),
  );
}

async function guarded(
  id: string,
  title: string,
  body: () => Promise<GateResult>,
  onError?: (error: unknown) => GateResult | undefined,
): Promise<GateResult> {
  try {
    return await body();
  } catch (error) {
    if (isAbort(error)) throw error;
    const special = onError?.(error);
    if (special) return special;
    const { message, hint } = describeAwsError(error, title);
    return gate(id, title, "fail", message, { hint });
  }
}

/** AWS identity, execution role, bucket and quota gates of phase 1. */
export async function awsGates(
  config: Gen3dConfig,
  aws: AwsClients,
  signal: AbortSignal,
): Promise<GateResult[]> {
  const results: GateResult[] = [];
  const identityGate = await guarded("aws.identity", "AWS credentials work", async () => {
    const { GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
    const who = identity.parse(
      await (await aws.sts()).send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
    );
    return gate(
      "aws.identity",
      "AWS credentials work",
      "pass",
      `${who.Arn} in ${config.aws.region}${aws.endpoint ? ` via ${aws.endpoint}` : ""}`,
      {
        evidence: { account: who.Account, arn: who.Arn, region: config.aws.region, endpoint: aws.endpoint },
      },
    );
  });
  results.push(identityGate);
  if (identityGate.status === "fail") return results; // everything below would fail for the same reason

  const account = (identityGate.evidence as { account: string }).account;
  const roleAccount = config.executionRoleArn.split(":")[4];
  const roleName = config.executionRoleArn.split("/").at(-1) as string;
  results.push(
    await guarded(
      "aws.execution-role",
      "execution role exists and trusts SageMaker",
      async () => {
        const { GetRoleCommand } = await import("@aws-sdk/client-iam");
        const role = await (await aws.iam()).send(new GetRoleCommand({ RoleName: roleName }), {
          abortSignal: signal,
        });
        const document = role.Role?.AssumeRolePolicyDocument ?? "";
        const ok = document !== "" && trustsSageMaker(document);
        const note =
          roleAccount !== account ? ` (role is in account ${roleAccount}, caller in ${account})` : "";
        return gate(
          "aws.execution-role",
          "execution role exists and trusts SageMaker",
          ok ? "pass" : "fail",
          ok
            ? `${config.executionRoleArn} trusts sagemaker.amazonaws.com${note}`
            : `${config.executionRoleArn} does not let sagemaker.amazonaws.com assume it${note}`,
          {
            hint: ok
              ? undefined
              : 'Add a trust statement: {"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}.',
            evidence: { roleArn: role.Role?.Arn, trustsSageMaker: ok },
          },
        );
      },
      (error) =>
        (error as { name?: string }).name === "NoSuchEntityException"
          ? gate(
              "aws.execution-role",
              "execution role exists and trusts SageMaker",
              "fail",
              `IAM role ${roleName} does not exist in account ${account}`,
              {
                hint: "Create it (trusting sagemaker.amazonaws.com, with AmazonSageMakerFullAccess or narrower S3/ECR/CloudWatch rights), or fix executionRoleArn.",
              },
            )
          : undefined,
    ),
  );
  results.push(
    await guarded(
      "aws.bucket",
      "S3 bucket reachable",
      async () => {
        const { HeadBucketCommand } = await import("@aws-sdk/client-s3");
        await (await aws.s3()).send(new HeadBucketCommand({ Bucket: config.s3.bucket }), {
          abortSignal: signal,
        });
        return gate(
          "aws.bucket",
          "S3 bucket reachable",
          "pass",
          `s3://${config.s3.bucket} answers HeadBucket`,
          { evidence: { bucket: config.s3.bucket } },
        );
      },
      (error) => {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) {
          return gate(
            "aws.bucket",
            "S3 bucket reachable",
            "fail",
            `bucket ${config.s3.bucket} does not exist`,
            {
              hint: `Create it in ${config.aws.region} (\`${awsCli(config, `s3 mb s3://${config.s3.bucket}`)}\`), or fix s3.bucket.`,
            },
          );
        }
        if (status === 403) {
          return gate(
            "aws.bucket",
            "S3 bucket reachable",
            "fail",
            `access to bucket ${config.s3.bucket} is denied`,
            {
              hint: "Allow s3:ListBucket/GetObject/PutObject on it for the caller and the execution role.",
            },
          );
        }
        return undefined;
      },
    ),
  );
  results.push(await passRoleGate(config, aws, identityGate.evidence as { arn: string }, signal));
  results.push(await quotaGate(config, aws, signal));
  return results;
}
