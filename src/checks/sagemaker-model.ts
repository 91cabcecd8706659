import { z } from "zod";
import { type GateResult, gate } from "../engine/gate.js";
import type { DesiredModel } from "../spec/sagemaker.js";
import { subsetDiff } from "./aws-compare.js";
import { describedOrFailed } from "./described.js";
import type { ModelDataReport } from "./model-data.js";

/** The parts of DescribeModel that gen3d reads. */
export const describeModelSchema = z.looseObject({
  ModelName: z.string(),
  ModelArn: z.string(),
  ExecutionRoleArn: z.string(),
  PrimaryContainer: z.looseObject({
    Image: z.string(),
    Environment: z.record(z.string(), z.string()).optional(),
    ModelDataSource: z
      .looseObject({
        S3DataSource: z.looseObject({
          S3Uri: z.string(),
          S3DataType: z.string(),
          CompressionType: z.string(),
        }),
      })
      .optional(),
  }),
});
export type DescribedModel = z.infer<typeof describeModelSchema>;

/** What differs between the model gen3d wants and the one SageMaker holds. */
export function modelDifferences(desired: DesiredModel, actual: DescribedModel): string[] {
  const { Tags: _tags, ...wanted } = desired.input;
  return subsetDiff(wanted, actual, { exact: ["PrimaryContainer.Environment"] });
}

export function modelGates(
  desired: DesiredModel,
  raw: unknown,
  modelDataObjects?: ModelDataReport,
): GateResult[] {
  const described = describedOrFailed(raw, describeModelSchema, {
    id: "model.exists",
    title: "model exists",
    missing: `SageMaker has no model ${desired.name}`,
    hint: "Run phase 5: `gen3d deploy --from 5`.",
    call: "DescribeModel",
  });
  if ("failed" in described) return described.failed;
  const model = described.found;
  const gates: GateResult[] = [
    gate("model.exists", "model exists", "pass", model.ModelArn, { evidence: { ModelArn: model.ModelArn } }),
  ];
  const image = model.PrimaryContainer.Image;
  gates.push(
    image === desired.input.PrimaryContainer?.Image && /@sha256:[a-f0-9]{64}$/.test(image)
      ? gate("model.image-pinned", "image pinned by the pushed digest", "pass", image, {
          evidence: { image },
        })
      : gate("model.image-pinned", "image pinned by the pushed digest", "fail", `model image is ${image}`, {
          hint: "The model must reference the exact pushed digest (REPOSITORY@sha256:…); re-run phase 5.",
          evidence: { image, wanted: desired.input.PrimaryContainer?.Image },
        }),
  );
  gates.push(
    model.ExecutionRoleArn === desired.input.ExecutionRoleArn
      ? gate("model.role", "execution role", "pass", model.ExecutionRoleArn)
      : gate("model.role", "execution role", "fail", `model runs as ${model.ExecutionRoleArn}`, {
          hint: `The config names ${desired.input.ExecutionRoleArn}; re-run phase 5.`,
        }),
  );
  const differences = modelDifferences(desired, model);
  gates.push(
    differences.length === 0
      ? gate(
          "model.matches",
          "model matches the config",
          "pass",
          "image, environment, role and model data match",
          {
            evidence: { environment: model.PrimaryContainer.Environment },
          },
        )
      : gate("model.matches", "model matches the config", "fail", differences.join("; "), {
          hint: "The model differs from what gen3d would create; re-run phase 5 (`gen3d deploy --from 5`).",
          evidence: { differences },
        }),
  );
  if (modelDataObjects) {
    const { count, bytes, prefix, problems } = modelDataObjects;
    gates.push(
      count === 0
        ? gate("model.data", "S3 model data present", "fail", `no object under ${prefix}`, {
            hint: 'Upload the model weights there (uncompressed), or set packaging "image" to bake them into the image.',
          })
        : problems.length > 0
          ? gate(
              "model.data",
              "S3 model data present",
              "fail",
              `${problems.length} key(s) under ${prefix} are refused by SageMaker for uncompressed model data`,
              {
                details: problems.slice(0, 20),
                hint: "Delete folder objects, re-upload keys with empty, '.' or '..' segments, and resolve file/directory clashes.",
              },
            )
          : gate(
              "model.data",
              "S3 model data present",
              "pass",
              `${count} object(s), ${bytes} bytes under ${prefix}, every key a clean file path`,
            ),
    );
  }
  return gates;
}
