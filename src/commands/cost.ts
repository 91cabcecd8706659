import { type GlobalOptions, ioFor, loadConfigFor, type Runtime } from "../app/context.js";
import { assertSagemakerRegion } from "../catalog/regions.js";
import { type CostOverrides, costLines, estimateCost } from "../checks/cost.js";
import { UserError } from "../engine/errors.js";
import { printJson } from "../engine/output.js";

/**
 * `gen3d cost [--jobs-per-day N] [--seconds-per-job S] [--region R] [--instance-type T]`: the
 * async-vs-real-time matrix for this config, with the traffic, region or instance the flags give.
 */
export async function costCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: CostOverrides = {},
): Promise<number> {
  const io = ioFor(globals, runtime);
  if (options.region !== undefined) assertSagemakerRegion(options.region, "--region");
  const { config } = await loadConfigFor(globals, runtime, io);
  if (options.region === undefined) assertSagemakerRegion(config.aws.region);
  const estimate = estimateCost(config, options);
  if (!estimate) {
    const type = options.instanceType ?? config.instance.type;
    throw new UserError("UNKNOWN_INSTANCE", `no price known for ${type}`, {
      hint: "Use an instance type from gen3d's catalog (see README: Instance catalog).",
    });
  }
  if (io.json) printJson(io, true, { ...estimate });
  else io.stdout(`${costLines(estimate).join("\n")}\n`);
  return 0;
}
