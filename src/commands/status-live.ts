import { describeAlarm, describeScalableTarget, describeScalingPolicies } from "../adapters/autoscaling.js";
import { createSageMakerApi, variantCounts } from "../adapters/sagemaker.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { bold, dim, green, printJson, red, table, yellow } from "../engine/output.js";
import { desiredScaling } from "../spec/autoscaling.js";
import { endpointNameFor, scalableResourceId, VARIANT_NAME } from "../spec/sagemaker.js";
import { when } from "./render.js";

export interface LiveRow {
  resource: string;
  /** What STATE.json records. */
  recorded: string;
  /** What AWS reports now. */
  actual: string;
  drift: boolean;
  note?: string;
}

export interface LiveStatus {
  project: string;
  region: string;
  checkedAt: string;
  rows: LiveRow[];
  drift: number;
}

const NONE = "—";

/** STATE.json side by side with what AWS reports now; a row drifts when they disagree. */
export async function liveStatus(ctx: AppContext): Promise<LiveStatus> {
  const a = ctx.state.state.artifacts;
  const sagemaker = createSageMakerApi(ctx);
  const rows: LiveRow[] = [];
  const recordedOrNone = (v: unknown) => (typeof v === "string" && v !== "" ? v : NONE);

  // Model
  if (a.modelName) {
    const model = await sagemaker.describeModel(a.modelName);
    const image = model?.PrimaryContainer?.Image;
    const note =
      model && a.imageUri && image !== a.imageUri ? `image ${image} ≠ recorded ${a.imageUri}` : undefined;
    rows.push({
      resource: "model",
      recorded: a.modelName,
      actual: model ? (model.ModelName ?? a.modelName) : "missing",
      drift: model === undefined || note !== undefined,
      ...(note ? { note } : {}),
    });
  } else {
    rows.push({ resource: "model", recorded: NONE, actual: "not checked", drift: false });
  }

  // Endpoint config
  if (a.endpointConfigName) {
    const found = await sagemaker.describeEndpointConfig(a.endpointConfigName);
    rows.push({
      resource: "endpoint config",
      recorded: a.endpointConfigName,
      actual: found ? a.endpointConfigName : "missing",
      drift: found === undefined,
    });
  } else {
    rows.push({ resource: "endpoint config", recorded: NONE, actual: "not checked", drift: false });
  }

  // Endpoint: exists, status, which config, instance count
  const endpointName = a.endpointName ?? endpointNameFor(ctx.config);
  const endpoint = await sagemaker.describeEndpoint(endpointName);
  if (endpoint === undefined) {
    rows.push({
      resource: "endpoint",
      recorded: recordedOrNone(a.endpointName),
      actual: "missing",
      drift: a.endpointName !== undefined,
    });
  } else {
    const counts = variantCounts(endpoint, VARIANT_NAME);
    const wrongConfig =
      a.endpointConfigName !== undefined && endpoint.EndpointConfigName !== a.endpointConfigName;
    const notes: string[] = [];
    if (wrongConfig) notes.push(`runs ${endpoint.EndpointConfigName}, recorded ${a.endpointConfigName}`);
    if (endpoint.FailureReason) notes.push(endpoint.FailureReason);
    if (a.endpointName === undefined) notes.push("exists but STATE.json does not record it");
    rows.push({
      resource: "endpoint",
      recorded: recordedOrNone(a.endpointName),
      actual: `${endpoint.EndpointStatus}, ${counts.current ?? "?"} instance(s) (desired ${counts.desired ?? "?"})`,
      drift: endpoint.EndpointStatus !== "InService" || wrongConfig || a.endpointName === undefined,
      ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
    });
  }

  // Autoscaling
  const resourceId = a.scalableTargetResourceId ?? scalableResourceId(endpointName);
  const autoscaling = await ctx.aws.autoscaling();
  const target = await describeScalableTarget(autoscaling, resourceId, ctx.signal);
  const wanted = desiredScaling(ctx.config, endpointName);
  const targetNote =
    target &&
    (target.MinCapacity !== wanted.target.MinCapacity || target.MaxCapacity !== wanted.target.MaxCapacity)
      ? `config wants min ${wanted.target.MinCapacity}, max ${wanted.target.MaxCapacity}`
      : undefined;
  rows.push({
    resource: "scalable target",
    recorded: recordedOrNone(a.scalableTargetResourceId),
    actual: target ? `min ${target.MinCapacity}, max ${target.MaxCapacity}` : "missing",
    drift: (a.scalableTargetResourceId !== undefined && target === undefined) || targetNote !== undefined,
    ...(targetNote ? { note: targetNote } : {}),
  });
  const policies = await describeScalingPolicies(autoscaling, resourceId, ctx.signal);
  const recordedArns = a.scalingPolicyArns ?? [];
  const actualArns = new Set(policies.map((p) => p.PolicyARN));
  const missingArns = recordedArns.filter((arn) => !actualArns.has(arn));
  rows.push({
    resource: "scaling policies",
    recorded: recordedArns.length > 0 ? `${recordedArns.length} policy(ies)` : NONE,
    actual:
      policies.length > 0 ? policies.map((p) => `${p.PolicyName} (${p.PolicyType})`).join(", ") : "none",
    drift: missingArns.length > 0,
    ...(missingArns.length > 0 ? { note: `recorded but gone or replaced: ${missingArns.join(", ")}` } : {}),
  });
  const cloudwatch = await ctx.aws.cloudwatch();
  for (const alarmName of a.alarmNames ?? []) {
    const alarm = await describeAlarm(cloudwatch, alarmName, ctx.signal);
    const stepArn = policies.find((p) => p.PolicyType === "StepScaling")?.PolicyARN;
    const wired = alarm?.AlarmActions?.includes(stepArn ?? "\u0000") ?? false;
    rows.push({
      resource: "alarm",
      recorded: alarmName,
      actual: alarm
        ? wired
          ? "present, fires the step policy"
          : "present, not wired to the step policy"
        : "missing",
      drift: !alarm || !wired,
    });
  }
  return {
    project: ctx.config.project.name,
    region: ctx.aws.region,
    checkedAt: ctx.clock.now().toISOString(),
    rows,
    drift: rows.filter((r) => r.drift).length,
  };
}

