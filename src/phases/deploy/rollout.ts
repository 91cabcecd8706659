import { z } from "zod";
import {
  type DescribedEndpoint,
  type EndpointWait,
  type SageMakerApi,
  TRANSITIONAL_STATUSES,
} from "../../adapters/sagemaker.js";
import { typicalDeployLine } from "../../catalog/deploy-time.js";
import { awsCli } from "../../config/aws-cli.js";
import { ExternalError } from "../../engine/errors.js";
import { elapsedOfLimit, formatDuration } from "../../engine/progress.js";
import { endpointNameFor, projectTags, startupHealthCheckSeconds } from "../../spec/sagemaker.js";
import type { ContractContext } from "../contract.js";
import { endpointConfigSourceNeeds } from "../endpoint-config-source.js";
import { detachAutoscalingForTypeChange, reattach } from "./autoscaling-detach.js";
import { attemptStart, endpointFailure } from "./failure.js";

export type DeployOutcome =
  | { type: "created"; endpointName: string; endpointConfigName: string; replacedFailed: boolean }
  | { type: "adopted"; endpointName: string; endpointConfigName: string; adoptedStatus: string }
  | { type: "updated"; endpointName: string; endpointConfigName: string; previousConfigName: string }
  | { type: "unchanged"; endpointName: string; endpointConfigName: string };

export interface DeployTiming {
  /** The SDK waiter's polling bounds, in seconds. */
  minDelaySeconds: number;
  maxDelaySeconds: number;
}

/**
 * What phase 7 reads from earlier phases: the config phase 6 made, phase 5's model and what the
 * config derives from (to describe a config changed outside gen3d, and the startup timeout).
 */
export const deployNeeds = {
  modelName: z.string().min(1),
  endpointConfigName: z.string().min(1),
  ...endpointConfigSourceNeeds,
};
export type DeployContext = ContractContext<typeof deployNeeds>;

/** One deploy: the phase's context, the SageMaker facade and the waiter's polling. */
interface Rollout {
  ctx: DeployContext;
  sagemaker: SageMakerApi;
  timing: DeployTiming;
}

function waitOptions({ ctx, timing }: Rollout, what: string): EndpointWait {
  const started = ctx.clock.now().getTime();
  return {
    maxWaitSeconds: ctx.config.timeouts.deploySeconds,
    minDelaySeconds: timing.minDelaySeconds,
    maxDelaySeconds: timing.maxDelaySeconds,
    onPoll: (out) =>
      ctx.progress(
        `${what}: ${out.EndpointStatus ?? "?"} · ${elapsedOfLimit((ctx.clock.now().getTime() - started) / 1000, ctx.config.timeouts.deploySeconds)}` +
          // A deletion has no launch to wait for; a create or update does.
          (what.startsWith("deleting") ? "" : ` · ${typicalDeployLine(ctx.config)}`),
      ),
  };
}

/** The startup health-check timeout phase 6 put in the config, for the hint; undefined if unknown. */
function startupTimeoutOf(ctx: DeployContext): number | undefined {
  try {
    return startupHealthCheckSeconds(ctx.config, ctx.upstream.localTest?.secondsToHealthy).seconds;
  } catch {
    return undefined;
  }
}

/** Waits for InService and returns the endpoint as it then is; Failed and timeout throw. */
async function settle(
  r: Rollout,
  name: string,
  what: string,
  attemptStartedMs: number | undefined,
): Promise<DescribedEndpoint> {
  const { ctx, sagemaker } = r;
  const result = await sagemaker.waitForInService(name, waitOptions(r, what));
  const now = await sagemaker.describeEndpoint(name);
  if (result.type === "timeout") {
    throw new ExternalError(
      "DEPLOY_TIMEOUT",
      `endpoint ${name} is still ${now?.EndpointStatus ?? "unknown"} after ${formatDuration(ctx.config.timeouts.deploySeconds)}`,
      {
        hint: "SageMaker keeps going: `gen3d resume` adopts the endpoint and keeps waiting (raise timeouts.deploySeconds to wait longer in one run).",
      },
    );
  }
  if (now === undefined) {
    throw new ExternalError("ENDPOINT_VANISHED", `endpoint ${name} disappeared while gen3d waited for it`, {
      hint: "Someone deleted it; run `gen3d resume` to create it again.",
    });
  }
  if (now.EndpointStatus === "Failed") {
    throw await endpointFailure(
      ctx,
      now,
      `endpoint ${name} failed`,
      startupTimeoutOf(ctx),
      [],
      attemptStartedMs,
    );
  }
  return now;
}

async function create(r: Rollout, name: string, configName: string): Promise<void> {
  // Recorded before the call: a crash right after it still leaves the name for resume and destroy.
  await r.ctx.state.setArtifacts({ endpointName: name });
  r.ctx.progress(`creating endpoint ${name} with ${configName}`);
  await r.sagemaker.createEndpoint({
    EndpointName: name,
    EndpointConfigName: configName,
    Tags: projectTags(r.ctx.config),
  });
}

