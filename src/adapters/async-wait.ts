import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { Clock } from "../engine/clock.js";
import { VARIANT_NAME } from "../spec/sagemaker.js";
import type { SubmittedJob } from "./async-invoke.js";
import { parseS3Uri, type S3Objects } from "./s3.js";
import { describeEndpoint, variantCounts } from "./sagemaker-endpoint.js";

/** Waiting for a submitted async job's output or failure object in S3. */

/** The variant's instance counts now, or undefined when the endpoint cannot be described. */
export async function instanceCounts(
  sagemaker: SageMakerClient,
  endpointName: string,
  signal: AbortSignal,
): Promise<{ current?: number; desired?: number } | undefined> {
  const endpoint = await describeEndpoint(sagemaker, endpointName, signal);
  return endpoint ? variantCounts(endpoint, VARIANT_NAME) : undefined;
}

export interface WaitProgress {
  elapsedMs: number;
  leftMs: number;
  instances?: { current?: number; desired?: number };
  /** Jobs queued on the endpoint, where something reports it (the local emulator). */
  backlog?: number;
}

export type JobOutcome =
  | { type: "output"; body: string; seconds: number }
  | { type: "failure"; body: string; seconds: number }
  | { type: "timeout"; seconds: number };

export interface WaitResult {
  outcome: JobOutcome;
  /** Most instances seen while waiting (undefined: not observed). */
  maxInstances?: number;
  /** Seconds from submission to the first poll that saw an instance, for a job submitted at zero. */
  firstInstanceSeconds?: number;
}

export interface WaitDeps {
  s3: S3Objects;
  clock: Clock;
  signal: AbortSignal;
  /** With it, each poll also reads the instance count (progress and the timeout's diagnosis). */
  sagemaker?: SageMakerClient;
  onPoll?: (progress: WaitProgress) => void;
  /** Asked at each poll for the endpoint's backlog, where known (see `emulatorBacklog`). */
  backlog?: () => Promise<number | undefined>;
}

export interface WaitOptions {
  timeoutSeconds: number;
  /** Stop waiting at this instant (epoch ms) instead of `timeoutSeconds` after submission. */
  notAfterMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The output object's content, else the failure object's, else undefined: neither is there yet. */
async function resultObject(
  s3: S3Objects,
  job: SubmittedJob,
): Promise<{ type: "output" | "failure"; body: string } | undefined> {
  const candidates = [
    ["output", job.outputLocation],
    ["failure", job.failureLocation],
  ] as const;
  for (const [type, uri] of candidates) {
    if (!uri) continue;
    const location = parseS3Uri(uri);
    if (await s3.headObject(location)) {
      return { type, body: Buffer.from(await s3.getObject(location)).toString("utf8") };
    }
  }
  return undefined;
}

/**
 * Polls for the job's output or failure object with a backoff (0.25 s doubling-ish to 10 s) until
 * `timeoutSeconds` after it was submitted. The latency is measured to the poll that saw the object.
 */
export async function waitForJob(
  deps: WaitDeps,
  job: SubmittedJob,
  options: WaitOptions,
): Promise<WaitResult> {
  const submitted = Date.parse(job.submittedAt);
  const deadline = options.notAfterMs ?? submitted + options.timeoutSeconds * 1000;
  let delay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let maxInstances: number | undefined = job.instancesAtSubmit;
  let firstInstanceSeconds: number | undefined;
  for (;;) {
    const now = deps.clock.now().getTime();
    const seconds = Math.max(0, (now - submitted) / 1000);
    const found = await resultObject(deps.s3, job);
    if (found) return { outcome: { ...found, seconds }, maxInstances, firstInstanceSeconds };
    let instances: { current?: number; desired?: number } | undefined;
    if (deps.sagemaker) {
      instances = await instanceCounts(deps.sagemaker, job.endpointName, deps.signal);
      const current = instances?.current;
      if (current !== undefined) {
        maxInstances = Math.max(maxInstances ?? 0, current);
        if (current > 0 && firstInstanceSeconds === undefined && job.instancesAtSubmit === 0) {
          firstInstanceSeconds = seconds;
        }
      }
    }
    if (now >= deadline) return { outcome: { type: "timeout", seconds }, maxInstances, firstInstanceSeconds };
    const backlog = deps.onPoll && deps.backlog ? await deps.backlog() : undefined;
    deps.onPoll?.({
      elapsedMs: now - submitted,
      leftMs: deadline - now,
      ...(instances ? { instances } : {}),
      ...(backlog === undefined ? {} : { backlog }),
    });
    await deps.clock.sleep(Math.min(delay, Math.max(50, deadline - now)), deps.signal);
    delay = Math.min(maxDelay, Math.round(delay * 1.6));
  }
}
