import type { AwsClients } from "../adapters/aws.js";
import { awsErrorName } from "../adapters/aws-errors.js";
import type { Gen3dConfig } from "../config/schema.js";
import { isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";

const ID = "aws.pass-role";
const TITLE = "caller may pass the execution role to SageMaker (iam:PassRole)";

/**
 * The IAM ARN that SimulatePrincipalPolicy accepts for the caller: a user or role ARN as is; an
 * assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`) as its role, whose ARN
 * (with its path) GetRole gives; undefined for the root user, which needs no grant.
 */
export async function simulationPrincipal(
  callerArn: string,
  aws: AwsClients,
  signal: AbortSignal,
): Promise<string | undefined> {
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (!assumed) return /:root$/.test(callerArn) ? undefined : callerArn;
  const [, partition, account, roleName] = assumed;
  try {
    const { GetRoleCommand } = await import("@aws-sdk/client-iam");
    const role = await (await aws.iam()).send(new GetRoleCommand({ RoleName: roleName }), {
      abortSignal: signal,
    });
    if (role.Role?.Arn) return role.Role.Arn;
  } catch (error) {
    if (isAbort(error)) throw error;
  }
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * CreateModel fails without iam:PassRole on the execution role; phase 1 asks IAM's policy
 * simulator (iam:SimulatePrincipalPolicy, with iam:PassedToService = sagemaker.amazonaws.com).
 * Where the simulator may not be called, or does not answer, the gate says "not checked".
 */
export async function passRoleGate(
  config: Gen3dConfig,
  aws: AwsClients,
  caller: { arn: string },
  signal: AbortSignal,
): Promise<GateResult> {
  const role = config.executionRoleArn;
  try {
    const principal = await simulationPrincipal(caller.arn, aws, signal);
    if (principal === undefined)
      return gate(ID, TITLE, "pass", `${caller.arn} is the account root, which may pass any role`);
    const { SimulatePrincipalPolicyCommand } = await import("@aws-sdk/client-iam");
    const out = await (await aws.iam()).send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: principal,
        ActionNames: ["iam:PassRole"],
        ResourceArns: [role],
        ContextEntries: [
          {
            ContextKeyName: "iam:PassedToService",
            ContextKeyType: "string",
            ContextKeyValues: ["sagemaker.amazonaws.com"],
          },
        ],
      }),
      { abortSignal: signal },
    );
    const decision = out.EvaluationResults?.[0]?.EvalDecision;
    if (decision === undefined)
      return gate(
        ID,
        TITLE,
        "not-checked",
        "the policy simulator gave no decision; iam:PassRole not checked",
      );
    const evidence = { principal, role, decision };
    return decision === "allowed"
      ? gate(ID, TITLE, "pass", `${principal} may pass ${role} to sagemaker.amazonaws.com`, { evidence })
      : gate(
          ID,
          TITLE,
          "fail",
          `${principal} may not pass ${role} to SageMaker (${decision}): CreateModel would fail`,
          {
            hint: `Allow iam:PassRole on ${role} for the caller (with "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}).`,
            evidence,
          },
        );
  } catch (error) {
    if (isAbort(error)) throw error;
    return gate(
      ID,
      TITLE,
      "not-checked",
      `iam:SimulatePrincipalPolicy is not available to the caller (${awsErrorName(error)}); iam:PassRole on ${role} not checked`,
      {
        hint: "CreateModel (phase 5) needs iam:PassRole on the execution role; allow iam:SimulatePrincipalPolicy to have preflight check it.",
      },
    );
  }
}
