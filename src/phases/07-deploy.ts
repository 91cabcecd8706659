import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { describeScalableTarget, describeScalingPolicies } from "../adapters/autoscaling.js";
import { awsFailure } from "../adapters/aws-errors.js";
import { tailEndpointLogs } from "../adapters/cloudwatch-logs.js";
import {
  type DescribedEndpoint,
  describeEndpoint,
  formatDuration,
  TRANSITIONAL_STATUSES,
  type WaitOptions,
  waitForDeleted,
  waitForInService,
} from "../adapters/sagemaker-endpoint.js";
import { describeEndpointConfig } from "../adapters/sagemaker-endpoint-config.js";
import { typicalDeployLine } from "../catalog/deploy-time.js";
import { endpointGates } from "../checks/endpoint.js";
import { describeEndpointConfigSchema, endpointConfigDifferences } from "../checks/endpoint-config.js";
import { classifyEndpointFailure } from "../checks/endpoint-failure.js";
import { confirmed, describeChange, gone } from "../checks/reality.js";
import { awsCli } from "../config/aws-cli.js";
import { ExternalError } from "../engine/errors.js";
import { elapsedOfLimit } from "../engine/progress.js";
import { SCALABLE_DIMENSION, SERVICE_NAMESPACE } from "../spec/autoscaling.js";
import {
  desiredEndpointConfig,
  endpointNameFor,
  inputsOrPending,
  projectTags,
  scalableResourceId,
  startupHealthCheckSeconds,
  VARIANT_NAME,
} from "../spec/sagemaker.js";
import { applyAutoscaling } from "./autoscaling/apply.js";
import { type ContractContext, definePhase } from "./contract.js";
import type { Phase, PhaseContext } from "./phase.js";

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

/** What phase 7 reads from phases 5 and 6: the model (to describe a config changed outside gen3d) and the config. */
const needs = { modelName: z.string().min(1), endpointConfigName: z.string().min(1) };
type DeployContext = ContractContext<typeof needs>;

/**
 * Allowance for this machine's clock running ahead of AWS's when the attempt's start comes from
 * the local clock; an earlier attempt's lines are older than that (a Failed endpoint is deleted
 * and waited for before the next create).
 */
const CLOCK_SKEW_MS = 60_000;

/** When an endpoint's current create/update began, by SageMaker's clock, if it says. */
function attemptStart(endpoint: DescribedEndpoint): number | undefined {
  const at = endpoint.LastModifiedTime ?? endpoint.CreationTime;
  return at instanceof Date ? at.getTime() : undefined;
}

