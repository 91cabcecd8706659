import { z } from "zod";
import { createSageMakerApi } from "../adapters/sagemaker.js";
import { endpointGates } from "../checks/endpoint.js";
import { describeEndpointConfigSchema, endpointConfigDifferences } from "../checks/endpoint-config.js";
import { confirmed, describeChange, gone } from "../checks/reality.js";
import type { Reality } from "../engine/gate.js";
import { endpointNameFor, inputsOrPending } from "../spec/sagemaker.js";
import { definePhase } from "./contract.js";
import { pruneSuperseded } from "./deploy/prune.js";
import { type DeployContext, type DeployTiming, deploy, deployNeeds } from "./deploy/rollout.js";
import { removeEndpoint } from "./deploy/teardown.js";
import { desiredConfigFor } from "./endpoint-config-source.js";
import type { Phase } from "./phase.js";

export { endpointFailure } from "./deploy/failure.js";
export type { DeployOutcome, DeployTiming } from "./deploy/rollout.js";
export { removeEndpoint, settleBeforeTeardown } from "./deploy/teardown.js";

/** DescribeEndpoint: it exists, has not failed, and runs the config gen3d deployed. */
async function endpointReality(ctx: DeployContext): Promise<Reality> {
  const name = endpointNameFor(ctx.config);
  const configName = ctx.upstream.endpointConfigName;
  const sagemaker = createSageMakerApi(ctx);
  const endpoint = await sagemaker.describeEndpoint(name);
  if (endpoint === undefined) return gone(`endpoint ${name} no longer exists`);
  if (endpoint.EndpointStatus === "Failed" || endpoint.EndpointStatus === "Deleting") {
    return gone(`endpoint ${name} is ${endpoint.EndpointStatus}`);
  }
  const running = endpoint.EndpointConfigName;
  if (running === configName || running === undefined) {
    return confirmed(`endpoint ${name} is ${endpoint.EndpointStatus} on ${configName}`);
  }
  const actual = describeEndpointConfigSchema.safeParse(await sagemaker.describeEndpointConfig(running));
  const changes = actual.success
    ? endpointConfigDifferences(desiredConfigFor(ctx, ctx.upstream.modelName), actual.data)
        .filter((d) => !d.startsWith("EndpointConfigName:"))
        .map(describeChange)
    : [];
  return {
    type: "changed",
    reason: `config changed outside gen3d: endpoint ${name} runs ${running}, not ${configName}${
      changes.length > 0 ? ` (${changes.slice(0, 3).join(", ")})` : ""
    }`,
    changes: [`EndpointConfigName ${configName} → ${running}`, ...changes],
  };
}

export function createDeployPhase(
  timing: DeployTiming = { minDelaySeconds: 15, maxDelaySeconds: 60 },
): Phase {
  return definePhase({
    id: 7,
    name: "deploy",
    title: "Deploy the endpoint",
    needs: deployNeeds,
    produces: z.object({ endpointName: z.string().min(1) }),
    async inputs(ctx) {
      return inputsOrPending(() => ({
        endpointName: endpointNameFor(ctx.config),
        endpointConfigName: ctx.upstream.endpointConfigName,
        region: ctx.aws.region,
      }));
    },
    async run(ctx) {
      const sagemaker = createSageMakerApi(ctx);
      const outcome = await deploy(ctx, sagemaker, timing);
      // Only now does nothing gen3d deployed use the earlier configs and models.
      const pruned = await pruneSuperseded(ctx, sagemaker);
      return {
        outcome: outcome.type,
        artifacts: { endpointName: outcome.endpointName },
        evidence: { outcome, pruned },
      };
    },
    async verify(ctx) {
      const name = endpointNameFor(ctx.config);
      const endpoint = await createSageMakerApi(ctx).describeEndpoint(name);
      return endpointGates(name, ctx.upstream.endpointConfigName, endpoint);
    },
    reality: endpointReality,
    /** DeleteEndpoint and wait until it is gone; see removeEndpoint. */
    async teardown(ctx, options) {
      return removeEndpoint(ctx, createSageMakerApi(ctx), options);
    },
  });
}

/** Phase 7: create or update the endpoint, wait for InService, diagnose a failure. */
export const deployPhase: Phase = createDeployPhase();
