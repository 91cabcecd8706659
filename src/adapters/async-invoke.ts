import { createHash } from "node:crypto";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { z } from "zod";
import type { Clock } from "../engine/clock.js";
import { ExternalError } from "../engine/errors.js";
import { VARIANT_NAME } from "../spec/sagemaker.js";
import { awsFailure } from "./aws-errors.js";
import type { S3Location, S3Objects } from "./s3.js";
import { describeEndpoint, variantCounts } from "./sagemaker-endpoint.js";

/**
 * One async invocation end to end, shared by phase 9, phase 10's cold start and `gen3d invoke`:
 * upload the request (once) and InvokeEndpointAsync; waiting for the output or failure object is
 * async-wait.ts. Callers record the submitted job before they wait, so a killed run polls it
 * again instead of submitting a second one.
 */

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

const SHA_METADATA = "gen3d-sha256";

/**
 * Puts `body` at `location` unless an object with the same content is already there (its recorded
 * sha256, or an ETag equal to the body's MD5): a resumed run never uploads an input twice.
 */
export async function uploadOnce(
  s3: S3Objects,
  location: S3Location,
  body: Uint8Array,
  contentType: string,
): Promise<{ uploaded: boolean; sha256: string }> {
  const sha256 = sha256Hex(body);
  const head = await s3.headObject(location);
  if (
    head &&
    (head.metadata[SHA_METADATA] === sha256 || head.etag === createHash("md5").update(body).digest("hex"))
  )
    return { uploaded: false, sha256 };
  await s3.putObject(location, body, { contentType, metadata: { [SHA_METADATA]: sha256 } });
  return { uploaded: true, sha256 };
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
