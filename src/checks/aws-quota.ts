import type { AwsClients } from "../adapters/aws.js";
import { awsErrorName } from "../adapters/aws-errors.js";
import { describeEndpoint } from "../adapters/sagemaker-endpoint.js";
import type { Gen3dConfig } from "../config/schema.js";
import { isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";
import { endpointNameFor, VARIANT_NAME } from "../spec/sagemaker.js";

const ID = "aws.quota";
const TITLE = "service quota for the instance type";

export interface QuotaValue {
  value: number;
  code?: string;
  /** `applied`: the account's value (ListServiceQuotas); `AWS default`: no applied value exists. */
  source: "applied" | "AWS default";
}

/**
 * The quota's value. ListServiceQuotas lists applied values only, and leaves out a quota that has
 * none; then the AWS default applies, which GetAWSDefaultServiceQuota reads by the quota's code
 * (found in ListAWSDefaultServiceQuotas when the applied list does not name it).
 */
export async function quotaValue(
  aws: AwsClients,
  quotaName: string,
  signal: AbortSignal,
): Promise<QuotaValue | undefined> {
  const sq = await import("@aws-sdk/client-service-quotas");
  const client = await aws.quotas();
  let code: string | undefined;
  for await (const page of sq.paginateListServiceQuotas(
    { client },
    { ServiceCode: "sagemaker" },
    { abortSignal: signal },
  )) {
    const quota = page.Quotas?.find((q) => q.QuotaName === quotaName);
    if (!quota) continue;
    if (typeof quota.Value === "number")
      return { value: quota.Value, code: quota.QuotaCode, source: "applied" };
    code = quota.QuotaCode;
    break;
  }
  if (!code) {
    for await (const page of sq.paginateListAWSDefaultServiceQuotas(
      { client },
      { ServiceCode: "sagemaker" },
      { abortSignal: signal },
    )) {
      const quota = page.Quotas?.find((q) => q.QuotaName === quotaName);
      if (quota?.QuotaCode) {
        code = quota.QuotaCode;
        break;
      }
    }
  }
  if (!code) return undefined;
  const out = await client.send(
    new sq.GetAWSDefaultServiceQuotaCommand({ ServiceCode: "sagemaker", QuotaCode: code }),
    {
      abortSignal: signal,
    },
  );
  return typeof out.Quota?.Value === "number"
    ? { value: out.Quota.Value, code, source: "AWS default" }
    : undefined;
}

export interface QuotaNeed {
  needed: number;
  why: string;
}

/**
 * Instances of the type the deployment can hold at once. Autoscaling goes up to maxCount; an
 * UpdateEndpoint provisions the new fleet (InitialInstanceCount) before it removes the old one,
 * so while an endpoint of the same type runs N instances an update needs N + InitialInstanceCount.
 */
export function quotaNeed(
  config: Gen3dConfig,
  running?: { instances: number; sameType: boolean },
): QuotaNeed {
  const { maxCount, initialCount } = config.instance;
  const update = running?.sameType ? running.instances + initialCount : 0;
  return update > maxCount
    ? {
        needed: update,
        why: `an update adds ${initialCount} instance(s) (instance.initialCount) to the ${running?.instances} running before it removes them`,
      }
    : { needed: maxCount, why: "instance.maxCount" };
}

/** What the deployed endpoint (if any) runs now: its instance count and whether it is the configured type. */
async function runningFleet(config: Gen3dConfig, aws: AwsClients, signal: AbortSignal) {
  try {
    const sagemaker = await aws.sagemaker();
    const endpoint = await describeEndpoint(sagemaker, endpointNameFor(config), signal);
    if (!endpoint?.EndpointConfigName) return undefined;
    const instances =
      endpoint.ProductionVariants?.find((v) => v.VariantName === VARIANT_NAME)?.CurrentInstanceCount ?? 0;
    const { DescribeEndpointConfigCommand } = await import("@aws-sdk/client-sagemaker");
    const current = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }),
      { abortSignal: signal },
    );
    const type = current.ProductionVariants?.find((v) => v.VariantName === VARIANT_NAME)?.InstanceType;
    return { instances, sameType: type === config.instance.type };
  } catch (error) {
    if (isAbort(error)) throw error;
    return undefined; // No endpoint to read, or not allowed to: the need is maxCount.
  }
}

/** SageMaker's "<type> for endpoint usage" quota must cover what the deployment can hold at once. */
export async function quotaGate(
  config: Gen3dConfig,
  aws: AwsClients,
  signal: AbortSignal,
): Promise<GateResult> {
  const quotaName = `${config.instance.type} for endpoint usage`;
  let quota: QuotaValue | undefined;
  try {
    quota = await quotaValue(aws, quotaName, signal);
  } catch (error) {
    if (isAbort(error)) throw error;
    return gate(
      ID,
      TITLE,
      "not-checked",
      `Service Quotas did not answer (${awsErrorName(error)}); not checked`,
      {
        hint: `Check "${quotaName}" in the Service Quotas console before deploying.`,
      },
    );
  }
  if (!quota) {
    return gate(ID, TITLE, "not-checked", `quota "${quotaName}" was not listed; not checked`, {
      hint: "Check it in the Service Quotas console; a quota of 0 makes CreateEndpoint fail with ResourceLimitExceeded.",
    });
  }
  const need = quotaNeed(config, await runningFleet(config, aws, signal));
  const ok = quota.value >= need.needed;
  return gate(
    ID,
    TITLE,
    ok ? "pass" : "fail",
    `${quotaName}: ${quota.value} (${quota.source}); needed ${need.needed}: ${need.why}`,
    {
      hint: ok
        ? undefined
        : `Request an increase of "${quotaName}" (Service Quotas console${quota.code ? `, code ${quota.code}` : ""}) to at least ${need.needed}, or lower instance.maxCount / instance.initialCount.`,
      evidence: { quotaName, ...quota, needed: need.needed, why: need.why },
    },
  );
}
