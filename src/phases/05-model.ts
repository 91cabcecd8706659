import { CreateModelCommand, DescribeModelCommand, type SageMakerClient } from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { awsFailure, isNotFound } from "../adapters/aws-errors.js";
import { listAllObjects } from "../adapters/s3-listing.js";
import { type ModelDataReport, modelDataReport } from "../checks/model-data.js";
import { compared, gone } from "../checks/reality.js";
import { describeModelSchema, modelDifferences, modelGates } from "../checks/sagemaker-model.js";
import { awsCli } from "../config/aws-cli.js";
import { ExternalError, GateFailedError } from "../engine/errors.js";
import { desiredModel, inputsOrPending, modelDataPrefix, SAGEMAKER_MODEL_DIR } from "../spec/sagemaker.js";
import { definePhase } from "./contract.js";
import type { Phase, PhaseContext } from "./phase.js";

export type ModelOutcome = { type: "created" | "adopted" | "unchanged"; modelName: string; modelArn: string };

async function describeModel(
  sagemaker: SageMakerClient,
  name: string,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return await sagemaker.send(new DescribeModelCommand({ ModelName: name }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw awsFailure(error, `DescribeModel ${name}`, "sagemaker:DescribeModel");
  }
}

/** Every object under the S3 model data prefix (all pages), and what SageMaker would refuse in it. */
async function inspectModelData(ctx: PhaseContext): Promise<ModelDataReport | undefined> {
  const desired = desiredModel(ctx);
  if (desired.input.PrimaryContainer?.Environment?.GEN3D_MODEL_DIR !== SAGEMAKER_MODEL_DIR) return undefined;
  const prefix = modelDataPrefix(ctx.config);
  const key = prefix.slice(`s3://${ctx.config.s3.bucket}/`.length);
  const objects = await listAllObjects(await ctx.aws.s3(), ctx.config.s3.bucket, key, ctx.signal);
  return modelDataReport(prefix, key, objects);
}

/** Phase 5: the SageMaker model, image pinned by digest, named by content. */
export const modelPhase: Phase = definePhase({
  id: 5,
  name: "model",
  title: "Create the SageMaker model",
  produces: z.object({ modelName: z.string().min(1), createdModels: z.array(z.string()) }),

  async inputs(ctx) {
    return inputsOrPending(() => ({ model: desiredModel(ctx).input, region: ctx.aws.region }));
  },

  async run(ctx) {
    const desired = desiredModel(ctx);
    const sagemaker = await ctx.aws.sagemaker();
    const outcome = await ensureModel(ctx, sagemaker);
    const created = new Set(ctx.state.state.artifacts.createdModels ?? []);
    created.add(desired.name);
    const artifacts = { modelName: desired.name, createdModels: [...created] };
    await ctx.state.setArtifacts(artifacts);
    return { outcome: outcome.type, artifacts, evidence: { outcome } };
  },

  async verify(ctx) {
    const desired = desiredModel(ctx);
    const sagemaker = await ctx.aws.sagemaker();
    const raw = await describeModel(sagemaker, desired.name, ctx.signal);
    return modelGates(desired, raw, raw === undefined ? undefined : await inspectModelData(ctx));
  },

  /** DescribeModel: the model still exists and matches what gen3d created. */
  async reality(ctx) {
    const desired = desiredModel(ctx);
    const raw = await describeModel(await ctx.aws.sagemaker(), desired.name, ctx.signal);
    if (raw === undefined) return gone(`model ${desired.name} no longer exists`);
    const parsed = describeModelSchema.safeParse(raw);
    const differences = parsed.success ? modelDifferences(desired, parsed.data) : ["(root): unreadable"];
    return compared(`model ${desired.name}`, differences, `model ${desired.name} exists`);
  },
});

async function ensureModel(ctx: PhaseContext, sagemaker: SageMakerClient): Promise<ModelOutcome> {
  const desired = desiredModel(ctx);
  const existing = await describeModel(sagemaker, desired.name, ctx.signal);
  if (existing !== undefined) {
    const actual = describeModelSchema.parse(existing);
    const differences = modelDifferences(desired, actual);
    if (differences.length > 0) {
      // The name carries a hash of the settings, so this is someone else's model under our name.
      throw new ExternalError(
        "MODEL_CONFLICT",
        `model ${desired.name} exists but differs from what gen3d derives`,
        {
          details: differences.map((d) => `• ${d}`),
          hint: `Delete it (\`${awsCli(ctx.config, `sagemaker delete-model --model-name ${desired.name}`)}\`) and run \`gen3d resume\`.`,
        },
      );
    }
    const recorded = ctx.state.state.artifacts.createdModels?.includes(desired.name) ?? false;
    ctx.progress(`model ${desired.name} already exists and matches`);
    return { type: recorded ? "unchanged" : "adopted", modelName: desired.name, modelArn: actual.ModelArn };
  }
  const data = await inspectModelData(ctx);
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
  try {
    const created = await sagemaker.send(new CreateModelCommand(desired.input), { abortSignal: ctx.signal });
    return { type: "created", modelName: desired.name, modelArn: created.ModelArn ?? "" };
  } catch (error) {
    throw awsFailure(
      error,
      `CreateModel ${desired.name}`,
      "sagemaker:CreateModel (and iam:PassRole on the execution role)",
    );
  }
}
