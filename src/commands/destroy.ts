import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DeleteAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { BatchDeleteImageCommand } from "@aws-sdk/client-ecr";
import { DeleteObjectsCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
} from "@aws-sdk/client-sagemaker";
import { describeAlarm, describeScalableTarget, describeScalingPolicies } from "../adapters/autoscaling.js";
import { awsFailure, isNotFound } from "../adapters/aws-errors.js";
import { asyncBacklog, type Backlog } from "../adapters/cloudwatch-metrics.js";
import {
  type DescribedEndpoint,
  describeEndpoint,
  formatDuration,
  TRANSITIONAL_STATUSES,
  waitForDeleted,
  waitForInService,
} from "../adapters/sagemaker-endpoint.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { ExternalError } from "../engine/errors.js";
import { bold, dim, green, printJson, yellow } from "../engine/output.js";
import type { Removal, TeardownOptions } from "../phases/phase.js";
import { desiredScaling, SCALABLE_DIMENSION, SERVICE_NAMESPACE } from "../spec/autoscaling.js";
import { asyncOutputPaths, endpointNameFor, scalableResourceId } from "../spec/sagemaker.js";
import {
  describeRemaining,
  listSagemakerLeftovers,
  type Remaining,
  surveyRemains,
} from "./destroy-remains.js";
import { withoutNoise } from "./render.js";

export type DestroyOptions = TeardownOptions;
export type { Removal };

export interface DestroyReport {
  removed: Removal[];
  /** The async queue when destroy looked (ApproximateBacklogSize), if it could tell. */
  backlog?: Backlog;
  /** gen3d-named resources still listed by AWS after the teardown (should be empty). */
  leftovers: string[];
  /** What destroy keeps or was not asked to remove: ECR images, S3 objects, the log group. */
  remains: Remaining[];
  cancelled: boolean;
}

interface Plan {
  endpointName: string;
  resourceId: string;
  alarms: string[];
  models: string[];
  endpointConfigs: string[];
}

function planTeardown(ctx: AppContext): Plan {
  const a = ctx.state.state.artifacts;
  const endpointName = a.endpointName ?? endpointNameFor(ctx.config);
  const unique = (...lists: (string | string[] | undefined)[]) =>
    [...new Set(lists.flat().filter((v): v is string => typeof v === "string" && v !== ""))].sort();
  return {
    endpointName,
    resourceId: scalableResourceId(endpointName),
    alarms: unique(a.alarmNames, desiredScaling(ctx.config, endpointName).alarm.AlarmName),
    models: unique(a.createdModels, a.modelName),
    endpointConfigs: unique(a.createdEndpointConfigs, a.endpointConfigName),
  };
}

/** What AWS still lists under gen3d's names for this project (proof that a teardown is complete). */
export async function listLeftovers(ctx: AppContext): Promise<string[]> {
  const out = await listSagemakerLeftovers(ctx);
  const plan = planTeardown(ctx);
  const autoscaling = await ctx.aws.autoscaling();
  if (await describeScalableTarget(autoscaling, plan.resourceId, ctx.signal))
    out.push(`scalable-target ${plan.resourceId}`);
  for (const p of await describeScalingPolicies(autoscaling, plan.resourceId, ctx.signal))
    out.push(`scaling-policy ${p.PolicyName}`);
  const cloudwatch = await ctx.aws.cloudwatch();
  for (const alarm of plan.alarms)
    if (await describeAlarm(cloudwatch, alarm, ctx.signal)) out.push(`alarm ${alarm}`);
  return out;
}

async function tolerant(
  removed: Removal[],
  kind: Removal["kind"],
  name: string,
  permission: string,
  call: () => Promise<unknown>,
): Promise<void> {
  try {
    await call();
    removed.push({ kind, name, result: "deleted" });
  } catch (error) {
    if (isNotFound(error)) {
      removed.push({ kind, name, result: "already-gone" });
      return;
    }
    throw awsFailure(error, `deleting ${kind} ${name}`, permission);
  }
}