async function update(
  r: Rollout,
  endpoint: DescribedEndpoint,
  configName: string,
): Promise<DescribedEndpoint> {
  const { ctx, sagemaker } = r;
  const detached = await detachAutoscalingForTypeChange(ctx, sagemaker, endpoint, configName);
  const startedMs = ctx.clock.now().getTime();
  ctx.progress(`updating endpoint ${endpoint.EndpointName}: ${endpoint.EndpointConfigName} → ${configName}`);
  await sagemaker.updateEndpoint(endpoint.EndpointName, configName);
  const after = await settle(r, endpoint.EndpointName, `updating ${endpoint.EndpointName}`, startedMs);
  if (after.EndpointConfigName !== configName) {
    // SageMaker rolls a failed update back: InService again, on the old config, with a reason.
    throw await endpointFailure(
      ctx,
      after,
      `update of ${endpoint.EndpointName} to ${configName} failed and SageMaker rolled back to ${after.EndpointConfigName}`,
      startupTimeoutOf(ctx),
      detached.length > 0 ? await reattach(ctx, endpoint.EndpointName, after, detached) : [],
      startedMs,
    );
  }
  return after;
}

/**
 * Deleting or Failed: wait for the deletion (deleting a Failed endpoint first, which cannot be
 * updated, only deleted; the new attempt may have a fixed config). Anything else is kept.
 */
async function clearForCreate(
  r: Rollout,
  current: DescribedEndpoint,
): Promise<{ current?: DescribedEndpoint; replacedFailed: boolean }> {
  const { ctx, sagemaker } = r;
  const name = current.EndpointName;
  if (current.EndpointStatus === "Deleting") {
    ctx.progress(`endpoint ${name} is being deleted; waiting before creating it again`);
    await sagemaker.waitForDeleted(name, waitOptions(r, `deleting ${name}`));
    return { replacedFailed: false };
  }
  if (current.EndpointStatus === "Failed") {
    ctx.progress(
      `endpoint ${name} is Failed (${current.FailureReason ?? "no reason"}); deleting it to try again`,
    );
    await sagemaker.deleteEndpoint(name);
    await sagemaker.waitForDeleted(name, waitOptions(r, `deleting failed ${name}`));
    return { replacedFailed: true };
  }
  return { current, replacedFailed: false };
}

/** Phase 7's work: create, adopt, update or leave the endpoint, and wait for it to be InService. */
export async function deploy(
  ctx: DeployContext,
  sagemaker: SageMakerApi,
  timing: DeployTiming,
): Promise<DeployOutcome> {
  const r: Rollout = { ctx, sagemaker, timing };
  const name = endpointNameFor(ctx.config);
  const configName = ctx.upstream.endpointConfigName;
  const described = await sagemaker.describeEndpoint(name);
  const cleared = described ? await clearForCreate(r, described) : { replacedFailed: false };
  let current = cleared.current;
  if (current === undefined) {
    const startedMs = ctx.clock.now().getTime();
    await create(r, name, configName);
    await settle(r, name, `creating ${name}`, startedMs);
    return {
      type: "created",
      endpointName: name,
      endpointConfigName: configName,
      replacedFailed: cleared.replacedFailed,
    };
  }
  await ctx.state.setArtifacts({ endpointName: name });

  if (TRANSITIONAL_STATUSES.has(current.EndpointStatus)) {
    // A previous run crashed or stopped while SageMaker was working: adopt, never create twice.
    const adoptedStatus = current.EndpointStatus;
    ctx.progress(
      `endpoint ${name} is ${adoptedStatus} (started by an earlier run or by autoscaling): adopting it and waiting`,
    );
    // The earlier run's create/update began when SageMaker last modified the endpoint.
    const adoptedStartMs = attemptStart(current);
    const settled = await settle(r, name, `${adoptedStatus.toLowerCase()} ${name}`, adoptedStartMs);
    if (settled.EndpointConfigName === configName) {
      return { type: "adopted", endpointName: name, endpointConfigName: configName, adoptedStatus };
    }
    if (adoptedStatus === "Updating" && settled.FailureReason) {
      throw await endpointFailure(
        ctx,
        settled,
        `the update of ${name} that an earlier run started failed; SageMaker rolled back to ${settled.EndpointConfigName}`,
        startupTimeoutOf(ctx),
        [],
        adoptedStartMs,
      );
    }
    current = settled;
  }
  if (current.EndpointStatus !== "InService") {
    throw new ExternalError("ENDPOINT_UNEXPECTED_STATUS", `endpoint ${name} is ${current.EndpointStatus}`, {
      hint: `gen3d can only update an InService endpoint; inspect it with \`${awsCli(ctx.config, `sagemaker describe-endpoint --endpoint-name ${name}`)}\`.`,
    });
  }
  if (current.EndpointConfigName === configName) {
    ctx.progress(`endpoint ${name} is InService on ${configName}: nothing to do`);
    return { type: "unchanged", endpointName: name, endpointConfigName: configName };
  }
  const previousConfigName = current.EndpointConfigName ?? "";
  await update(r, current, configName);
  return { type: "updated", endpointName: name, endpointConfigName: configName, previousConfigName };
}
