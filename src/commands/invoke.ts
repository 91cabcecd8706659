import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  type AsyncJobRecord,
  asyncJobRecord,
  emulatorBacklog,
  isSubmitted,
  type SubmittedJob,
  s3Uri,
  sha256Hex,
  submitRecorded,
  uploadOnce,
  type WaitProgress,
  waitForJob,
} from "../adapters/async-invoke.js";
import { tailEndpointLogs } from "../adapters/cloudwatch-logs.js";
import { formatDuration } from "../adapters/sagemaker-endpoint.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { errorResponse, taskResponses } from "../checks/container-probe.js";
import { checkTaskArtifacts, taskPayload } from "../checks/task-results.js";
import type { TaskName } from "../config/schema.js";
import { ExternalError, UserError } from "../engine/errors.js";
import { printJson } from "../engine/output.js";
import type { InvokeOptions } from "./invoke-options.js";
import { type InvokeRequest, parseInvokeRequest } from "./invoke-request.js";

export type { InvokeOptions } from "./invoke-options.js";

/** What `--no-wait` leaves for `--result ID`: one file per job, beside STATE.json. */
const invocationRecord = asyncJobRecord.extend({
  bucket: z.string(),
  image: z.object({ name: z.string(), width: z.number(), height: z.number() }).optional(),
});
type InvocationRecord = z.infer<typeof invocationRecord>;

function recordsDir(ctx: AppContext): string {
  return path.join(path.dirname(ctx.state.file), ".gen3d", "invocations");
}

function recordFile(ctx: AppContext, id: string): string {
  return path.join(recordsDir(ctx), `${id}.json`);
}

async function saveRecord(ctx: AppContext, record: InvocationRecord): Promise<void> {
  await mkdir(recordsDir(ctx), { recursive: true });
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(recordFile(ctx, record.inferenceId), `${JSON.stringify(record, null, 2)}\n`);
}

async function loadRecord(ctx: AppContext, id: string): Promise<InvocationRecord> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new UserError("BAD_FLAG", `--result ${id}: not an InferenceId gen3d prints`, {
      hint: "Pass the id `gen3d invoke --no-wait` printed (gen3d-inv-…).",
    });
  }
  let raw: string;
  try {
    raw = await readFile(recordFile(ctx, id), "utf8");
  } catch {
    throw new UserError(
      "UNKNOWN_INVOCATION",
      `--result ${id}: no such invocation recorded in ${recordsDir(ctx)}`,
      {
        hint: "Use the InferenceId that `gen3d invoke --no-wait` printed, with the same --config/--state.",
      },
    );
  }
  const parsed = invocationRecord.safeParse(JSON.parse(raw));
  if (!parsed.success || !isSubmitted(parsed.data)) {
    throw new UserError("UNKNOWN_INVOCATION", `${recordFile(ctx, id)} does not record a submitted job`, {
      hint: "Submit it again with `gen3d invoke --task … --image …`.",
    });
  }
  return parsed.data;
}

function endpointOf(ctx: AppContext): string {
  const name = ctx.state.state.artifacts.endpointName;
  if (typeof name !== "string" || name === "") {
    throw new UserError("NO_ENDPOINT", `${ctx.state.file} records no endpoint: nothing to invoke`, {
      hint: "Deploy first: `gen3d deploy` (phases 1–8 create the endpoint).",
    });
  }
  return name;
}

