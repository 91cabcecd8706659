import type { AwsClients } from "../../adapters/aws.js";
import { tailEndpointLogs } from "../../adapters/cloudwatch-logs.js";
import type { DescribedEndpoint } from "../../adapters/sagemaker.js";
import { classifyEndpointFailure } from "../../checks/endpoint-failure.js";
import { ExternalError } from "../../engine/errors.js";
import type { PhaseContext } from "../phase.js";

/**
 * Allowance for this machine's clock running ahead of AWS's when the attempt's start comes from
 * the local clock; an earlier attempt's lines are older than that (a Failed endpoint is deleted
 * and waited for before the next create).
 */
const CLOCK_SKEW_MS = 60_000;

/** When an endpoint's current create/update began, by SageMaker's clock, if it says. */
export function attemptStart(endpoint: DescribedEndpoint): number | undefined {
  const at = endpoint.LastModifiedTime ?? endpoint.CreationTime;
  return at instanceof Date ? at.getTime() : undefined;
}

/** Builds the failed-phase error: SageMaker's reason, the log tail, and what to do about it. */
export async function endpointFailure(
  ctx: Pick<PhaseContext, "config" | "signal"> & { aws: Pick<AwsClients, "logs" | "region"> },
  endpoint: DescribedEndpoint,
  headline: string,
  startupTimeoutSeconds?: number,
  extraDetails: string[] = [],
  /** When this create/update started (ms since the epoch): the log tail starts there. */
  attemptStartedMs?: number,
): Promise<ExternalError> {
  const tail = await tailEndpointLogs(await ctx.aws.logs(), endpoint.EndpointName, {
    limit: 30,
    signal: ctx.signal,
    ...(attemptStartedMs === undefined ? {} : { sinceMs: attemptStartedMs - CLOCK_SKEW_MS }),
  });
  const diagnosis = classifyEndpointFailure(endpoint.FailureReason, tail.lines, {
    instanceType: ctx.config.instance.type,
    region: ctx.aws.region,
    roleArn: ctx.config.executionRoleArn,
    ...(startupTimeoutSeconds === undefined ? {} : { startupTimeoutSeconds }),
  });
  const details = [
    `FailureReason: ${endpoint.FailureReason ?? "(none given)"}`,
    `cause: ${diagnosis.summary}${diagnosis.evidence ? ` — matched: ${diagnosis.evidence}` : ""}`,
    tail.lines.length > 0
      ? `last ${tail.lines.length} line(s) of ${tail.group}:`
      : `log: ${tail.note ?? "no lines"}`,
    ...tail.lines.map((l) => `  ${l}`),
    ...extraDetails,
  ];
  return new ExternalError("ENDPOINT_FAILED", `${headline}: ${diagnosis.summary}`, {
    details,
    hint: diagnosis.hint,
  });
}