async function deleteS3Prefix(ctx: AppContext, uri: string, removed: Removal[]): Promise<void> {
  const rest = uri.replace(/^s3:\/\//, "");
  const bucket = rest.split("/")[0] ?? "";
  const prefix = rest.slice(bucket.length + 1).replace(/\/?$/, "/");
  const s3 = await ctx.aws.s3();
  let count = 0;
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 1000 },
      { Bucket: bucket, Prefix: prefix },
      { abortSignal: ctx.signal },
    )) {
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
      if (keys.length > 0) {
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }), {
          abortSignal: ctx.signal,
        });
        count += keys.length;
      }
    }
  } catch (error) {
    if (isNotFound(error)) {
      removed.push({ kind: "s3-prefix", name: uri, result: "already-gone" });
      return;
    }
    throw awsFailure(error, `deleting s3://${bucket}/${prefix}`, "s3:ListBucket and s3:DeleteObject");
  }
  removed.push({
    kind: "s3-prefix",
    name: `s3://${bucket}/${prefix}`,
    result: count > 0 ? "deleted" : "already-gone",
    detail: `${count} object(s)`,
  });
}

/**
 * Waits until the endpoint is InService or Failed. While it is Creating or Updating (autoscaling
 * changing its instance count does that) DeleteEndpoint fails, and by then the scaling policies
 * would already be gone: GPU instances left running with nothing to scale them in.
 */
async function settleBeforeTeardown(
  ctx: AppContext,
  endpoint: DescribedEndpoint,
  options: DestroyOptions,
): Promise<DescribedEndpoint | undefined> {
  if (!TRANSITIONAL_STATUSES.has(endpoint.EndpointStatus) || endpoint.EndpointStatus === "Deleting")
    return endpoint;
  const name = endpoint.EndpointName;
  const sagemaker = await ctx.aws.sagemaker();
  ctx.io.stderr(
    `${dim(ctx.io, `endpoint ${name} is ${endpoint.EndpointStatus} (SageMaker or autoscaling is changing it): waiting for InService or Failed before removing anything…`)}\n`,
  );
  const result = await waitForInService(sagemaker, name, {
    maxWaitSeconds: ctx.config.timeouts.deploySeconds,
    minDelaySeconds: options.waiter?.minDelaySeconds ?? 10,
    maxDelaySeconds: options.waiter?.maxDelaySeconds ?? 30,
    signal: ctx.signal,
  });
  if (result.type === "timeout") {
    const now = await describeEndpoint(sagemaker, name, ctx.signal);
    throw new ExternalError(
      "ENDPOINT_BUSY",
      `endpoint ${name} is still ${now?.EndpointStatus ?? endpoint.EndpointStatus} after ${formatDuration(ctx.config.timeouts.deploySeconds * 1000)}: nothing was deleted`,
      {
        hint: "DeleteEndpoint fails while an endpoint is changing; run `gen3d destroy` again once it is InService or Failed (`aws sagemaker describe-endpoint --endpoint-name NAME`).",
      },
    );
  }
  return describeEndpoint(sagemaker, name, ctx.signal);
}

/**
 * Removes what gen3d created, in dependency order: the alarm and policies that would scale the
 * endpoint, the scalable target, the endpoint, its configs, the models; images and S3 data only
 * when asked. Anything already gone is fine. STATE.json records the teardown.
 */
