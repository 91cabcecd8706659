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

/**
 * SDK v3 clients, each created on first use so that commands which never talk to AWS never load
 * the SDK. Retries are the SDK's own (adaptive mode); an endpoint override points every client at
 * a local emulator.
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

type AwsSettings = Pick<Gen3dConfig["aws"], "region" | "profile" | "endpoint">;

export function createAwsClients(settings: AwsSettings): AwsClients {
  const cache = new Map<string, Promise<unknown>>();
  const base = async () => {
    const common: Record<string, unknown> = {
      region: settings.region,
      maxAttempts: 5,
      retryMode: "adaptive",
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
        client = base().then(make);
        cache.set(name, client);
      }
      return client;
    };
  }
  return {
    region: settings.region,
    endpoint: settings.endpoint,
    sts: lazy("sts", async (c) => new (await import("@aws-sdk/client-sts")).STSClient(c)),
    iam: lazy("iam", async (c) => new (await import("@aws-sdk/client-iam")).IAMClient(c)),
    s3: lazy(
      "s3",
      async (c) =>
        new (await import("@aws-sdk/client-s3")).S3Client({
          ...c,
          forcePathStyle: Boolean(settings.endpoint),
        }),
    ),
    ecr: lazy("ecr", async (c) => new (await import("@aws-sdk/client-ecr")).ECRClient(c)),
    sagemaker: lazy(
      "sagemaker",
      async (c) => new (await import("@aws-sdk/client-sagemaker")).SageMakerClient(c),
    ),
    sagemakerRuntime: lazy(
      "sagemakerRuntime",
      async (c) => new (await import("@aws-sdk/client-sagemaker-runtime")).SageMakerRuntimeClient(c),
    ),
    autoscaling: lazy(
      "autoscaling",
      async (c) =>
        new (await import("@aws-sdk/client-application-auto-scaling")).ApplicationAutoScalingClient(c),
    ),
    cloudwatch: lazy(
      "cloudwatch",
      async (c) => new (await import("@aws-sdk/client-cloudwatch")).CloudWatchClient(c),
    ),
    logs: lazy(
      "logs",
      async (c) => new (await import("@aws-sdk/client-cloudwatch-logs")).CloudWatchLogsClient(c),
    ),
    quotas: lazy(
      "quotas",
      async (c) => new (await import("@aws-sdk/client-service-quotas")).ServiceQuotasClient(c),
    ),
  };
}
