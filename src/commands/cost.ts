import { costLines, estimateCost } from "../checks/cost.js";
import { loadConfig } from "../config/load.js";
import { configPath, type GlobalOptions, ioFor, type Runtime } from "../engine/app.js";
import { UserError } from "../engine/errors.js";

/** `gen3d cost`: the seed's async-vs-real-time matrix for this config. */
export async function costCommand(globals: GlobalOptions, runtime: Runtime): Promise<number> {
  const io = ioFor(globals, runtime);
  const { config } = await loadConfig(configPath(globals, runtime));
  const estimate = estimateCost(config);
  if (!estimate) {
    throw new UserError("UNKNOWN_INSTANCE", `no price known for ${config.instance.type}`, {
      hint: "Use an instance type from gen3d's catalog (see README: Instance catalog).",
    });
  }
  if (io.json) io.stdout(`${JSON.stringify(estimate, null, 2)}\n`);
  else io.stdout(`${costLines(estimate).join("\n")}\n`);
  return 0;
}
