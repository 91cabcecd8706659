import {
  type DescribedEndpoint,
  type SageMakerApi,
  TRANSITIONAL_STATUSES,
} from "../../adapters/sagemaker.js";
import { ExternalError } from "../../engine/errors.js";
import { formatDuration } from "../../engine/progress.js";
import { endpointNameFor } from "../../spec/sagemaker.js";
import { withCreated } from "../content-named.js";
import type { PhaseContext, Removal, TeardownOptions } from "../phase.js";
import { removal } from "../teardown.js";

type TeardownContext = Pick<PhaseContext, "config" | "state" | "progress">;
type EndpointCalls = Pick<
  SageMakerApi,
  "describeEndpoint" | "deleteEndpoint" | "waitForInService" | "waitForDeleted"
>;

function waiter(ctx: TeardownContext, options: TeardownOptions) {
  return {
    maxWaitSeconds: ctx.config.timeouts.deploySeconds,
    minDelaySeconds: options.waiter?.minDelaySeconds ?? 10,
    maxDelaySeconds: options.waiter?.maxDelaySeconds ?? 30,
  };
}

/**
 * Waits until the endpoint is InService or Failed. While it is Creating or Updating (autoscaling
 * changing its instance count does that) DeleteEndpoint fails, and by then the scaling policies
 * would already be gone: GPU instances left running with nothing to scale them in. Destroy
 * calls this before any teardown too; an endpoint already Deleting is left to finish.
 */
export async function settleBeforeTeardown(
  ctx: TeardownContext,
  sagemaker: Pick<SageMakerApi, "describeEndpoint" | "waitForInService">,
  endpoint: DescribedEndpoint,
  options: TeardownOptions,
): Promise<DescribedEndpoint | undefined> {
  if (!TRANSITIONAL_STATUSES.has(endpoint.EndpointStatus) || endpoint.EndpointStatus === "Deleting")
    return endpoint;
  const name = endpoint.EndpointName;
  ctx.progress(
    `endpoint ${name} is ${endpoint.EndpointStatus} (SageMaker or autoscaling is changing it): waiting for InService or Failed before removing anything…`,
  );
  const result = await sagemaker.waitForInService(name, waiter(ctx, options));
  const now = await sagemaker.describeEndpoint(name);
  if (result.type === "timeout") {
    throw new ExternalError(
      "ENDPOINT_BUSY",
      `endpoint ${name} is still ${now?.EndpointStatus ?? endpoint.EndpointStatus} after ${formatDuration(ctx.config.timeouts.deploySeconds)}: nothing was deleted`,
      {
        hint: "DeleteEndpoint fails while an endpoint is changing; run `gen3d destroy` again once it is InService or Failed (`aws sagemaker describe-endpoint --endpoint-name NAME`).",
      },
    );
  }
  return now;
}

/**
 * Phase 7's teardown: DeleteEndpoint (once: one already Deleting is only waited for), then wait
 * until it is gone. The config the live endpoint runs, when it carries the project's name, is
 * gen3d's too (an update outside gen3d, or a run whose record was lost): it is added to
 * artifacts.createdEndpointConfigs before the endpoint goes, so phase 6's teardown, which reads
 * that list, removes it, even after an interruption between the two.
 */
export async function removeEndpoint(
  ctx: TeardownContext,
  sagemaker: EndpointCalls,
  options: TeardownOptions,
): Promise<Removal[]> {
  const artifacts = ctx.state.state.artifacts;
  const name = artifacts.endpointName ?? endpointNameFor(ctx.config);
  const described = await sagemaker.describeEndpoint(name);
  const endpoint = described ? await settleBeforeTeardown(ctx, sagemaker, described, options) : undefined;
  if (endpoint === undefined) return [{ kind: "endpoint", name, result: "already-gone" }];
  const running = endpoint.EndpointConfigName;
  if (
    running?.startsWith(`${ctx.config.project.name}-`) &&
    !artifacts.createdEndpointConfigs?.includes(running)
  )
    await ctx.state.setArtifacts({
      createdEndpointConfigs: withCreated(artifacts.createdEndpointConfigs, running),
    });
  const removed: Removal =
    endpoint.EndpointStatus === "Deleting"
      ? { kind: "endpoint", name, result: "deleted", detail: "was already deleting" }
      : await removal("endpoint", name, (n) => sagemaker.deleteEndpoint(n));
  ctx.progress(`waiting for ${name} to be deleted…`);
  await sagemaker.waitForDeleted(name, waiter(ctx, options));
  return [removed];
}