export function renderLiveStatus(io: AppContext["io"], status: LiveStatus): string {
  const header = ["resource", "STATE.json", "AWS now", ""].map((h) => bold(io, h));
  const rows = status.rows.map((r) => [
    r.resource,
    r.recorded,
    r.drift ? red(io, r.actual) : r.actual === "missing" ? dim(io, r.actual) : green(io, r.actual),
    r.drift ? yellow(io, `drift${r.note ? `: ${r.note}` : ""}`) : r.note ? dim(io, r.note) : "",
  ]);
  const summary =
    status.drift === 0
      ? `${green(io, "no drift")}: AWS matches STATE.json`
      : `${yellow(io, `${status.drift} drifted`)}: run \`gen3d plan\` to see what deploy would change`;
  return `${bold(io, `${status.project}`)} ${dim(io, `live in ${status.region} ${io.verbose ? `at ${status.checkedAt}` : when(io, status.checkedAt, new Date(status.checkedAt))}`)}\n${table([header, ...rows])}${summary}\n`;
}

/** `gen3d status --live`: read-only; the exit code is 0 whether or not there is drift. */
export async function statusLiveCommand(globals: GlobalOptions, runtime: Runtime): Promise<number> {
  const { ctx, release } = await openContext(globals, runtime);
  try {
    const status = await liveStatus(ctx);
    if (ctx.io.json) printJson(ctx.io, true, { ...status });
    else ctx.io.stdout(renderLiveStatus(ctx.io, status));
    return 0;
  } finally {
    await release();
  }
}