export async function destroyDeployment(
  ctx: AppContext,
  options: DestroyOptions = {},
): Promise<DestroyReport> {
  const plan = planTeardown(ctx);
  const { io } = ctx;
  const a = ctx.state.state.artifacts;
  const lines = [
    `endpoint ${plan.endpointName} (with its scaling policies, scalable target and alarm ${plan.alarms.join(", ")})`,
    ...plan.endpointConfigs.map((c) => `endpoint config ${c}`),
    ...plan.models.map((m) => `model ${m}`),
    ...(options.deleteImages && a.imageDigest
      ? [`ECR image ${ctx.config.ecr.repository}@${a.imageDigest}`]
      : []),
    ...(options.deleteS3
      ? [`S3 data under ${Object.values(asyncOutputPaths(ctx.config)).join(", ")} and the embeddings prefix`]
      : []),
  ];
  const autoscaling = await ctx.aws.autoscaling();
  const cloudwatch = await ctx.aws.cloudwatch();
  const sagemaker = await ctx.aws.sagemaker();
  const live = await describeEndpoint(sagemaker, plan.endpointName, ctx.signal);
  const backlog = live
    ? await asyncBacklog(cloudwatch, plan.endpointName, ctx.clock.now(), ctx.signal)
    : undefined;
  io.stderr(`${bold(io, "gen3d destroy will delete")}:\n${lines.map((l) => `  • ${l}`).join("\n")}\n`);
  const queued = backlog?.type === "known" ? backlog.count : 0;
  if (backlog?.type === "known" && queued > 0) {
    io.stderr(
      `${yellow(io, "Warning")}: ${queued} async request(s) are still queued on ${plan.endpointName} (ApproximateBacklogSize at ${backlog.at.toISOString()}): deleting the endpoint drops them, and their callers get neither an output nor a failure object.\n`,
    );
  } else if (backlog?.type === "unknown") {
    io.stderr(`${dim(io, `queued async requests: not checked (${backlog.why})`)}\n`);
  }
  const cancelled = (): DestroyReport => {
    io.stderr("Nothing deleted.\n");
    return { removed: [], leftovers: [], remains: [], cancelled: true, ...(backlog ? { backlog } : {}) };
  };
  if (!(await ctx.prompt.confirm(`Delete these resources of ${ctx.config.project.name}?`, false)))
    return cancelled();
  if (queued > 0 && !(await ctx.prompt.confirm(`Drop the ${queued} queued request(s) too?`, false)))
    return cancelled();

  // Before anything is removed: a changing endpoint cannot be deleted (see settleBeforeTeardown).
  if (live) await settleBeforeTeardown(ctx, live, options);

  const removed: Removal[] = [];

  for (const alarm of plan.alarms) {
    const exists = await describeAlarm(cloudwatch, alarm, ctx.signal);
    if (!exists) {
      removed.push({ kind: "alarm", name: alarm, result: "already-gone" });
      continue;
    }
    await tolerant(removed, "alarm", alarm, "cloudwatch:DeleteAlarms", () =>
      cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }), { abortSignal: ctx.signal }),
    );
  }
  for (const policy of await describeScalingPolicies(autoscaling, plan.resourceId, ctx.signal)) {
    await tolerant(
      removed,
      "scaling-policy",
      policy.PolicyName,
      "application-autoscaling:DeleteScalingPolicy",
      () =>
        autoscaling.send(
          new DeleteScalingPolicyCommand({
            PolicyName: policy.PolicyName,
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: plan.resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
          }),
          { abortSignal: ctx.signal },
        ),
    );
  }
  if (await describeScalableTarget(autoscaling, plan.resourceId, ctx.signal)) {
    await tolerant(
      removed,
      "scalable-target",
      plan.resourceId,
      "application-autoscaling:DeregisterScalableTarget",
      () =>
        autoscaling.send(
          new DeregisterScalableTargetCommand({
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: plan.resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
          }),
          { abortSignal: ctx.signal },
        ),
    );
  } else {
    removed.push({ kind: "scalable-target", name: plan.resourceId, result: "already-gone" });
  }

  const described = await describeEndpoint(sagemaker, plan.endpointName, ctx.signal);
  // A scaling activity that began before the policies went would make DeleteEndpoint fail.
  const endpoint = described ? await settleBeforeTeardown(ctx, described, options) : undefined;
  if (endpoint === undefined) {
    removed.push({ kind: "endpoint", name: plan.endpointName, result: "already-gone" });
  } else {
    // Whatever config the endpoint runs now is also gen3d's to remove.
    if (endpoint.EndpointConfigName?.startsWith(`${ctx.config.project.name}-`)) {
      if (!plan.endpointConfigs.includes(endpoint.EndpointConfigName))
        plan.endpointConfigs.push(endpoint.EndpointConfigName);
    }
    if (endpoint.EndpointStatus !== "Deleting") {
      await tolerant(removed, "endpoint", plan.endpointName, "sagemaker:DeleteEndpoint", () =>
        sagemaker.send(new DeleteEndpointCommand({ EndpointName: plan.endpointName }), {
          abortSignal: ctx.signal,
        }),
      );
    } else {
      removed.push({
        kind: "endpoint",
        name: plan.endpointName,
        result: "deleted",
        detail: "was already deleting",
      });
    }
    io.stderr(`${dim(io, `waiting for ${plan.endpointName} to be deleted…`)}\n`);
    await waitForDeleted(sagemaker, plan.endpointName, {
      maxWaitSeconds: ctx.config.timeouts.deploySeconds,
      minDelaySeconds: options.waiter?.minDelaySeconds ?? 10,
      maxDelaySeconds: options.waiter?.maxDelaySeconds ?? 30,
      signal: ctx.signal,
    });
  }
  for (const name of plan.endpointConfigs) {
    await tolerant(removed, "endpoint-config", name, "sagemaker:DeleteEndpointConfig", () =>
      sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }), {
        abortSignal: ctx.signal,
      }),
    );
  }
  for (const name of plan.models) {
    await tolerant(removed, "model", name, "sagemaker:DeleteModel", () =>
      sagemaker.send(new DeleteModelCommand({ ModelName: name }), { abortSignal: ctx.signal }),
    );
  }

  // A registry standing in for ECR (aws.registry) is not ECR: its API would not see the image, and
  // "already gone" would be a lie. It is left in place, with the registry call that removes it.
  const registry = ctx.config.aws.registry;
  const registryImage =
    options.deleteImages && registry && a.imageDigest
      ? {
          kind: "ecr-images" as const,
          name: `${registry}/${ctx.config.ecr.repository}@${a.imageDigest}`,
          count: 1,
          remove: `curl -X DELETE http://${registry}/v2/${ctx.config.ecr.repository}/manifests/${a.imageDigest} (gen3d deletes only through ECR; the registry must have deletes enabled, else 405)`,
        }
      : undefined;
  if (options.deleteImages && !registryImage) {
    const digest = a.imageDigest;
    if (!digest) {
      removed.push({
        kind: "image",
        name: ctx.config.ecr.repository,
        result: "already-gone",
        detail: "no digest recorded",
      });
    } else {
      const ecr = await ctx.aws.ecr();
      const name = `${ctx.config.ecr.repository}@${digest}`;
      try {
        const out = await ecr.send(
          new BatchDeleteImageCommand({
            repositoryName: ctx.config.ecr.repository,
            imageIds: [{ imageDigest: digest }],
          }),
          { abortSignal: ctx.signal },
        );
        const failure = out.failures?.[0];
        if (failure && failure.failureCode !== "ImageNotFound") {
          throw new ExternalError(
            "ECR_DELETE_FAILED",
            `deleting ${name}: ${failure.failureCode}: ${failure.failureReason}`,
            {
              hint: "Delete it in the ECR console, or check ecr:BatchDeleteImage.",
            },
          );
        }
        removed.push({ kind: "image", name, result: failure ? "already-gone" : "deleted" });
      } catch (error) {
        if (isNotFound(error)) removed.push({ kind: "image", name, result: "already-gone" });
        else throw awsFailure(error, `deleting ${name}`, "ecr:BatchDeleteImage");
      }
    }
  }
  if (options.deleteS3) {
    const paths = asyncOutputPaths(ctx.config);
    const embeddings = `s3://${ctx.config.s3.bucket}/${ctx.config.s3.prefixes.embeddings}`;
    for (const uri of [paths.output, paths.failure, embeddings]) await deleteS3Prefix(ctx, uri, removed);
  }

  const leftovers = await listLeftovers(ctx);
  const remains = [
    ...(registryImage ? [registryImage] : []),
    ...(await surveyRemains(ctx, plan.endpointName)),
  ];
  const at = ctx.clock.now().toISOString();
  await ctx.state.update(
    (draft) => {
      const art = draft.artifacts;
      for (const key of [
        "modelName",
        "endpointConfigName",
        "endpointName",
        "scalableTargetResourceId",
        "scalingPolicyArns",
        "alarmNames",
        "createdModels",
        "createdEndpointConfigs",
        "scaleToZeroWaitSince",
      ]) {
        delete art[key];
      }
      if (options.deleteImages && !registryImage) {
        delete art.imageDigest;
        delete art.imageUri;
      }
      art.teardown = {
        at,
        removed: removed.filter((r) => r.result === "deleted").map((r) => `${r.kind} ${r.name}`),
        leftovers,
        remains: remains.map(describeRemaining),
      };
      const stale = options.deleteImages ? [4, 5, 6, 7, 8, 9, 10] : [5, 6, 7, 8, 9, 10];
      for (const id of stale) {
        const record = draft.phases[String(id)];
        if (record && record.status !== "pending") {
          draft.phases[String(id)] = {
            ...record,
            status: "stale",
            note: `resources removed by gen3d destroy at ${at}`,
          };
        }
      }
    },
    {
      event: "destroy",
      detail: `${removed.filter((r) => r.result === "deleted").length} deleted, ${leftovers.length} left`,
    },
  );
  return { removed, leftovers, remains, cancelled: false, ...(backlog ? { backlog } : {}) };
}

