import {
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  type SageMakerClient,
  waitUntilEndpointDeleted,
  waitUntilEndpointInService,
} from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { ExternalError, InterruptedError, isAbort } from "../engine/errors.js";
import { awsErrorName, awsFailure, isAccessDenied, isNotFound } from "./aws-errors.js";

export const describeEndpointSchema = z.looseObject({
  EndpointName: z.string(),
  EndpointArn: z.string(),
  EndpointConfigName: z.string().optional(),
  EndpointStatus: z.string(),
  FailureReason: z.string().optional(),
  CreationTime: z.date().optional(),
  LastModifiedTime: z.date().optional(),
  ProductionVariants: z
    .array(
      z.looseObject({
        VariantName: z.string(),
        CurrentInstanceCount: z.number().optional(),
        DesiredInstanceCount: z.number().optional(),
      }),
    )
    .optional(),
  AsyncInferenceConfig: z.unknown().optional(),
});
export type DescribedEndpoint = z.infer<typeof describeEndpointSchema>;

/** Statuses from which SageMaker moves on by itself: gen3d waits, it never creates a second endpoint. */
export const TRANSITIONAL_STATUSES = new Set([
  "Creating",
  "Updating",
  "SystemUpdating",
  "RollingBack",
  "Deleting",
]);

export async function describeEndpoint(
  sagemaker: SageMakerClient,
  name: string,
  signal: AbortSignal,
): Promise<DescribedEndpoint | undefined> {
  let raw: DescribeEndpointCommandOutput;
  try {
    raw = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw awsFailure(error, `DescribeEndpoint ${name}`, "sagemaker:DescribeEndpoint");
  }
  const parsed = describeEndpointSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ExternalError("AWS_UNEXPECTED", `DescribeEndpoint ${name} answered in an unexpected shape`, {
      details: parsed.error.issues.map((i) => `• ${i.path.join(".")}: ${i.message}`),
    });
  }
  return parsed.data;
}

export function variantCounts(endpoint: DescribedEndpoint, variant: string) {
  const v = endpoint.ProductionVariants?.find((p) => p.VariantName === variant);
  return { current: v?.CurrentInstanceCount, desired: v?.DesiredInstanceCount };
}

export interface WaitOptions {
  maxWaitSeconds: number;
  minDelaySeconds: number;
  maxDelaySeconds: number;
  signal: AbortSignal;
  /** Called with every DescribeEndpoint the waiter makes. */
  onPoll?: (endpoint: DescribeEndpointCommandOutput) => void;
}

/**
 * The SDK waiter polls with a client we hand it; this one passes the run's abort signal and
 * reports every answer, so the user sees the status and elapsed time without extra calls. The
 * waiter retries any error but a ValidationException until its deadline; an error that waiting
 * cannot cure (access denied, bad credentials) stops it at once instead.
 */
interface Observed {
  client: SageMakerClient;
  signal: AbortSignal;
  fatal(): unknown;
}

function observedClient(sagemaker: SageMakerClient, options: WaitOptions): Observed {
  const stop = new AbortController();
  let fatal: unknown;
  const observed = {
    config: sagemaker.config,
    send: async (command: DescribeEndpointCommand) => {
      try {
        const out = await sagemaker.send(command, { abortSignal: options.signal });
        options.onPoll?.(out);
        return out;
      } catch (error) {
        if (
          isAccessDenied(error) ||
          /ExpiredToken|InvalidClientTokenId|UnrecognizedClient|CredentialsProviderError/.test(
            awsErrorName(error),
          )
        ) {
          fatal = error;
          stop.abort(error);
        }
        throw error;
      }
    },
  };
  return {
    client: observed as unknown as SageMakerClient,
    signal: AbortSignal.any([options.signal, stop.signal]),
    fatal: () => fatal,
  };
}

type EndpointWaiter = typeof waitUntilEndpointInService | typeof waitUntilEndpointDeleted;

/**
 * Runs an SDK endpoint waiter through the observed client. Resolves `"done"`, or `"timeout"`
 * when the waiter's deadline passed; an interruption or an error waiting cannot cure throws;
 * any other error is handed back for the caller to judge.
 */
async function runWaiter(
  waiter: EndpointWaiter,
  sagemaker: SageMakerClient,
  name: string,
  options: WaitOptions,
): Promise<"done" | "timeout" | { error: unknown }> {
  const observed = observedClient(sagemaker, options);
  try {
    await waiter(
      {
        client: observed.client,
        maxWaitTime: options.maxWaitSeconds,
        minDelay: options.minDelaySeconds,
        maxDelay: options.maxDelaySeconds,
        abortSignal: observed.signal,
      },
      { EndpointName: name },
    );
    return "done";
  } catch (error) {
    if (observed.fatal() !== undefined)
      throw awsFailure(observed.fatal(), `DescribeEndpoint ${name}`, "sagemaker:DescribeEndpoint");
    if (isAbort(error) || options.signal.aborted) throw new InterruptedError();
    if ((error as Error).name === "TimeoutError") return "timeout";
    return { error };
  }
}

export type WaitResult = { type: "in-service" } | { type: "failed" } | { type: "timeout" } | { type: "gone" };

/** Waits with `waitUntilEndpointInService`; a Failed endpoint and a timeout are results, not throws. */
export async function waitForInService(
  sagemaker: SageMakerClient,
  name: string,
  options: WaitOptions,
): Promise<WaitResult> {
  const result = await runWaiter(waitUntilEndpointInService, sagemaker, name, options);
  if (result === "done") return { type: "in-service" };
  if (result === "timeout") return { type: "timeout" };
  const now = await describeEndpoint(sagemaker, name, options.signal);
  if (now === undefined) return { type: "gone" };
  if (now.EndpointStatus === "Failed") return { type: "failed" };
  throw awsFailure(result.error, `waiting for endpoint ${name}`, "sagemaker:DescribeEndpoint");
}

export async function waitForDeleted(
  sagemaker: SageMakerClient,
  name: string,
  options: WaitOptions,
): Promise<void> {
  const result = await runWaiter(waitUntilEndpointDeleted, sagemaker, name, options);
  if (result === "done") return;
  if (result === "timeout") {
    throw new ExternalError(
      "ENDPOINT_DELETE_TIMEOUT",
      `endpoint ${name} was still deleting after ${options.maxWaitSeconds} s`,
      { hint: "Deletion continues in AWS; run the command again to keep waiting." },
    );
  }
  throw awsFailure(result.error, `waiting for endpoint ${name} to be deleted`, "sagemaker:DescribeEndpoint");
}
