import { z } from "zod";
import { localTestRecord } from "../spec/local-test.js";
import { type DesiredEndpointConfig, desiredEndpointConfig } from "../spec/sagemaker.js";
import type { ContractContext } from "./contract.js";

/**
 * What the endpoint config derives from besides the config and the model: phase 3's measured
 * startup (optional: a configured timeout does without it) and phase 2's CUDA version (optional).
 * Phase 6 makes the config from them; phase 7 reads them again to say how a config changed
 * outside gen3d differs, and which startup timeout a failure ran into.
 */
export const endpointConfigSourceNeeds = {
  localTest: localTestRecord.optional(),
  imageCuda: z.object({ version: z.string(), source: z.string() }).nullable().optional(),
};

/** The endpoint config gen3d wants for `modelName`. */
export function desiredConfigFor(
  ctx: ContractContext<typeof endpointConfigSourceNeeds>,
  modelName: string,
): DesiredEndpointConfig {
  return desiredEndpointConfig({
    config: ctx.config,
    modelName,
    measuredStartupSeconds: ctx.upstream.localTest?.secondsToHealthy,
    imageCuda: ctx.upstream.imageCuda,
  });
}
