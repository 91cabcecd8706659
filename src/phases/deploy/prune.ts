import type { SageMakerApi } from "../../adapters/sagemaker.js";
import { ExternalError } from "../../engine/errors.js";
import type { DeployContext } from "./rollout.js";

/** What a rollout left behind and removed, or could not remove (kept for destroy). */
export interface Pruned {
  endpointConfigs: string[];
  models: string[];
  kept: { name: string; reason: string }[];
}

type Lists = "createdEndpointConfigs" | "createdModels";

/**
 * Once the endpoint runs the new config, the endpoint configs and models gen3d made for earlier
 * settings serve nothing: each change would otherwise leave one of each behind until destroy.
 * Each is deleted first and dropped from STATE.json after, so a crash between the two leaves a
 * name the next run finds already gone, never a resource no record names. A delete AWS refuses
 * keeps the name (destroy tries again) and is reported, without failing the deploy it follows.
 */
export async function pruneSuperseded(
  ctx: DeployContext,
  sagemaker: Pick<SageMakerApi, "deleteEndpointConfig" | "deleteModel">,
): Promise<Pruned> {
  const pruned: Pruned = { endpointConfigs: [], models: [], kept: [] };
  const sweep = async (
    list: Lists,
    kind: string,
    inUse: string,
    remove: (name: string) => Promise<unknown>,
  ) => {
    const removed: string[] = [];
    for (const name of ctx.state.state.artifacts[list] ?? []) {
      if (name === inUse) continue;
      try {
        await remove(name);
      } catch (error) {
        // AWS said no: reported and kept. Anything else (an interruption, a bug) stops the phase.
        if (!(error instanceof ExternalError)) throw error;
        const reason = error.message;
        ctx.progress(`kept ${kind} ${name}: ${reason} (\`gen3d destroy\` removes it later)`);
        pruned.kept.push({ name, reason });
        continue;
      }
      await ctx.state.update((draft) => {
        draft.artifacts[list] = (draft.artifacts[list] ?? []).filter((n) => n !== name);
      });
      ctx.progress(`removed ${kind} ${name}: superseded, no longer in use`);
      removed.push(name);
    }
    return removed;
  };
  // Configs before models: a config names its model, never the other way round.
  pruned.endpointConfigs = await sweep(
    "createdEndpointConfigs",
    "endpoint config",
    // The rollout left the endpoint InService on exactly this config.
    ctx.upstream.endpointConfigName,
    (n) => sagemaker.deleteEndpointConfig(n),
  );
  pruned.models = await sweep("createdModels", "model", ctx.upstream.modelName, (n) =>
    sagemaker.deleteModel(n),
  );
  return pruned;
}
