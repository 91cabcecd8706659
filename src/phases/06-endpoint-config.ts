import { CreateEndpointConfigCommand } from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { awsFailure } from "../adapters/aws-errors.js";
import { describeEndpointConfig } from "../adapters/sagemaker-endpoint-config.js";
import {
  describeEndpointConfigSchema,
  endpointConfigDifferences,
  endpointConfigGates,
} from "../checks/endpoint-config.js";
import { compared, gone } from "../checks/reality.js";
import { awsCli } from "../config/aws-cli.js";
import { ExternalError } from "../engine/errors.js";
import { type DesiredEndpointConfig, desiredEndpointConfig, inputsOrPending } from "../spec/sagemaker.js";
import { type ContractContext, definePhase } from "./contract.js";
import type { Phase } from "./phase.js";

export type EndpointConfigOutcome = { type: "created" | "adopted" | "unchanged"; endpointConfigName: string };

const needs = { modelName: z.string().min(1) };

function desiredConfigFor(ctx: ContractContext<typeof needs>): DesiredEndpointConfig {
  return desiredEndpointConfig(ctx, ctx.upstream.modelName);
}

/** Phase 6: one async endpoint config per settings hash. */
export const endpointConfigPhase: Phase = definePhase({
  id: 6,
  name: "endpoint-config",
  title: "Create the async endpoint config",
  needs,
  produces: z.object({ endpointConfigName: z.string().min(1), createdEndpointConfigs: z.array(z.string()) }),

  async inputs(ctx) {
    return inputsOrPending(() => ({ endpointConfig: desiredConfigFor(ctx).input, region: ctx.aws.region }));
  },

  async run(ctx) {
    const desired = desiredConfigFor(ctx);
    const sagemaker = await ctx.aws.sagemaker();
    const existing = await describeEndpointConfig(sagemaker, desired.name, ctx.signal);
    let type: EndpointConfigOutcome["type"];
    if (existing !== undefined) {
      const differences = endpointConfigDifferences(desired, describeEndpointConfigSchema.parse(existing));
      if (differences.length > 0) {
        throw new ExternalError(
          "ENDPOINT_CONFIG_CONFLICT",
          `endpoint config ${desired.name} exists but differs from what gen3d derives`,
          {
            details: differences.map((d) => `• ${d}`),
            hint: `Delete it (\`${awsCli(ctx.config, `sagemaker delete-endpoint-config --endpoint-config-name ${desired.name}`)}\`) and run \`gen3d resume\`.`,
          },
        );
      }
      type = ctx.state.state.artifacts.createdEndpointConfigs?.includes(desired.name)
        ? "unchanged"
        : "adopted";
      ctx.progress(`endpoint config ${desired.name} already exists and matches`);
    } else {
      ctx.progress(
        `creating endpoint config ${desired.name} (startup health check ${desired.startup.seconds} s)`,
      );
      try {
        await sagemaker.send(new CreateEndpointConfigCommand(desired.input), { abortSignal: ctx.signal });
      } catch (error) {
        throw awsFailure(
          error,
          `CreateEndpointConfig ${desired.name}`,
          "sagemaker:CreateEndpointConfig",
          /instance type|InstanceType/i.test(String((error as Error).message))
            ? `Check that ${ctx.config.instance.type} is offered for SageMaker inference in ${ctx.aws.region}.`
            : undefined,
        );
      }
      type = "created";
    }
    const created = new Set(ctx.state.state.artifacts.createdEndpointConfigs ?? []);
    created.add(desired.name);
    const artifacts = { endpointConfigName: desired.name, createdEndpointConfigs: [...created] };
    await ctx.state.setArtifacts(artifacts);
    const outcome: EndpointConfigOutcome = { type, endpointConfigName: desired.name };
    return { outcome: type, artifacts, evidence: { outcome, startupHealthCheck: desired.startup } };
  },

  async verify(ctx) {
    const desired = desiredConfigFor(ctx);
    const sagemaker = await ctx.aws.sagemaker();
    return endpointConfigGates(desired, await describeEndpointConfig(sagemaker, desired.name, ctx.signal));
  },

  /** DescribeEndpointConfig: the config still exists with the settings gen3d gave it. */
  async reality(ctx) {
    const desired = desiredConfigFor(ctx);
    const raw = await describeEndpointConfig(await ctx.aws.sagemaker(), desired.name, ctx.signal);
    if (raw === undefined) return gone(`endpoint config ${desired.name} no longer exists`);
    const parsed = describeEndpointConfigSchema.safeParse(raw);
    const differences = parsed.success
      ? endpointConfigDifferences(desired, parsed.data)
      : ["(root): unreadable"];
    return compared("config", differences, `endpoint config ${desired.name} exists`);
  },
});