async function submit(ctx: AppContext, request: InvokeRequest): Promise<InvocationRecord & SubmittedJob> {
  const { config } = ctx;
  const endpointName = endpointOf(ctx);
  const bucket = config.s3.bucket;
  const s3 = await ctx.aws.s3();
  const deps = { s3, signal: ctx.signal };
  const base = `${config.s3.prefixes.input}/gen3d-invoke`.replace(/^\//, "");
  const upload = async (bytes: Buffer, name: string) => {
    const key = `${base}/inputs/${sha256Hex(bytes).slice(0, 16)}-${name}`;
    await uploadOnce(deps, { bucket, key }, bytes, "application/octet-stream");
    return key;
  };
  const imageKey = await upload(request.image.bytes, request.image.name);
  const maskKey = request.mask ? await upload(request.mask, "mask.png") : undefined;
  const now = ctx.clock.now();
  const draft = taskPayload(request.task, {
    bucket,
    imageKey,
    sessionId: "pending",
    image: request.image.size,
    ...(maskKey ? { maskKey } : {}),
    overrides: request.overrides,
  });
  const inferenceId = `gen3d-inv-${now.getTime().toString(36)}-${sha256Hex(JSON.stringify(draft)).slice(0, 6)}`;
  const body = Buffer.from(JSON.stringify({ ...draft, session_id: inferenceId }));
  const requestKey = `${base}/${inferenceId}.json`;
  await uploadOnce(deps, { bucket, key: requestKey }, body, "application/json");
  const extra = {
    bucket,
    ...(request.image.size ? { image: { name: request.image.name, ...request.image.size } } : {}),
  };
  const job = await submitRecorded(
    {
      runtime: await ctx.aws.sagemakerRuntime(),
      sagemaker: await ctx.aws.sagemaker(),
      clock: ctx.clock,
      signal: ctx.signal,
    },
    { task: request.task, inferenceId, inputLocation: s3Uri(bucket, requestKey), endpointName },
    config.timeouts.invocationSeconds,
    (record: AsyncJobRecord) => saveRecord(ctx, { ...record, ...extra }),
  );
  return { ...job, ...extra };
}

/** A line on stderr while waiting: redrawn in a terminal, at most every 30 s otherwise. */
function progressPrinter(ctx: AppContext, id: string) {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let n = 0;
  let lastPlain = -Infinity;
  return {
    update(p: WaitProgress) {
      const instances =
        p.instances?.current === undefined
          ? ""
          : ` · ${p.instances.current} instance(s) (desired ${p.instances.desired ?? "?"})`;
      const backlog = p.backlog === undefined ? "" : ` · backlog ${p.backlog}`;
      const text = `waiting for ${id} · ${formatDuration(p.elapsedMs)}${instances}${backlog} · ${formatDuration(p.leftMs)} left`;
      if (ctx.io.isTTY) ctx.io.stderr(`\r\u001b[2K${frames[n++ % frames.length]} ${text}`);
      else if (p.elapsedMs - lastPlain >= 30_000) {
        lastPlain = p.elapsedMs;
        ctx.io.stderr(`${text}\n`);
      }
    },
    done() {
      if (ctx.io.isTTY && n > 0) ctx.io.stderr("\r\u001b[2K");
    },
  };
}

const EXTENSIONS: Record<string, string> = { mask: ".png", ply: ".ply", glb: ".glb" };

async function waitAndDownload(
  ctx: AppContext,
  job: InvocationRecord & SubmittedJob,
  options: InvokeOptions,
  cwd: string,
  notAfterMs?: number,
): Promise<number> {
  const task = job.task as TaskName;
  const printer = progressPrinter(ctx, job.inferenceId);
  let waited: Awaited<ReturnType<typeof waitForJob>>;
  try {
    waited = await waitForJob(
      {
        s3: await ctx.aws.s3(),
        sagemaker: await ctx.aws.sagemaker(),
        clock: ctx.clock,
        signal: ctx.signal,
        onPoll: (p) => printer.update(p),
        ...(ctx.aws.endpoint
          ? { backlog: () => emulatorBacklog(ctx.aws.endpoint, job.endpointName, ctx.signal) }
          : {}),
      },
      job,
      {
        timeoutSeconds: ctx.config.timeouts.invocationSeconds,
        ...(notAfterMs === undefined ? {} : { notAfterMs }),
        ...(options.pollMinMs === undefined ? {} : { minDelayMs: options.pollMinMs }),
      },
    );
  } finally {
    printer.done();
  }
  const { outcome } = waited;
  if (outcome.type === "timeout") {
    const atZero = job.instancesAtSubmit === 0 && (waited.maxInstances ?? 0) === 0;
    throw new ExternalError(
      "INVOCATION_TIMEOUT",
      `no result for ${job.inferenceId} after ${formatDuration(outcome.seconds * 1000)}${atZero ? ": the endpoint stayed at 0 instances" : ""}`,
      {
        hint: `${atZero ? "Scaling out from zero needs phase 8's step policy on HasBacklogWithoutCapacity (`gen3d verify --phase 8`). " : ""}The job stays queued: \`gen3d invoke --result ${job.inferenceId}\` keeps waiting.`,
      },
    );
  }
  if (outcome.type === "failure") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(outcome.body);
    } catch {}
    const error = errorResponse.safeParse(parsed);
    const tail = await tailEndpointLogs(await ctx.aws.logs(), job.endpointName, {
      limit: 20,
      sinceMs: Date.parse(job.submittedAt) - 60_000,
      signal: ctx.signal,
    });
    throw new ExternalError(
      "INVOCATION_FAILED",
      `${task} ${job.inferenceId} failed: ${error.success ? `${error.data.error.code}: ${error.data.error.message}` : outcome.body.slice(0, 300)}`,
      {
        details: [
          `failure object ${job.failureLocation ?? ""}`,
          ...outcome.body
            .split("\n")
            .slice(0, 20)
            .map((l) => `  ${l}`),
          ...(tail.lines.length > 0
            ? ["endpoint log (last lines):", ...tail.lines.map((l) => `  ${l}`)]
            : []),
        ],
        hint:
          error.success && error.data.error.field
            ? `Fix the request's ${error.data.error.field}.`
            : "Read the failure object and `gen3d logs`.",
      },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(outcome.body);
  } catch {
    throw new ExternalError(
      "INVOCATION_BAD_OUTPUT",
      `the output of ${job.inferenceId} is not JSON: ${outcome.body.slice(0, 200)}`,
    );
  }
  const parsed = taskResponses[task].safeParse(body);
  if (!parsed.success) {
    throw new ExternalError(
      "INVOCATION_BAD_OUTPUT",
      `the output of ${job.inferenceId} does not match the ${task} contract`,
      {
        details: parsed.error.issues.map((i) => `• ${i.path.join(".")}: ${i.message}`),
      },
    );
  }
  const data = parsed.data as Record<string, unknown>;
  const artifacts = await checkTaskArtifacts(
    { s3: await ctx.aws.s3(), signal: ctx.signal },
    typeof data.bucket === "string" ? data.bucket : job.bucket,
    task,
    data,
    job.image,
    { keepBytes: true },
  );
  const dir = path.resolve(cwd, options.out ?? path.join("gen3d-results", job.inferenceId));
  await mkdir(dir, { recursive: true });
  const files: Array<{ kind: string; path: string; key: string; ok: boolean; detail: string }> = [];
  const responseFile = path.join(dir, "response.json");
  await writeFile(responseFile, `${JSON.stringify(body, null, 2)}\n`);
  files.push({
    kind: "response",
    path: responseFile,
    key: job.outputLocation,
    ok: true,
    detail: "the endpoint's answer",
  });
  for (const a of artifacts) {
    const ext = EXTENSIONS[a.kind] ?? path.extname(a.key);
    const file = path.join(dir, `${a.kind}${ext}`);
    if (a.bytes) await writeFile(file, a.bytes);
    files.push({ kind: a.kind, path: a.bytes ? file : "", key: a.key, ok: a.ok, detail: a.detail });
  }
  const latency = Math.round(outcome.seconds * 1000) / 1000;
  const ok = files.every((f) => f.ok);
  if (ctx.io.json) {
    printJson(ctx.io, ok, {
      inferenceId: job.inferenceId,
      task,
      endpointName: job.endpointName,
      inputLocation: job.inputLocation,
      outputLocation: job.outputLocation,
      failureLocation: job.failureLocation,
      latencySeconds: latency,
      instancesAtSubmit: job.instancesAtSubmit,
      files,
      response: body,
    });
  } else {
    ctx.io.stdout(
      `${task} ${job.inferenceId}: ${latency.toFixed(1)} s from submission to result${job.instancesAtSubmit === 0 ? " (submitted at 0 instances)" : ""}\n`,
    );
    for (const f of files) ctx.io.stdout(`  ${f.ok ? "" : "PROBLEM "}${f.path || f.key}  ${f.detail}\n`);
  }
  return ok ? 0 : 1;
}

