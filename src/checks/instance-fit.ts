import { findInstance, instancesThatFit } from "../catalog/instances.js";
import type { Gen3dConfig } from "../config/schema.js";
import { type GateResult, gate } from "../engine/gate.js";

/** The instance's GPU memory must hold every enabled model at once: the server keeps them all loaded. */
export function instanceFitGate(config: Gen3dConfig): GateResult {
  const id = "instance.gpu-memory";
  const title = "instance GPU memory covers the models";
  const enabled = config.models.filter((m) => m.enabled);
  const needed = enabled.reduce((sum, m) => sum + m.gpuMemoryGb, 0);
  const instance = findInstance(config.instance.type);
  const fits = instancesThatFit(needed)
    .map((i) => `${i.type} (${i.gpu}, ${i.gpuMemoryGb} GB, $${i.pricePerHour}/h)`)
    .join(", ");
  if (!instance) {
    return gate(id, title, "fail", `instance.type ${config.instance.type} is not in gen3d's GPU catalog`, {
      hint: `Use a GPU instance type gen3d knows; for ${needed} GB: ${fits || "none in the catalog"}.`,
    });
  }
  const evidence = {
    instance,
    neededGb: needed,
    models: enabled.map((m) => ({ name: m.name, gpuMemoryGb: m.gpuMemoryGb })),
  };
  if (needed > instance.gpuMemoryGb) {
    const biggest = [...enabled].sort((a, b) => b.gpuMemoryGb - a.gpuMemoryGb)[0];
    return gate(
      id,
      title,
      "fail",
      `${instance.type} has ${instance.gpuMemoryGb} GB per GPU (${instance.gpu}); the enabled models need ${needed} GB` +
        (biggest ? ` (${biggest.name} alone needs ${biggest.gpuMemoryGb} GB)` : ""),
      {
        hint: fits
          ? `Set instance.type to one that fits: ${fits}; or disable a model.`
          : "No catalogued instance has that much memory on one GPU; disable a model.",
        evidence,
      },
    );
  }
  return gate(
    id,
    title,
    "pass",
    `${instance.type}: ${needed} of ${instance.gpuMemoryGb} GB GPU memory needed`,
    { evidence },
  );
}
