import type { CreateEndpointConfigInput, ProductionVariant } from "@aws-sdk/client-sagemaker";
import { driverPlan, type ImageCuda, noFitHint, parseCuda } from "../catalog/gpu-driver.js";
import { resourceNameProblems } from "../config/sagemaker-limits.js";
import type { Gen3dConfig } from "../config/schema.js";
import { UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import { asyncOutputPaths } from "./container-environment.js";
import { assertWithinLimits, projectTags, VARIANT_NAME } from "./sagemaker-names.js";

/** Instance families with local NVMe storage: SageMaker rejects VolumeSizeInGB for them. */
const INSTANCE_STORE_FAMILIES =
  /^ml\.(g4dn|g5|g6|g6e|p3dn|p4d|p4de|p5|p5e|p5en|m5d|c5d|r5d|m6id|c6id|r6id)\./;

export interface StartupHealthCheck {
  seconds: number;
  source: "config" | "measured";
  measured?: number;
}

/**
 * ContainerStartupHealthCheckTimeoutInSeconds. A configured value wins. Otherwise phase 3's
 * measurement (`measuredSeconds`, artifacts.localTest.secondsToHealthy), doubled plus 3 minutes
 * (on SageMaker the image layers and weights come from cold storage, not the build machine's page
 * cache), rounded up to whole minutes so that measurement noise does not make a new endpoint
 * config on every run, clamped to SageMaker's 60–3600.
 */
export function startupHealthCheckSeconds(
  config: Gen3dConfig,
  measuredSeconds: number | undefined,
): StartupHealthCheck {
  const configured = config.timeouts.containerStartupHealthCheckSeconds;
  if (configured !== undefined) return { seconds: configured, source: "config" };
  if (measuredSeconds === undefined) {
    throw new UserError(
      "UPSTREAM_MISSING",
      "phase 3 (local test) has not recorded a measured startup time (artifacts.localTest.secondsToHealthy)",
      {
        hint: "Run phase 3 first (`gen3d deploy --from 3`), or set timeouts.containerStartupHealthCheckSeconds in the config.",
      },
    );
  }
  return { seconds: deriveStartupTimeout(measuredSeconds), source: "measured", measured: measuredSeconds };
}

export function deriveStartupTimeout(measuredSeconds: number): number {
  const withMargin = Math.ceil((measuredSeconds * 2 + 180) / 60) * 60;
  return Math.min(3600, Math.max(60, withMargin));
}

/**
 * The InferenceAmiVersion the variant needs, from the CUDA version phase 2 read from the built
 * image: none when the family's default driver runs it (or the CUDA version is unknown), the
 * lowest-driver AMI that runs it and allows the family otherwise. No such AMI is a config error.
 */
export function inferenceAmiVersion(
  instanceType: string,
  recorded: ImageCuda | null | undefined,
): string | undefined {
  const cuda = recorded ? parseCuda(recorded.version) : undefined;
  if (!recorded || !cuda) return undefined;
  const plan = driverPlan(instanceType, cuda);
  if (plan.type === "ami") return plan.ami.version;
  if (plan.type === "no-fit") {
    throw new UserError(
      "GPU_DRIVER_MISMATCH",
      `instance.type ${instanceType}: no driver SageMaker offers for ${plan.family} runs the image's CUDA ${recorded.version} (${recorded.source})`,
      { hint: noFitHint(plan, recorded.version) },
    );
  }
  return undefined;
}

/** What the endpoint config derives from besides the config: what phases 2, 3 and 5 recorded. */
export interface EndpointConfigSource {
  config: Gen3dConfig;
  /** Phase 5's model. */
  modelName: string;
  /** Phase 3's seconds to the first healthy /ping, if it recorded them. */
  measuredStartupSeconds: number | undefined;
  /** The CUDA version phase 2 read from the image, if it could. */
  imageCuda: ImageCuda | null | undefined;
}

export interface DesiredEndpointConfig {
  name: string;
  input: CreateEndpointConfigInput & { EndpointConfigName: string };
  startup: StartupHealthCheck;
  settingsHash: string;
}

export function desiredEndpointConfig(source: EndpointConfigSource): DesiredEndpointConfig {
  const { config, modelName } = source;
  const startup = startupHealthCheckSeconds(config, source.measuredStartupSeconds);
  const ami = inferenceAmiVersion(config.instance.type, source.imageCuda);
  const volume = config.instance.volumeSizeGb;
  if (volume !== undefined && INSTANCE_STORE_FAMILIES.test(config.instance.type)) {
    throw new UserError(
      "CONFIG_VOLUME_UNSUPPORTED",
      `instance.volumeSizeGb is set, but ${config.instance.type} has local NVMe storage and SageMaker rejects VolumeSizeInGB for it`,
      { hint: "Remove instance.volumeSizeGb: the instance's own storage is used." },
    );
  }
  const variant: ProductionVariant = {
    VariantName: VARIANT_NAME,
    ModelName: modelName,
    InstanceType: config.instance.type as ProductionVariant["InstanceType"],
    InitialInstanceCount: config.instance.initialCount,
    ContainerStartupHealthCheckTimeoutInSeconds: startup.seconds,
    ModelDataDownloadTimeoutInSeconds: config.timeouts.modelDataDownloadSeconds,
    ...(volume === undefined ? {} : { VolumeSizeInGB: volume }),
    ...(ami === undefined ? {} : { InferenceAmiVersion: ami as ProductionVariant["InferenceAmiVersion"] }),
  };
  const paths = asyncOutputPaths(config);
  const notification =
    config.async.successTopicArn || config.async.errorTopicArn
      ? {
          NotificationConfig: {
            ...(config.async.successTopicArn ? { SuccessTopic: config.async.successTopicArn } : {}),
            ...(config.async.errorTopicArn ? { ErrorTopic: config.async.errorTopicArn } : {}),
          },
        }
      : {};
  const asyncConfig = {
    OutputConfig: { S3OutputPath: paths.output, S3FailurePath: paths.failure, ...notification },
    ClientConfig: { MaxConcurrentInvocationsPerInstance: config.async.maxConcurrentInvocationsPerInstance },
  };
  const settingsHash = hashValue({ variant, asyncConfig }, 12);
  const name = `${config.project.name}-cfg-${settingsHash}`;
  assertWithinLimits(resourceNameProblems("endpoint config", name));
  return {
    name,
    startup,
    settingsHash,
    input: {
      EndpointConfigName: name,
      ProductionVariants: [variant],
      AsyncInferenceConfig: asyncConfig,
      Tags: projectTags(config),
    },
  };
}
