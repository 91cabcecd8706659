import { z } from "zod";
import type { Account } from "../adapters/account.js";
import { awsCli } from "../config/aws-cli.js";
import type { Gen3dConfig } from "../config/schema.js";
import { type GateResult, gate } from "../engine/gate.js";
import { guarded } from "./aws-gate.js";
import { passRoleGate } from "./aws-passrole.js";
import { quotaGate } from "./aws-quota.js";

export { describeAwsError } from "./aws-gate.js";

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

/** A gate's id and title, bound once: each gate below says either only with its verdict. */
function gateOf(id: string, title: string) {
  return {
    run: (body: () => Promise<GateResult>, onError?: (error: unknown) => GateResult | undefined) =>
      guarded(id, title, body, onError),
    pass: (message: string, evidence: unknown) => gate(id, title, "pass", message, { evidence }),
    fail: (message: string, hint: string, evidence?: unknown) =>
      gate(id, title, "fail", message, { hint, ...(evidence === undefined ? {} : { evidence }) }),
  };
}

/** The execution role exists, in the caller's account or another, and lets SageMaker assume it. */
async function executionRoleGate(config: Gen3dConfig, account: Account, callerAccount: string) {
  const roleArn = config.executionRoleArn;
  const roleAccount = roleArn.split(":")[4];
  const roleName = roleArn.split("/").at(-1) as string;
  const g = gateOf("aws.execution-role", "execution role exists and trusts SageMaker");
  return g.run(async () => {
    const role = await account.getRole(roleName);
    if (!role)
      return g.fail(
        `IAM role ${roleName} does not exist in account ${callerAccount}`,
        "Create it (trusting sagemaker.amazonaws.com, with AmazonSageMakerFullAccess or narrower S3/ECR/CloudWatch rights), or fix executionRoleArn.",
      );
    const ok = Boolean(role.trustPolicy) && trustsSageMaker(role.trustPolicy as string);
    const note =
      roleAccount !== callerAccount ? ` (role is in account ${roleAccount}, caller in ${callerAccount})` : "";
    const evidence = { roleArn: role.arn, trustsSageMaker: ok };
    return ok
      ? g.pass(`${roleArn} trusts sagemaker.amazonaws.com${note}`, evidence)
      : g.fail(
          `${roleArn} does not let sagemaker.amazonaws.com assume it${note}`,
          'Add a trust statement: {"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}.',
          evidence,
        );
  });
}

async function bucketGate(config: Gen3dConfig, account: Account) {
  const bucket = config.s3.bucket;
  const g = gateOf("aws.bucket", "S3 bucket reachable");
  return g.run(async () => {
    const access = await account.bucketAccess(bucket);
    if (access === "missing")
      return g.fail(
        `bucket ${bucket} does not exist`,
        `Create it in ${config.aws.region} (\`${awsCli(config, `s3 mb s3://${bucket}`)}\`), or fix s3.bucket.`,
      );
    if (access === "denied")
      return g.fail(
        `access to bucket ${bucket} is denied`,
        "Allow s3:ListBucket/GetObject/PutObject on it for the caller and the execution role.",
      );
    return g.pass(`s3://${bucket} answers HeadBucket`, { bucket });
  });
}

/** AWS identity, execution role, bucket and quota gates of phase 1, over what `account` reads. */
export async function awsGates(config: Gen3dConfig, account: Account): Promise<GateResult[]> {
  const g = gateOf("aws.identity", "AWS credentials work");
  const region = config.aws.region;
  const via = account.endpoint ? ` via ${account.endpoint}` : "";
  const identityGate = await g.run(async () => {
    const who = identity.parse(await account.callerIdentity());
    return g.pass(`${who.Arn} in ${region}${via}`, {
      account: who.Account,
      arn: who.Arn,
      region,
      endpoint: account.endpoint,
    });
  });
  // Everything below would fail for the same reason.
  if (identityGate.status === "fail") return [identityGate];
  const caller = identityGate.evidence as { account: string; arn: string };
  return [
    identityGate,
    await executionRoleGate(config, account, caller.account),
    await bucketGate(config, account),
    await passRoleGate(config, account, caller),
    await quotaGate(config, account),
  ];
}