/** Builds the failed-phase error: SageMaker's reason, the log tail, and what to do about it. */
export async function endpointFailure(
  ctx: PhaseContext,
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

/** The startup health-check timeout phase 6 put in the config, for the hint; undefined if unknown. */
function startupTimeoutOf(ctx: PhaseContext): number | undefined {
  try {
    return startupHealthCheckSeconds(ctx).seconds;
  } catch {
    return undefined;
  }
}

function variantInstanceType(raw: unknown): string | undefined {
  const parsed = describeEndpointConfigSchema.safeParse(raw);
  return parsed.success
    ? parsed.data.ProductionVariants.find((v) => v.VariantName === VARIANT_NAME)?.InstanceType
    : undefined;
}

/**
 * UpdateEndpoint fails when it changes the instance type of a variant that is an autoscaling
 * target (AWS docs: "Update endpoints that use auto scaling"). Delete the variant's scaling
 * policies and deregister it first; phase 8, which re-runs after phase 7, attaches them again.
 * A change of model only is allowed with autoscaling in place, so then nothing is detached.
 */
async function detachAutoscalingForTypeChange(
  ctx: PhaseContext,
  sagemaker: SageMakerClient,
  endpoint: DescribedEndpoint,
  configName: string,
): Promise<string[]> {
  if (!endpoint.EndpointConfigName) return [];
  const [before, after] = await Promise.all([
    describeEndpointConfig(sagemaker, endpoint.EndpointConfigName, ctx.signal),
    describeEndpointConfig(sagemaker, configName, ctx.signal),
  ]);
  const oldType = variantInstanceType(before);
  const newType = variantInstanceType(after);
  if (oldType === undefined || oldType === newType) return [];
  const autoscaling = await ctx.aws.autoscaling();
  const resourceId = scalableResourceId(endpoint.EndpointName);
  if (!(await describeScalableTarget(autoscaling, resourceId, ctx.signal))) return [];
  ctx.progress(
    `instance type ${oldType} → ${newType}: detaching autoscaling for the update (phase 8 re-attaches it)`,
  );
  const detached: string[] = [];
  const target = {
    ServiceNamespace: SERVICE_NAMESPACE,
    ResourceId: resourceId,
    ScalableDimension: SCALABLE_DIMENSION,
  };
  try {
    for (const policy of await describeScalingPolicies(autoscaling, resourceId, ctx.signal)) {
      await autoscaling.send(new DeleteScalingPolicyCommand({ ...target, PolicyName: policy.PolicyName }), {
        abortSignal: ctx.signal,
      });
      detached.push(`policy ${policy.PolicyName}`);
    }
    await autoscaling.send(new DeregisterScalableTargetCommand(target), { abortSignal: ctx.signal });
    detached.push(`scalable target ${resourceId}`);
  } catch (error) {
    throw awsFailure(
      error,
      `detaching autoscaling from ${resourceId} before changing its instance type`,
      "application-autoscaling:DeleteScalingPolicy and application-autoscaling:DeregisterScalableTarget",
    );
  }
  return detached;
}

/**
 * A rolled-back update left the old fleet running without the autoscaling detached for it: put
 * it back at once, so the GPU instances still scale to zero. Never leaves that silent.
 */
async function reattach(
  ctx: PhaseContext,
  endpointName: string,
  after: DescribedEndpoint,
  detached: string[],
): Promise<string[]> {
  const running = after.ProductionVariants?.[0]?.CurrentInstanceCount ?? "?";
  ctx.progress(`update rolled back: re-attaching autoscaling to ${endpointName} (${detached.join(", ")})`);
  try {
    await applyAutoscaling(ctx, endpointName);
    return [
      `autoscaling, detached for the instance-type change, was re-attached to the previous fleet (${running} instance(s) now): it still scales to zero`,
    ];
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return [
      `autoscaling was detached for the instance-type change (${detached.join(", ")}) and re-attaching it failed (${why}): the endpoint now runs unscaled at ${running} instance(s) and will not scale to zero — fix the cause and \`gen3d resume\` (phase 8 attaches it), or \`gen3d destroy\``,
    ];
  }
}

export function createDeployPhase(
  timing: DeployTiming = { minDelaySeconds: 15, maxDelaySeconds: 60 },
): Phase {
  const waitOptions = (ctx: PhaseContext, what: string): WaitOptions => {
    const started = ctx.clock.now().getTime();
    return {
      maxWaitSeconds: ctx.config.timeouts.deploySeconds,
      minDelaySeconds: timing.minDelaySeconds,
      maxDelaySeconds: timing.maxDelaySeconds,
      signal: ctx.signal,
      onPoll: (out) =>
        ctx.progress(
          `${what}: ${out.EndpointStatus ?? "?"} · ${elapsedOfLimit((ctx.clock.now().getTime() - started) / 1000, ctx.config.timeouts.deploySeconds)}` +
            // A deletion has no launch to wait for; a create or update does.
            (what.startsWith("deleting") ? "" : ` · ${typicalDeployLine(ctx.config)}`),
        ),
    };
  };

  /** Waits for InService and returns the endpoint as it then is; Failed and timeout throw. */
  async function settle(
    ctx: PhaseContext,
    sagemaker: SageMakerClient,
    name: string,
    what: string,
    attemptStartedMs: number | undefined,
  ): Promise<DescribedEndpoint> {
    const result = await waitForInService(sagemaker, name, waitOptions(ctx, what));
    const now = await describeEndpoint(sagemaker, name, ctx.signal);
    if (result.type === "timeout") {
      throw new ExternalError(
        "DEPLOY_TIMEOUT",
        `endpoint ${name} is still ${now?.EndpointStatus ?? "unknown"} after ${formatDuration(ctx.config.timeouts.deploySeconds * 1000)}`,
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

  async function create(ctx: PhaseContext, sagemaker: SageMakerClient, name: string, configName: string) {
    // Recorded before the call: a crash right after it still leaves the name for resume and destroy.
    await ctx.state.setArtifacts({ endpointName: name });
    ctx.progress(`creating endpoint ${name} with ${configName}`);
    try {
      await sagemaker.send(
        new CreateEndpointCommand({
          EndpointName: name,
          EndpointConfigName: configName,
          Tags: projectTags(ctx.config),
        }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      throw awsFailure(error, `CreateEndpoint ${name}`, "sagemaker:CreateEndpoint");
    }
  }

  async function update(
    ctx: PhaseContext,
    sagemaker: SageMakerClient,
    endpoint: DescribedEndpoint,
    configName: string,
  ) {
    const detached = await detachAutoscalingForTypeChange(ctx, sagemaker, endpoint, configName);
    const startedMs = ctx.clock.now().getTime();
    ctx.progress(
      `updating endpoint ${endpoint.EndpointName}: ${endpoint.EndpointConfigName} → ${configName}`,
    );
    try {
      await sagemaker.send(
        new UpdateEndpointCommand({ EndpointName: endpoint.EndpointName, EndpointConfigName: configName }),
        {
          abortSignal: ctx.signal,
        },
      );
    } catch (error) {
      throw awsFailure(error, `UpdateEndpoint ${endpoint.EndpointName}`, "sagemaker:UpdateEndpoint");
    }
    const after = await settle(
      ctx,
      sagemaker,
      endpoint.EndpointName,
      `updating ${endpoint.EndpointName}`,
      startedMs,
    );
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

  async function deploy(ctx: DeployContext): Promise<DeployOutcome> {
    const name = endpointNameFor(ctx.config);
    const configName = ctx.upstream.endpointConfigName;
    const sagemaker = await ctx.aws.sagemaker();
    let current = await describeEndpoint(sagemaker, name, ctx.signal);
    let replacedFailed = false;

    if (current?.EndpointStatus === "Deleting") {
      ctx.progress(`endpoint ${name} is being deleted; waiting before creating it again`);
      await waitForDeleted(sagemaker, name, waitOptions(ctx, `deleting ${name}`));
      current = undefined;
    }
    if (current?.EndpointStatus === "Failed") {
      // A Failed endpoint cannot be updated, only deleted. The new attempt may have a fixed config.
      ctx.progress(
        `endpoint ${name} is Failed (${current.FailureReason ?? "no reason"}); deleting it to try again`,
      );
      try {
        await sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }), { abortSignal: ctx.signal });
      } catch (error) {
        throw awsFailure(error, `DeleteEndpoint ${name}`, "sagemaker:DeleteEndpoint");
      }
      await waitForDeleted(sagemaker, name, waitOptions(ctx, `deleting failed ${name}`));
      current = undefined;
      replacedFailed = true;
    }
    if (current === undefined) {
      const startedMs = ctx.clock.now().getTime();
      await create(ctx, sagemaker, name, configName);
      await settle(ctx, sagemaker, name, `creating ${name}`, startedMs);
      return { type: "created", endpointName: name, endpointConfigName: configName, replacedFailed };
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
      const settled = await settle(
        ctx,
        sagemaker,
        name,
        `${adoptedStatus.toLowerCase()} ${name}`,
        adoptedStartMs,
      );
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
    await update(ctx, sagemaker, current, configName);
    return { type: "updated", endpointName: name, endpointConfigName: configName, previousConfigName };
  }

  return definePhase({
    id: 7,
    name: "deploy",
    title: "Deploy the endpoint",
    needs,
    produces: z.object({ endpointName: z.string().min(1) }),
    async inputs(ctx) {
      return inputsOrPending(() => ({
        endpointName: endpointNameFor(ctx.config),
        endpointConfigName: ctx.upstream.endpointConfigName,
        region: ctx.aws.region,
      }));
    },
    async run(ctx) {
      const outcome = await deploy(ctx);
      return {
        outcome: outcome.type,
        artifacts: { endpointName: outcome.endpointName },
        evidence: { outcome },
      };
    },
    async verify(ctx) {
      const name = endpointNameFor(ctx.config);
      const sagemaker = await ctx.aws.sagemaker();
      return endpointGates(
        name,
        ctx.upstream.endpointConfigName,
        await describeEndpoint(sagemaker, name, ctx.signal),
      );
    },
    /** DescribeEndpoint: it exists, has not failed, and runs the config gen3d deployed. */
    async reality(ctx) {
      const name = endpointNameFor(ctx.config);
      const configName = ctx.upstream.endpointConfigName;
      const sagemaker = await ctx.aws.sagemaker();
      const endpoint = await describeEndpoint(sagemaker, name, ctx.signal);
      if (endpoint === undefined) return gone(`endpoint ${name} no longer exists`);
      if (endpoint.EndpointStatus === "Failed" || endpoint.EndpointStatus === "Deleting") {
        return gone(`endpoint ${name} is ${endpoint.EndpointStatus}`);
      }
      const running = endpoint.EndpointConfigName;
      if (running === configName || running === undefined) {
        return confirmed(`endpoint ${name} is ${endpoint.EndpointStatus} on ${configName}`);
      }
      const actual = describeEndpointConfigSchema.safeParse(
        await describeEndpointConfig(sagemaker, running, ctx.signal),
      );
      const changes = actual.success
        ? endpointConfigDifferences(desiredEndpointConfig(ctx, ctx.upstream.modelName), actual.data)
            .filter((d) => !d.startsWith("EndpointConfigName:"))
            .map(describeChange)
        : [];
      return {
        type: "changed",
        reason: `config changed outside gen3d: endpoint ${name} runs ${running}, not ${configName}${
          changes.length > 0 ? ` (${changes.slice(0, 3).join(", ")})` : ""
        }`,
        changes: [`EndpointConfigName ${configName} → ${running}`, ...changes],
      };
    },
  });
}

/** Phase 7: create or update the endpoint, wait for InService, diagnose a failure. */
export const deployPhase: Phase = createDeployPhase();
