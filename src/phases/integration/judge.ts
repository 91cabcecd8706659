import type { SubmittedJob } from "../../adapters/async-invoke.js";
import type { WaitResult } from "../../adapters/async-wait.js";
import { tailEndpointLogs } from "../../adapters/cloudwatch-logs.js";
import { createS3 } from "../../adapters/s3.js";
import { errorResponse, taskResponses } from "../../checks/container-probe.js";
import type { IntegrationTaskEvidence } from "../../checks/integration.js";
import { checkTaskArtifacts } from "../../checks/task-results.js";
import type { TaskName } from "../../config/schema.js";
import { formatDuration } from "../../engine/progress.js";
import type { PhaseContext } from "../phase.js";

const FAILURE_CONTENT_LIMIT = 2_000;

async function failureDetails(ctx: PhaseContext, endpointName: string, submittedAt: string | undefined) {
  const tail = await tailEndpointLogs(await ctx.aws.logs(), endpointName, {
    limit: 25,
    ...(submittedAt ? { sinceMs: Date.parse(submittedAt) - 60_000 } : {}),
    signal: ctx.signal,
  });
  return tail.lines.length > 0 ? tail.lines : tail.note ? [tail.note] : [];
}

/** Reads one job's result into evidence: the parsed response and the S3 artifacts it names. */
export async function judgeResult(
  ctx: PhaseContext,
  task: TaskName,
  job: SubmittedJob,
  waited: WaitResult,
  image: { width: number; height: number } | undefined,
  base: IntegrationTaskEvidence,
): Promise<IntegrationTaskEvidence> {
  const { outcome } = waited;
  const evidence: IntegrationTaskEvidence = {
    ...base,
    outcome: outcome.type,
    latencySeconds: Math.round(outcome.seconds * 1000) / 1000,
    ...(waited.maxInstances === undefined ? {} : { maxInstances: waited.maxInstances }),
  };
  if (outcome.type === "timeout") {
    const stayedAtZero = job.instancesAtSubmit === 0 && (waited.maxInstances ?? 0) === 0;
    evidence.problem = stayedAtZero
      ? `no result after ${formatDuration(outcome.seconds)}: the endpoint was at 0 instances and never scaled out`
      : `no result after ${formatDuration(outcome.seconds)} (up to ${waited.maxInstances ?? "?"} instance(s) running)`;
    return evidence;
  }
  let body: unknown = outcome.body;
  try {
    body = JSON.parse(outcome.body);
  } catch {}
  if (outcome.type === "failure") {
    evidence.failure = outcome.body.slice(0, FAILURE_CONTENT_LIMIT);
    evidence.logTail = await failureDetails(ctx, job.endpointName, job.submittedAt);
    const error = errorResponse.safeParse(body);
    evidence.problem = error.success
      ? `the container answered ${error.data.error.code}: ${error.data.error.message}`
      : `the endpoint wrote a failure object: ${outcome.body.slice(0, 300)}`;
    return evidence;
  }
  const parsed = taskResponses[task].safeParse(body);
  evidence.response = body;
  if (!parsed.success) {
    evidence.problem = `the output does not match the ${task} contract: ${parsed.error.issues
      .map((i) => `${i.path.join(".")}: ${i.message}`)
      .join("; ")}`;
    return evidence;
  }
  const data = parsed.data as Record<string, unknown>;
  const bucket = typeof data.bucket === "string" ? data.bucket : ctx.config.s3.bucket;
  const s3 = createS3({ aws: ctx.aws, signal: ctx.signal });
  evidence.artifacts = (await checkTaskArtifacts({ s3, signal: ctx.signal }, bucket, task, data, image)).map(
    ({ key, kind, ok, detail }) => ({ key, kind, ok, detail }),
  );
  const bad = evidence.artifacts.find((a) => !a.ok);
  if (bad) evidence.problem = `${bad.kind} ${bad.key}: ${bad.detail}`;
  return evidence;
}
