import type { CreateModelInput } from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { environmentProblems, resourceNameProblems, tagProblems } from "../config/sagemaker-limits.js";
import type { Gen3dConfig } from "../config/schema.js";
import { UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import { containerEnvironment, modelDataPrefix, SAGEMAKER_MODEL_DIR } from "./container-environment.js";
import { assertWithinLimits, projectTags } from "./sagemaker-names.js";

const imageUriSchema = z
  .string()
  .regex(/^[^@\s]+@sha256:[a-f0-9]{64}$/, "must be REPOSITORY@sha256:<64 hex>");
const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export interface UpstreamImage {
  imageUri: string;
  imageDigest: string;
}

/** What phase 4 recorded of the pushed image (artifacts.imageUri, artifacts.imageDigest), as read. */
export interface RecordedImage {
  imageUri: unknown;
  imageDigest?: unknown;
}

/** Phase 4's pushed image, pinned by digest. Fails naming phase 4 when it is missing or malformed. */
export function upstreamImage({ imageUri, imageDigest }: RecordedImage): UpstreamImage {
  const uri = imageUriSchema.safeParse(imageUri);
  if (!uri.success) {
    throw new UserError(
      "UPSTREAM_MISSING",
      imageUri === undefined
        ? "STATE.json has no artifacts.imageUri: phase 4 (push) has not recorded the pushed image"
        : `artifacts.imageUri ${JSON.stringify(imageUri)} is not pinned by digest (REPOSITORY@sha256:…)`,
      { hint: "Run phase 4 first: `gen3d deploy --from 4` (or `gen3d resume`)." },
    );
  }
  const digest = uri.data.slice(uri.data.indexOf("@") + 1);
  if (imageDigest !== undefined && (!digestSchema.safeParse(imageDigest).success || imageDigest !== digest)) {
    throw new UserError(
      "UPSTREAM_INCONSISTENT",
      `artifacts.imageDigest (${String(imageDigest)}) does not match the digest in artifacts.imageUri (${digest})`,
      { hint: "STATE.json was edited or phase 4 was interrupted: re-run phase 4 (`gen3d deploy --from 4`)." },
    );
  }
  return { imageUri: uri.data, imageDigest: digest };
}

export interface DesiredModel {
  name: string;
  input: CreateModelInput & { ModelName: string };
  settingsHash: string;
}

/** The model gen3d wants: the pushed image by digest, the environment, S3 model data if packaged so. */
export function desiredModel(source: RecordedImage & { config: Gen3dConfig }): DesiredModel {
  const { config } = source;
  const image = upstreamImage(source);
  const environment = containerEnvironment(config);
  const usesS3 = environment.GEN3D_MODEL_DIR === SAGEMAKER_MODEL_DIR;
  const primaryContainer = {
    Image: image.imageUri,
    Mode: "SingleModel" as const,
    Environment: environment,
    ...(usesS3
      ? {
          ModelDataSource: {
            S3DataSource: {
              S3Uri: modelDataPrefix(config),
              S3DataType: "S3Prefix" as const,
              CompressionType: "None" as const,
            },
          },
        }
      : {}),
  };
  const settingsHash = hashValue({ primaryContainer, role: config.executionRoleArn }, 8);
  const digestHex = image.imageDigest.slice("sha256:".length, "sha256:".length + 8);
  const name = `${config.project.name}-${digestHex}-${settingsHash}`;
  assertWithinLimits([
    ...environmentProblems(environment, "localTest.environment"),
    ...resourceNameProblems("model", name),
    ...tagProblems(projectTags(config)),
  ]);
  return {
    name,
    settingsHash,
    input: {
      ModelName: name,
      ExecutionRoleArn: config.executionRoleArn,
      PrimaryContainer: primaryContainer,
      Tags: projectTags(config),
    },
  };
}
