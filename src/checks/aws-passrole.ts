import type { Account } from "../adapters/account.js";
import type { Gen3dConfig } from "../config/schema.js";
import { isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";
import { guarded, sdkErrorName } from "./aws-gate.js";

const ID = "aws.pass-role";
const TITLE = "caller may pass the execution role to SageMaker (iam:PassRole)";
const SAGEMAKER = "sagemaker.amazonaws.com";

/**
 * The IAM ARN that SimulatePrincipalPolicy accepts for the caller: a user or role ARN as is; an
 * assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`) as its role, whose ARN
 * (with its path) GetRole gives; undefined for the root user, which needs no grant.
 */
export async function simulationPrincipal(
  callerArn: string,
  account: Pick<Account, "getRole">,
): Promise<string | undefined> {
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (!assumed) return /:root$/.test(callerArn) ? undefined : callerArn;
  const [, partition, accountId, roleName = ""] = assumed;
  try {
    const role = await account.getRole(roleName);
    if (role?.arn) return role.arn;
  } catch (error) {
    if (isAbort(error)) throw error;
  }
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/**
 * CreateModel fails without iam:PassRole on the execution role; phase 1 asks IAM's policy
 * simulator (iam:SimulatePrincipalPolicy, with iam:PassedToService = sagemaker.amazonaws.com).
 * Where the simulator may not be called, or does not answer, the gate says "not checked".
 */
export async function passRoleGate(
  config: Gen3dConfig,
  account: Pick<Account, "getRole" | "simulatePassRole">,
  caller: { arn: string },
): Promise<GateResult> {
  const role = config.executionRoleArn;
  const unanswered = (error: unknown) =>
    gate(
      ID,
      TITLE,
      "not-checked",
      `iam:SimulatePrincipalPolicy is not available to the caller (${sdkErrorName(error)}); iam:PassRole on ${role} not checked`,
      {
        hint: "CreateModel (phase 5) needs iam:PassRole on the execution role; allow iam:SimulatePrincipalPolicy to have preflight check it.",
      },
    );
  return guarded(
    ID,
    TITLE,
    async () => {
      const principal = await simulationPrincipal(caller.arn, account);
      if (principal === undefined)
        return gate(ID, TITLE, "pass", `${caller.arn} is the account root, which may pass any role`);
      const decision = await account.simulatePassRole(principal, role, SAGEMAKER);
      if (decision === undefined)
        return gate(
          ID,
          TITLE,
          "not-checked",
          "the policy simulator gave no decision; iam:PassRole not checked",
        );
      const evidence = { principal, role, decision };
      return decision === "allowed"
        ? gate(ID, TITLE, "pass", `${principal} may pass ${role} to ${SAGEMAKER}`, { evidence })
        : gate(
            ID,
            TITLE,
            "fail",
            `${principal} may not pass ${role} to SageMaker (${decision}): CreateModel would fail`,
            {
              hint: `Allow iam:PassRole on ${role} for the caller (with "Condition": {"StringEquals": {"iam:PassedToService": "${SAGEMAKER}"}}).`,
              evidence,
            },
          );
    },
    unanswered,
  );
}