/** `gen3d destroy [--delete-images] [--delete-s3]`. */
export async function destroyCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: DestroyOptions = {},
): Promise<number> {
  const { ctx, release } = await openContext(globals, runtime, { lock: "destroy" });
  try {
    const report = await destroyDeployment(ctx, options);
    const { io } = ctx;
    if (io.json) {
      printJson(io, report.leftovers.length === 0 && !report.cancelled, { ...report });
    } else if (!report.cancelled) {
      for (const r of report.removed) {
        const mark = r.result === "deleted" ? green(io, "deleted") : dim(io, "already gone");
        const name = io.verbose ? r.name : withoutNoise(r.name);
        io.stdout(`${mark}  ${r.kind} ${name}${r.detail ? dim(io, ` (${r.detail})`) : ""}\n`);
      }
      io.stdout(renderRemains(io, report));
    }
    if (report.cancelled) return 1;
    return report.leftovers.length === 0 ? 0 : 1;
  } finally {
    await release();
  }
}

/** Exactly what is left: what should be gone but is listed, then what destroy keeps by design. */
export function renderRemains(
  io: Parameters<typeof bold>[0] & { verbose?: boolean },
  report: Pick<DestroyReport, "leftovers" | "remains">,
) {
  const lines: string[] = [];
  if (report.leftovers.length > 0)
    lines.push(`${yellow(io, "Still present")}: ${report.leftovers.join(", ")}`);
  else
    lines.push(
      `${green(io, "The endpoint, its configs, models, scaling and alarm are gone")} (checked with List*/Describe*).`,
    );
  if (report.remains.length > 0) {
    lines.push(`${bold(io, "Left in place")} (storage that still bills until removed):`);
    for (const r of report.remains)
      lines.push(`  • ${io.verbose ? describeRemaining(r) : withoutNoise(describeRemaining(r))}`);
  } else {
    lines.push("No ECR images, S3 objects under gen3d's prefixes or endpoint log group remain.");
  }
  return `${lines.join("\n")}\n`;
}
