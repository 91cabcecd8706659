import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { z } from "zod";
import type { Clock } from "../engine/clock.js";
import { ExternalError } from "../engine/errors.js";
import { VARIANT_NAME } from "../spec/sagemaker.js";
import { awsFailure, isNotFound } from "./aws-errors.js";
import { describeEndpoint, variantCounts } from "./sagemaker-endpoint.js";

/**
 * One async invocation end to end, shared by phase 9, phase 10's cold start and `gen3d invoke`:
 * upload the request (once), InvokeEndpointAsync, then poll S3 for the output or failure object.
 * Callers record the submitted job before they wait, so a killed run polls it again instead of
 * submitting a second one.
 */

export interface S3Location {
  bucket: string;
  key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2])
    throw new ExternalError("AWS_UNEXPECTED", `not an s3://bucket/key URI: ${uri}`);
  return { bucket: match[1], key: match[2] };
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A submitted (or about to be submitted) job, as recorded before anyone waits for it. */
export const asyncJobRecord = z.object({
  task: z.string(),
  inferenceId: z.string(),
  inputLocation: z.string(),
  /** Absent while the job is being submitted: a crash then leaves a job to submit again. */
  outputLocation: z.string().optional(),
  failureLocation: z.string().optional(),
  submittedAt: z.string().optional(),
  /** CurrentInstanceCount when the job was submitted (undefined: unknown). */
  instancesAtSubmit: z.number().optional(),
  endpointName: z.string(),
  /** The endpoint's EndpointConfigName when the job was submitted (DescribeEndpoint). */
  endpointConfigName: z.string().optional(),
});
export type AsyncJobRecord = z.infer<typeof asyncJobRecord>;
export type SubmittedJob = AsyncJobRecord & { outputLocation: string; submittedAt: string };

export function isSubmitted(job: AsyncJobRecord): job is SubmittedJob {
  return job.outputLocation !== undefined && job.submittedAt !== undefined;
}

interface S3Deps {
  s3: S3Client;
  signal: AbortSignal;
}

const SHA_METADATA = "gen3d-sha256";

/**
 * Puts `body` at `key` unless an object with the same content is already there (its recorded
 * sha256, or an ETag equal to the body's MD5): a resumed run never uploads an input twice.
 */
export async function uploadOnce(
  deps: S3Deps,
  location: S3Location,
  body: Uint8Array,
  contentType: string,
): Promise<{ uploaded: boolean; sha256: string }> {
  const { HeadObjectCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
  const sha256 = sha256Hex(body);
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }), {
      abortSignal: deps.signal,
    });
    const md5 = createHash("md5").update(body).digest("hex");
    if (head.Metadata?.[SHA_METADATA] === sha256 || head.ETag?.replace(/"/g, "") === md5) {
      return { uploaded: false, sha256 };
    }
  } catch (error) {
    if (!isMissing(error))
      throw awsFailure(error, `HeadObject ${s3Uri(location.bucket, location.key)}`, "s3:GetObject");
  }
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        Body: body,
        ContentType: contentType,
        Metadata: { [SHA_METADATA]: sha256 },
      }),
      { abortSignal: deps.signal },
    );
  } catch (error) {
    throw awsFailure(error, `PutObject ${s3Uri(location.bucket, location.key)}`, "s3:PutObject");
  }
  return { uploaded: true, sha256 };
}

function isMissing(error: unknown): boolean {
  return (
    isNotFound(error) ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
  );
}

async function objectExists(deps: S3Deps, uri: string): Promise<boolean> {
  const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
  const { bucket, key } = parseS3Uri(uri);
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: deps.signal });
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw awsFailure(error, `HeadObject ${uri}`, "s3:GetObject");
  }
}

export async function readObject(deps: S3Deps, uri: string): Promise<Uint8Array> {
  const { GetObjectCommand } = await import("@aws-sdk/client-s3");
  const { bucket, key } = parseS3Uri(uri);
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: deps.signal,
    });
    return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (error) {
    throw awsFailure(error, `GetObject ${uri}`, "s3:GetObject");
  }
}

/** SageMaker's InvocationTimeoutSeconds range. */
const MAX_INVOCATION_TIMEOUT_SECONDS = 3600;

export async function submitJob(
  deps: { runtime: SageMakerRuntimeClient; signal: AbortSignal },
  request: {
    endpointName: string;
    inputLocation: string;
    inferenceId: string;
    invocationTimeoutSeconds: number;
  },
): Promise<{ outputLocation: string; failureLocation?: string }> {
  const { InvokeEndpointAsyncCommand } = await import("@aws-sdk/client-sagemaker-runtime");
  let out: { OutputLocation?: string; FailureLocation?: string };
  try {
    out = await deps.runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: request.endpointName,
        InputLocation: request.inputLocation,
        ContentType: "application/json",
        Accept: "application/json",
        InferenceId: request.inferenceId,
        InvocationTimeoutSeconds: Math.min(
          Math.max(1, Math.round(request.invocationTimeoutSeconds)),
          MAX_INVOCATION_TIMEOUT_SECONDS,
        ),
      }),
      { abortSignal: deps.signal },
    );
  } catch (error) {
    throw awsFailure(
      error,
      `InvokeEndpointAsync ${request.endpointName}`,
      "sagemaker:InvokeEndpointAsync",
      "The endpoint must exist, be InService and have an AsyncInferenceConfig (phases 6–7).",
    );
  }
  if (!out.OutputLocation) {
    throw new ExternalError("AWS_UNEXPECTED", "InvokeEndpointAsync returned no OutputLocation");
  }
  return {
    outputLocation: out.OutputLocation,
    ...(out.FailureLocation ? { failureLocation: out.FailureLocation } : {}),
  };
}

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