/** `gen3d invoke`: one async invocation end to end, or `--result ID` for one submitted earlier. */
export async function invokeCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: InvokeOptions,
): Promise<number> {
  if (options.result && (options.task || options.image || options.point || options.box || options.mask)) {
    throw new UserError(
      "BAD_FLAG",
      "--result fetches an earlier job: it takes no --task, --image, --point, --box or --mask",
    );
  }
  const { ctx, release } = await openContext(globals, runtime);
  try {
    if (options.result) {
      const job = (await loadRecord(ctx, options.result)) as InvocationRecord & SubmittedJob;
      // Without waiting: one look; otherwise up to timeouts.invocationSeconds from now.
      const notAfter =
        ctx.clock.now().getTime() +
        (options.wait === false ? 0 : ctx.config.timeouts.invocationSeconds * 1000);
      return await waitAndDownload(ctx, job, options, runtime.cwd, notAfter);
    }
    const request = await parseInvokeRequest(ctx, options, runtime.cwd);
    const job = await submit(ctx, request);
    if (options.wait === false) {
      if (ctx.io.json) {
        printJson(ctx.io, true, {
          inferenceId: job.inferenceId,
          task: job.task,
          outputLocation: job.outputLocation,
          failureLocation: job.failureLocation,
          record: recordFile(ctx, job.inferenceId),
        });
      } else {
        ctx.io.stdout(`${job.inferenceId}\n${job.outputLocation}\n`);
        ctx.io.stderr(`submitted; fetch it later with \`gen3d invoke --result ${job.inferenceId}\`\n`);
      }
      return 0;
    }
    return await waitAndDownload(ctx, job, options, runtime.cwd);
  } finally {
    await release();
  }
}
