import { createCloudWatch } from "../adapters/cloudwatch.js";
import type { Backlog } from "../adapters/cloudwatch-metrics.js";
import { createSageMakerApi } from "../adapters/sagemaker.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { bold, dim, green, printJson, yellow } from "../engine/output.js";
import { timeAgo } from "../engine/progress.js";
import { settleBeforeTeardown } from "../phases/07-deploy.js";
import { autoscalingLeftovers } from "../phases/08-autoscaling.js";
import { scalingRemains } from "../phases/autoscaling/teardown.js";
import { allPhases } from "../phases/index.js";
import type { Phase, PhaseContext, Removal, TeardownOptions } from "../phases/phase.js";
import { namesToRemove } from "../phases/teardown.js";
import { asyncOutputPaths, endpointNameFor } from "../spec/sagemaker.js";
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

/** The endpoint and the alarms destroy names before asking; each phase's teardown reads its own. */
function planTeardown(ctx: AppContext) {
  const endpointName = ctx.state.state.artifacts.endpointName ?? endpointNameFor(ctx.config);
  return { endpointName, alarms: scalingRemains(ctx.config, ctx.state.state.artifacts).alarms };
}

/** What AWS still lists under gen3d's names for this project (proof that a teardown is complete). */
export async function listLeftovers(ctx: AppContext): Promise<string[]> {
  return [...(await listSagemakerLeftovers(ctx)), ...(await autoscalingLeftovers(ctx))];
}

/** The artifact keys that name what the teardowns removed; the image's only with --delete-images. */
const REMOVED_ARTIFACTS = [
  "modelName",
  "endpointConfigName",
  "endpointName",
  "scalableTargetResourceId",
  "scalingPolicyArns",
  "alarmNames",
  "createdModels",
  "createdEndpointConfigs",
  "scaleToZeroWaitSince",
];

/**
 * Removes what gen3d created: each phase's teardown, from phase 10 down to 1 (the alarm and
 * policies that would scale the endpoint, the scalable target, the endpoint, its configs, the
 * models; images and S3 data only when asked). Destroy owns the order, the confirmation and the
 * report; anything already gone is fine. STATE.json records the teardown.
 */
export async function destroyDeployment(
  ctx: AppContext,
  options: DestroyOptions = {},
  phases: readonly Phase[] = allPhases(),
): Promise<DestroyReport> {
  const plan = planTeardown(ctx);
  const { io } = ctx;
  const a = ctx.state.state.artifacts;
  const lines = [
    `endpoint ${plan.endpointName} (with its scaling policies, scalable target and alarm ${plan.alarms.join(", ")})`,
    ...namesToRemove(a.createdEndpointConfigs, a.endpointConfigName).map((c) => `endpoint config ${c}`),
    ...namesToRemove(a.createdModels, a.modelName).map((m) => `model ${m}`),
    ...(options.deleteImages && a.imageDigest
      ? [`ECR image ${ctx.config.ecr.repository}@${a.imageDigest}`]
      : []),
    ...(options.deleteS3
      ? [`S3 data under ${Object.values(asyncOutputPaths(ctx.config)).join(", ")} and the embeddings prefix`]
      : []),
  ];
  const sagemaker = createSageMakerApi(ctx);
  const live = await sagemaker.describeEndpoint(plan.endpointName);
  const backlog = live
    ? await createCloudWatch(ctx).asyncBacklog(plan.endpointName, ctx.clock.now())
    : undefined;
  io.stderr(`${bold(io, "gen3d destroy will delete")}:\n${lines.map((l) => `  • ${l}`).join("\n")}\n`);
  const queued = backlog?.type === "known" ? backlog.count : 0;
  if (backlog?.type === "known" && queued > 0) {
    const when = io.verbose
      ? `at ${backlog.at.toISOString()}`
      : timeAgo(backlog.at.toISOString(), ctx.clock.now());
    io.stderr(
      `${yellow(io, "Warning")}: ${queued} async request(s) are still queued on ${plan.endpointName} (ApproximateBacklogSize, ${when}): deleting the endpoint drops them, and their callers get neither an output nor a failure object.\n`,
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

  const phaseCtx: PhaseContext = { ...ctx, progress: (line) => io.stderr(`${dim(io, line)}\n`) };
  // Before anything is removed: a changing endpoint cannot be deleted, and once the scaling
  // policies were gone nothing would scale its GPU instances in.
  if (live) await settleBeforeTeardown(phaseCtx, sagemaker, live, options);

  const removed: Removal[] = [];
  for (const phase of [...phases].sort((x, y) => y.id - x.id)) {
    if (phase.teardown) removed.push(...(await phase.teardown(phaseCtx, options)));
  }

  // A registry standing in for ECR (aws.registry) is not ECR: phase 4 leaves the image there, and
  // destroy says so, with the registry call that removes it.
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
  const leftovers = await listLeftovers(ctx);
  const remains = [
    ...(registryImage ? [registryImage] : []),
    ...(await surveyRemains(ctx, plan.endpointName)),
  ];
  await recordTeardown(ctx, {
    removed,
    leftovers,
    remains,
    imagesRemoved: !!options.deleteImages && !registryImage,
  });
  return { removed, leftovers, remains, cancelled: false, ...(backlog ? { backlog } : {}) };
}

/** STATE.json after a teardown: the names of what is gone cleared, phases 5–10 (4 too) stale. */
async function recordTeardown(
  ctx: AppContext,
  done: Pick<DestroyReport, "removed" | "leftovers" | "remains"> & { imagesRemoved: boolean },
): Promise<void> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const deleted = done.removed.filter((r) => r.result === "deleted");
  await ctx.state.update(
    (draft) => {
      const art = draft.artifacts;
      for (const key of REMOVED_ARTIFACTS) delete art[key];
      if (done.imagesRemoved) {
        delete art.imageDigest;
        delete art.imageUri;
      }
      art.teardown = {
        at,
        removed: deleted.map((r) => `${r.kind} ${r.name}`),
        leftovers: done.leftovers,
        remains: done.remains.map(describeRemaining),
      };
      const stale = done.imagesRemoved ? [4, 5, 6, 7, 8, 9, 10] : [5, 6, 7, 8, 9, 10];
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
    { event: "destroy", detail: `${deleted.length} deleted, ${done.leftovers.length} left` },
  );
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
