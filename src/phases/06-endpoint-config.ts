import { z } from "zod";
import { createSageMakerApi, type SageMakerApi } from "../adapters/sagemaker.js";
import {
  describeEndpointConfigSchema,
  endpointConfigDifferences,
  endpointConfigGates,
} from "../checks/endpoint-config.js";
import { inputsOrPending } from "../spec/sagemaker.js";
import { acceptExisting, contentNamedReality, withCreated } from "./content-named.js";
import { definePhase } from "./contract.js";
import { desiredConfigFor, endpointConfigSourceNeeds } from "./endpoint-config-source.js";
import type { Phase, PhaseContext, Removal } from "./phase.js";
import { namesToRemove, removeEach } from "./teardown.js";

export type EndpointConfigOutcome = { type: "created" | "adopted" | "unchanged"; endpointConfigName: string };

/** Phase 5's model, and what the config's other settings derive from. */
const needs = { modelName: z.string().min(1), ...endpointConfigSourceNeeds };

/** Removes every endpoint config gen3d created (artifacts.createdEndpointConfigs and endpointConfigName). */
export async function removeEndpointConfigs(
  ctx: Pick<PhaseContext, "state">,
  sagemaker: Pick<SageMakerApi, "deleteEndpointConfig">,
): Promise<Removal[]> {
  const a = ctx.state.state.artifacts;
  return removeEach(
    "endpoint-config",
    namesToRemove(a.createdEndpointConfigs, a.endpointConfigName),
    (name) => sagemaker.deleteEndpointConfig(name),
  );
}

/** Phase 6: one async endpoint config per settings hash. */
export const endpointConfigPhase: Phase = definePhase({
  id: 6,
  name: "endpoint-config",
  title: "Create the async endpoint config",
  needs,
  produces: z.object({ endpointConfigName: z.string().min(1), createdEndpointConfigs: z.array(z.string()) }),

  async inputs(ctx) {
    return inputsOrPending(() => ({
      endpointConfig: desiredConfigFor(ctx, ctx.upstream.modelName).input,
      region: ctx.aws.region,
    }));
  },

  async run(ctx) {
    const desired = desiredConfigFor(ctx, ctx.upstream.modelName);
    const sagemaker = createSageMakerApi(ctx);
    const existing = await sagemaker.describeEndpointConfig(desired.name);
    const created = ctx.state.state.artifacts.createdEndpointConfigs;
    let type: EndpointConfigOutcome["type"];
    if (existing !== undefined) {
      type = acceptExisting(
        ctx,
        {
          kind: "endpoint config",
          name: desired.name,
          deleteCommand: `sagemaker delete-endpoint-config --endpoint-config-name ${desired.name}`,
          conflictCode: "ENDPOINT_CONFIG_CONFLICT",
        },
        endpointConfigDifferences(desired, describeEndpointConfigSchema.parse(existing)),
        created,
      );
    } else {
      ctx.progress(
        `creating endpoint config ${desired.name} (startup health check ${desired.startup.seconds} s)`,
      );
      await sagemaker.createEndpointConfig(desired.input, (error) =>
        /instance type|InstanceType/i.test(String((error as Error).message))
          ? `Check that ${ctx.config.instance.type} is offered for SageMaker inference in ${ctx.aws.region}.`
          : undefined,
      );
      type = "created";
    }
    const artifacts = {
      endpointConfigName: desired.name,
      createdEndpointConfigs: withCreated(created, desired.name),
    };
    await ctx.state.setArtifacts(artifacts);
    const outcome: EndpointConfigOutcome = { type, endpointConfigName: desired.name };
    return { outcome: type, artifacts, evidence: { outcome, startupHealthCheck: desired.startup } };
  },

  async verify(ctx) {
    const desired = desiredConfigFor(ctx, ctx.upstream.modelName);
    return endpointConfigGates(desired, await createSageMakerApi(ctx).describeEndpointConfig(desired.name));
  },

  /** DescribeEndpointConfig: the config still exists with the settings gen3d gave it. */
  async reality(ctx) {
    const desired = desiredConfigFor(ctx, ctx.upstream.modelName);
    const raw = await createSageMakerApi(ctx).describeEndpointConfig(desired.name);
    const what = { kind: "endpoint config", name: desired.name, label: "config" };
    return contentNamedReality(what, raw, describeEndpointConfigSchema, (actual) =>
      endpointConfigDifferences(desired, actual),
    );
  },

  async teardown(ctx) {
    return removeEndpointConfigs(ctx, createSageMakerApi(ctx));
  },
});
