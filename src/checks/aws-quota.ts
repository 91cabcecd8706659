import type { Account, QuotaValue, RunningFleet } from "../adapters/account.js";
import type { Gen3dConfig } from "../config/schema.js";
import { isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";
import { endpointNameFor, VARIANT_NAME } from "../spec/sagemaker.js";
import { sdkErrorName } from "./aws-gate.js";

const ID = "aws.quota";
const TITLE = "service quota for the instance type";

export interface QuotaNeed {
  needed: number;
  why: string;
}

/** SageMaker's quota on endpoints of the configured instance type. */
export function quotaName(config: Gen3dConfig): string {
  return `${config.instance.type} for endpoint usage`;
}

/**
 * Instances of the type the deployment can hold at once. Autoscaling goes up to maxCount; an
 * UpdateEndpoint provisions the new fleet (InitialInstanceCount) before it removes the old one,
 * so while an endpoint of the same type runs N instances an update needs N + InitialInstanceCount.
 */
export function quotaNeed(config: Gen3dConfig, running?: RunningFleet): QuotaNeed {
  const { maxCount, initialCount, type } = config.instance;
  const update = running?.instanceType === type ? running.instances + initialCount : 0;
  return update > maxCount
    ? {
        needed: update,
        why: `an update adds ${initialCount} instance(s) (instance.initialCount) to the ${running?.instances} running before it removes them`,
      }
    : { needed: maxCount, why: "instance.maxCount" };
}

/** The gate over what Service Quotas and SageMaker answered (pure: recorded evidence in, result out). */
export function quotaVerdict(
  config: Gen3dConfig,
  quota: QuotaValue | undefined,
  running?: RunningFleet,
): GateResult {
  const name = quotaName(config);
  if (!quota) {
    return gate(ID, TITLE, "not-checked", `quota "${name}" was not listed; not checked`, {
      hint: "Check it in the Service Quotas console; a quota of 0 makes CreateEndpoint fail with ResourceLimitExceeded.",
    });
  }
  const need = quotaNeed(config, running);
  const ok = quota.value >= need.needed;
  return gate(
    ID,
    TITLE,
    ok ? "pass" : "fail",
    `${name}: ${quota.value} (${quota.source}); needed ${need.needed}: ${need.why}`,
    {
      hint: ok
        ? undefined
        : `Request an increase of "${name}" (Service Quotas console${quota.code ? `, code ${quota.code}` : ""}) to at least ${need.needed}, or lower instance.maxCount / instance.initialCount.`,
      evidence: { quotaName: name, ...quota, needed: need.needed, why: need.why },
    },
  );
}

/** SageMaker's "<type> for endpoint usage" quota must cover what the deployment can hold at once. */
export async function quotaGate(
  config: Gen3dConfig,
  account: Pick<Account, "quotaValue" | "runningFleet">,
): Promise<GateResult> {
  const name = quotaName(config);
  let quota: QuotaValue | undefined;
  try {
    quota = await account.quotaValue(name);
  } catch (error) {
    if (isAbort(error)) throw error;
    return gate(
      ID,
      TITLE,
      "not-checked",
      `Service Quotas did not answer (${sdkErrorName(error)}); not checked`,
      {
        hint: `Check "${name}" in the Service Quotas console before deploying.`,
      },
    );
  }
  const running = quota && (await account.runningFleet(endpointNameFor(config), VARIANT_NAME));
  return quotaVerdict(config, quota, running);
}
