import type { ApplicationAutoScalingClient } from "@aws-sdk/client-application-auto-scaling";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import type { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import type { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import type { STSClient } from "@aws-sdk/client-sts";
import type { Gen3dConfig } from "../config/schema.js";
import { connectionRefused, isConnectionRefused } from "./aws-errors.js";

/**
 * SDK v3 clients, each created on first use so that commands which never talk to AWS never load
 * the SDK. Retries are the SDK's own (adaptive mode), except that a refused connection is final;
 * an endpoint override points every client at a local emulator.
 */
export interface AwsClients {
  readonly region: string;
  readonly endpoint: string | undefined;
  sts(): Promise<STSClient>;
  iam(): Promise<IAMClient>;
  s3(): Promise<S3Client>;
  ecr(): Promise<ECRClient>;
  sagemaker(): Promise<SageMakerClient>;
  sagemakerRuntime(): Promise<SageMakerRuntimeClient>;
  autoscaling(): Promise<ApplicationAutoScalingClient>;
  cloudwatch(): Promise<CloudWatchClient>;
  logs(): Promise<CloudWatchLogsClient>;
  quotas(): Promise<ServiceQuotasClient>;
}

/** What every facade is made from: the clients, and the run's abort signal for each call. */
export interface AwsScope {
  aws: AwsClients;
  signal: AbortSignal;
}

type ClientClass<T> = new (config: Record<string, unknown>) => T;

type AwsSettings = Pick<Gen3dConfig["aws"], "region" | "profile" | "endpoint">;

export const MAX_ATTEMPTS = 5;

/**
 * The SDK's adaptive retry strategy (backoff, Retry-After, the client-side rate limiter for
 * throttling and 5xx), told one thing more: a refused connection is not retried. Nothing listens
 * on that port, and five attempts with backoff, times every call of a phase, only delay saying
 * so by a minute. A reset or a timeout stays transient and is retried.
 */
export async function failFastRetryStrategy(maxAttempts = MAX_ATTEMPTS) {
  const { AdaptiveRetryStrategy } = await import("@smithy/core/retry");
  type Token = Parameters<InstanceType<typeof AdaptiveRetryStrategy>["refreshRetryTokenForRetry"]>[0];
  type ErrorInfo = Parameters<InstanceType<typeof AdaptiveRetryStrategy>["refreshRetryTokenForRetry"]>[1];
  return new (class extends AdaptiveRetryStrategy {
    override async refreshRetryTokenForRetry(token: Token, errorInfo: ErrorInfo) {
      // Throwing here ends the SDK's retry loop, which then throws the request's own error.
      if (isConnectionRefused(errorInfo.error)) throw errorInfo.error;
      return super.refreshRetryTokenForRetry(token, errorInfo);
    }
  })(maxAttempts);
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

/** A refused connection reaches the caller as an error that names the endpoint and the fix. */
function explainRefused<T>(client: T, endpoint: string | undefined): T {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw isConnectionRefused(error) ? connectionRefused(error, endpoint, context.commandName) : error;
      }
    },
    { step: "initialize", name: "gen3dExplainRefusedConnection" },
  );
  return client;
}

export function createAwsClients(settings: AwsSettings): AwsClients {
  const cache = new Map<string, Promise<unknown>>();
  const base = async () => {
    const common: Record<string, unknown> = {
      region: settings.region,
      retryStrategy: await failFastRetryStrategy(),
    };
    if (settings.endpoint) common.endpoint = settings.endpoint;
    if (settings.profile) {
      const { fromIni } = await import("@aws-sdk/credential-providers");
      common.credentials = fromIni({ profile: settings.profile });
    } else if (settings.endpoint) {
      // A local emulator accepts any keys: use the environment's when there are some, else
      // placeholders, so `gen3d status --live` on the local setup needs no credentials.
      const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
      const chain = fromNodeProviderChain();
      common.credentials = () =>
        chain().catch(() => ({
          accessKeyId: "gen3d-local-emulator",
          secretAccessKey: "gen3d-local-emulator",
        }));
    }
    return common;
  };
  function lazy<T>(name: string, make: (common: Record<string, unknown>) => Promise<T>): () => Promise<T> {
    return () => {
      let client = cache.get(name) as Promise<T> | undefined;
      if (!client) {
        client = base()
          .then(make)
          .then((made) => explainRefused(made, settings.endpoint));
        cache.set(name, client);
      }
      return client;
    };
  }
  /** Each SDK client loads only when first asked for. */
  const sdk = <T>(name: string, load: () => Promise<ClientClass<T>>) =>
    lazy(name, async (c) => new (await load())(c));
  return {
    region: settings.region,
    endpoint: settings.endpoint,
    sts: sdk("sts", async () => (await import("@aws-sdk/client-sts")).STSClient),
    iam: sdk("iam", async () => (await import("@aws-sdk/client-iam")).IAMClient),
    s3: lazy(
      "s3",
      async (c) =>
        new (await import("@aws-sdk/client-s3")).S3Client({
          ...c,
          forcePathStyle: Boolean(settings.endpoint),
        }),
    ),
    ecr: sdk("ecr", async () => (await import("@aws-sdk/client-ecr")).ECRClient),
    sagemaker: sdk("sagemaker", async () => (await import("@aws-sdk/client-sagemaker")).SageMakerClient),
    sagemakerRuntime: sdk(
      "sagemakerRuntime",
      async () => (await import("@aws-sdk/client-sagemaker-runtime")).SageMakerRuntimeClient,
    ),
    autoscaling: sdk(
      "autoscaling",
      async () => (await import("@aws-sdk/client-application-auto-scaling")).ApplicationAutoScalingClient,
    ),
    cloudwatch: sdk("cloudwatch", async () => (await import("@aws-sdk/client-cloudwatch")).CloudWatchClient),
    logs: sdk("logs", async () => (await import("@aws-sdk/client-cloudwatch-logs")).CloudWatchLogsClient),
    quotas: sdk("quotas", async () => (await import("@aws-sdk/client-service-quotas")).ServiceQuotasClient),
  };
}
