import { z } from "zod";
import { createS3 } from "../adapters/s3.js";
import { createSageMakerApi, type SageMakerApi } from "../adapters/sagemaker.js";
import { type ModelDataReport, modelDataReport } from "../checks/model-data.js";
import { describeModelSchema, modelDifferences, modelGates } from "../checks/sagemaker-model.js";
import { awsCli } from "../config/aws-cli.js";
import { ExternalError, GateFailedError } from "../engine/errors.js";
import {
  type DesiredModel,
  desiredModel,
  inputsOrPending,
  modelDataPrefix,
  SAGEMAKER_MODEL_DIR,
} from "../spec/sagemaker.js";
import { acceptExisting, contentNamedReality, withCreated } from "./content-named.js";
import { type ContractContext, definePhase } from "./contract.js";
import type { Phase, PhaseContext, Removal } from "./phase.js";
import { namesToRemove, removeEach } from "./teardown.js";

export type ModelOutcome = { type: "created" | "adopted" | "unchanged"; modelName: string; modelArn: string };

/** Phase 4's pushed image, pinned by digest. */
const needs = { imageUri: z.string().min(1), imageDigest: z.string().min(1) };
type ModelContext = ContractContext<typeof needs>;

function desiredModelFor(ctx: ModelContext): DesiredModel {
  const { imageUri, imageDigest } = ctx.upstream;
  return desiredModel({ config: ctx.config, imageUri, imageDigest });
}

/** Every object under the S3 model data prefix (all pages), and what SageMaker would refuse in it. */
async function inspectModelData(
  ctx: PhaseContext,
  desired: DesiredModel,
): Promise<ModelDataReport | undefined> {
  if (desired.input.PrimaryContainer?.Environment?.GEN3D_MODEL_DIR !== SAGEMAKER_MODEL_DIR) return undefined;
  const prefix = modelDataPrefix(ctx.config);
  const key = prefix.slice(`s3://${ctx.config.s3.bucket}/`.length);
  const objects = await createS3(ctx).listObjects(ctx.config.s3.bucket, key);
  return modelDataReport(prefix, key, objects);
}

/** Removes every model gen3d created (artifacts.createdModels and modelName); a missing one is already gone. */
export async function removeModels(
  ctx: Pick<PhaseContext, "state">,
  sagemaker: Pick<SageMakerApi, "deleteModel">,
): Promise<Removal[]> {
  const a = ctx.state.state.artifacts;
  return removeEach("model", namesToRemove(a.createdModels, a.modelName), (name) =>
    sagemaker.deleteModel(name),
  );
}

/** Phase 5: the SageMaker model, image pinned by digest, named by content. */
export const modelPhase: Phase = definePhase({
  id: 5,
  name: "model",
  title: "Create the SageMaker model",
  needs,
  produces: z.object({ modelName: z.string().min(1), createdModels: z.array(z.string()) }),

  async inputs(ctx) {
    return inputsOrPending(() => ({ model: desiredModelFor(ctx).input, region: ctx.aws.region }));
  },

  async run(ctx) {
    const desired = desiredModelFor(ctx);
    const outcome = await ensureModel(ctx, createSageMakerApi(ctx), desired);
    const artifacts = {
      modelName: desired.name,
      createdModels: withCreated(ctx.state.state.artifacts.createdModels, desired.name),
    };
    await ctx.state.setArtifacts(artifacts);
    return { outcome: outcome.type, artifacts, evidence: { outcome } };
  },

  async verify(ctx) {
    const desired = desiredModelFor(ctx);
    const raw = await createSageMakerApi(ctx).describeModel(desired.name);
    return modelGates(desired, raw, raw === undefined ? undefined : await inspectModelData(ctx, desired));
  },

  /** DescribeModel: the model still exists and matches what gen3d created. */
  async reality(ctx) {
    const desired = desiredModelFor(ctx);
    const raw = await createSageMakerApi(ctx).describeModel(desired.name);
    const what = { kind: "model", name: desired.name, label: `model ${desired.name}` };
    return contentNamedReality(what, raw, describeModelSchema, (actual) => modelDifferences(desired, actual));
  },

  async teardown(ctx) {
    return removeModels(ctx, createSageMakerApi(ctx));
  },
});

async function ensureModel(
  ctx: PhaseContext,
  sagemaker: SageMakerApi,
  desired: DesiredModel,
): Promise<ModelOutcome> {
  const existing = await sagemaker.describeModel(desired.name);
  if (existing !== undefined) {
    const actual = describeModelSchema.parse(existing);
    const type = acceptExisting(
      ctx,
      {
        kind: "model",
        name: desired.name,
        deleteCommand: `sagemaker delete-model --model-name ${desired.name}`,
        conflictCode: "MODEL_CONFLICT",
      },
      modelDifferences(desired, actual),
      ctx.state.state.artifacts.createdModels,
    );
    return { type, modelName: desired.name, modelArn: actual.ModelArn };
  }
  const data = await inspectModelData(ctx, desired);
  if (data && data.count === 0) {
    throw new ExternalError("MODEL_DATA_MISSING", `no model data under ${data.prefix}`, {
      hint: 'Upload the weights there uncompressed (SageMaker copies the prefix to /opt/ml/model), or use packaging "image".',
    });
  }
  if (data && data.problems.length > 0) {
    // SageMaker accepts CreateModel and fails only when an instance copies the data: stop here.
    throw new GateFailedError(
      "MODEL_DATA_INVALID",
      `${data.problems.length} key(s) under ${data.prefix} are refused by SageMaker for uncompressed (S3Prefix) model data`,
      {
        details: [
          ...data.problems.slice(0, 20).map((p) => `• ${p}`),
          ...(data.problems.length > 20 ? [`… and ${data.problems.length - 20} more`] : []),
        ],
        hint: `Fix the keys above (\`${awsCli(ctx.config, `s3 ls --recursive ${data.prefix}`)}\`), then \`gen3d deploy --from 5\`.`,
      },
    );
  }
  ctx.progress(`creating model ${desired.name}`);
  const { modelArn } = await sagemaker.createModel(desired.input);
  return { type: "created", modelName: desired.name, modelArn };
}
