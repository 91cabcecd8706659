import { z } from "zod";
import { type GateResult, gate } from "../engine/gate.js";
import type { DesiredEndpointConfig } from "../spec/sagemaker.js";
import { subsetDiff } from "./aws-compare.js";
import { describedOrFailed } from "./described.js";

export const describeEndpointConfigSchema = z.looseObject({
  EndpointConfigName: z.string(),
  EndpointConfigArn: z.string(),
  ProductionVariants: z
    .array(
      z.looseObject({
        VariantName: z.string(),
        ModelName: z.string(),
        InstanceType: z.string().optional(),
        InitialInstanceCount: z.number().optional(),
        ContainerStartupHealthCheckTimeoutInSeconds: z.number().optional(),
        ModelDataDownloadTimeoutInSeconds: z.number().optional(),
        InferenceAmiVersion: z.string().optional(),
      }),
    )
    .min(1),
  AsyncInferenceConfig: z
    .looseObject({
      OutputConfig: z.looseObject({
        S3OutputPath: z.string().optional(),
        S3FailurePath: z.string().optional(),
      }),
      ClientConfig: z.looseObject({ MaxConcurrentInvocationsPerInstance: z.number().optional() }).optional(),
    })
    .optional(),
});
export type DescribedEndpointConfig = z.infer<typeof describeEndpointConfigSchema>;

export function endpointConfigDifferences(
  desired: DesiredEndpointConfig,
  actual: DescribedEndpointConfig,
): string[] {
  const { Tags: _tags, ...wanted } = desired.input;
  return subsetDiff(wanted, actual);
}

export function endpointConfigGates(desired: DesiredEndpointConfig, raw: unknown): GateResult[] {
  const described = describedOrFailed(raw, describeEndpointConfigSchema, {
    id: "endpoint-config.exists",
    title: "endpoint config exists",
    missing: `SageMaker has no endpoint config ${desired.name}`,
    hint: "Run phase 6: `gen3d deploy --from 6`.",
    call: "DescribeEndpointConfig",
  });
  if ("failed" in described) return described.failed;
  const actual = described.found;
  const variant = actual.ProductionVariants[0];
  const gates: GateResult[] = [
    gate("endpoint-config.exists", "endpoint config exists", "pass", actual.EndpointConfigArn),
  ];
  const out = actual.AsyncInferenceConfig?.OutputConfig;
  gates.push(
    out?.S3OutputPath && out.S3FailurePath
      ? gate(
          "endpoint-config.async",
          "asynchronous inference",
          "pass",
          `output ${out.S3OutputPath}, failures ${out.S3FailurePath}`,
          {
            evidence: actual.AsyncInferenceConfig,
          },
        )
      : gate(
          "endpoint-config.async",
          "asynchronous inference",
          "fail",
          "no AsyncInferenceConfig with output and failure paths",
          {
            hint: "A real-time endpoint cannot scale to zero; re-run phase 6 to create the async config.",
          },
        ),
  );
  const startup = variant?.ContainerStartupHealthCheckTimeoutInSeconds;
  gates.push(
    startup === desired.startup.seconds
      ? gate(
          "endpoint-config.startup-timeout",
          "startup health-check timeout",
          "pass",
          `${startup} s (${desired.startup.source === "config" ? "configured" : `measured locally ${desired.startup.measured} s, with margin`})`,
        )
      : gate(
          "endpoint-config.startup-timeout",
          "startup health-check timeout",
          "fail",
          `${startup ?? "default (240)"} s, wanted ${desired.startup.seconds} s`,
        ),
  );
  const differences = endpointConfigDifferences(desired, actual);
  gates.push(
    differences.length === 0
      ? gate(
          "endpoint-config.matches",
          "endpoint config matches the config",
          "pass",
          `${variant?.InstanceType} × ${variant?.InitialInstanceCount}, model ${variant?.ModelName}`,
        )
      : gate(
          "endpoint-config.matches",
          "endpoint config matches the config",
          "fail",
          differences.join("; "),
          {
            hint: "Re-run phase 6 (`gen3d deploy --from 6`).",
            evidence: { differences },
          },
        ),
  );
  return gates;
}
