import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SubmittedJob } from "../adapters/async-invoke.js";
import { type WaitProgress, waitForJob } from "../adapters/async-wait.js";
import { tailEndpointLogs } from "../adapters/cloudwatch-logs.js";
import { emulatorBacklog } from "../adapters/emulator.js";
import { createS3 } from "../adapters/s3.js";
import type { AppContext } from "../app/context.js";
import { errorResponse, taskResponses } from "../checks/container-probe.js";
import { checkTaskArtifacts } from "../checks/task-results.js";
import type { TaskName } from "../config/schema.js";
import { ExternalError } from "../engine/errors.js";
import { printJson } from "../engine/output.js";
import { formatDuration } from "../engine/progress.js";
import type { InvokeOptions } from "./invoke-options.js";
import type { InvocationRecord } from "./invoke-records.js";

/** Waiting for one invocation's result, then judging and downloading what it names. */

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
      const text = `waiting for ${id} · ${formatDuration(p.elapsedMs / 1000)}${instances}${backlog} · ${formatDuration(p.leftMs / 1000)} left`;
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

export async function waitAndDownload(
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
        s3: createS3({ aws: ctx.aws, signal: ctx.signal }),
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
      `no result for ${job.inferenceId} after ${formatDuration(outcome.seconds)}${atZero ? ": the endpoint stayed at 0 instances" : ""}`,
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
    { s3: createS3({ aws: ctx.aws, signal: ctx.signal }), signal: ctx.signal },
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