export interface WaitDeps extends S3Deps {
  clock: Clock;
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
    if (await objectExists(deps, job.outputLocation)) {
      return {
        outcome: {
          type: "output",
          body: Buffer.from(await readObject(deps, job.outputLocation)).toString("utf8"),
          seconds,
        },
        maxInstances,
        firstInstanceSeconds,
      };
    }
    if (job.failureLocation && (await objectExists(deps, job.failureLocation))) {
      return {
        outcome: {
          type: "failure",
          body: Buffer.from(await readObject(deps, job.failureLocation)).toString("utf8"),
          seconds,
        },
        maxInstances,
        firstInstanceSeconds,
      };
    }
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

/** The emulator's view of an endpoint (GET /local-sagemaker/endpoints/NAME); absent on real AWS. */
export const emulatorEndpointView = z.looseObject({
  counters: z.record(z.string(), z.unknown()).optional(),
  instances: z.array(z.unknown()).optional(),
  backlog: z.unknown().optional(),
  coldStarts: z.array(z.unknown()).optional(),
});
export type EmulatorEndpointView = z.infer<typeof emulatorEndpointView>;

/** The emulator's backlog for the endpoint, when it reports one as a number. */
export async function emulatorBacklog(
  awsEndpoint: string | undefined,
  endpointName: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const backlog = (await emulatorEndpoint(awsEndpoint, endpointName, signal))?.backlog;
  return typeof backlog === "number" ? backlog : undefined;
}

/**
 * Best effort: only asked when an endpoint override (a local emulator) is configured; any failure
 * (404, connection refused, another shape) is "no breakdown", never an error.
 */
export async function emulatorEndpoint(
  awsEndpoint: string | undefined,
  endpointName: string,
  signal: AbortSignal,
): Promise<EmulatorEndpointView | undefined> {
  if (!awsEndpoint) return undefined;
  try {
    const url = new URL(`/local-sagemaker/endpoints/${encodeURIComponent(endpointName)}`, awsEndpoint);
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
    if (!response.ok) return undefined;
    const parsed = emulatorEndpointView.safeParse(await response.json());
    return parsed.success ? parsed.data : undefined;
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
}

/** Statuses in which an endpoint accepts async jobs (Updating keeps serving on the old config). */
const ACCEPTING = new Set(["InService", "Updating", "SystemUpdating"]);

/**
 * Submits a job and records it twice through `record`: before the call (the intent, so a crash
 * mid-call is visible) and after it (with the output and failure locations), both before anyone
 * waits. Also notes the instance count and endpoint config at submission.
 */
export async function submitRecorded(
  deps: {
    runtime: SageMakerRuntimeClient;
    sagemaker: SageMakerClient;
    clock: Clock;
    signal: AbortSignal;
  },
  intent: Omit<AsyncJobRecord, "outputLocation" | "failureLocation" | "submittedAt">,
  invocationTimeoutSeconds: number,
  record: (job: AsyncJobRecord) => Promise<void>,
): Promise<SubmittedJob> {
  const endpoint = await describeEndpoint(deps.sagemaker, intent.endpointName, deps.signal);
  if (!endpoint) {
    throw new ExternalError("ENDPOINT_MISSING", `endpoint ${intent.endpointName} does not exist`, {
      hint: "Deploy it first: `gen3d deploy --to 8`.",
    });
  }
  if (!ACCEPTING.has(endpoint.EndpointStatus)) {
    throw new ExternalError(
      "ENDPOINT_NOT_IN_SERVICE",
      `endpoint ${intent.endpointName} is ${endpoint.EndpointStatus}${endpoint.FailureReason ? ` (${endpoint.FailureReason})` : ""}; it takes no jobs`,
      { hint: "`gen3d deploy --from 7` brings it back InService; `gen3d logs` shows why it is not." },
    );
  }
  const pending: AsyncJobRecord = {
    ...intent,
    endpointConfigName: endpoint.EndpointConfigName,
    instancesAtSubmit: variantCounts(endpoint, VARIANT_NAME).current,
  };
  await record(pending);
  const submittedAt = deps.clock.now().toISOString();
  const locations = await submitJob(deps, {
    endpointName: intent.endpointName,
    inputLocation: intent.inputLocation,
    inferenceId: intent.inferenceId,
    invocationTimeoutSeconds,
  });
  const job: SubmittedJob = { ...pending, ...locations, submittedAt };
  await record(job);
  return job;
}
