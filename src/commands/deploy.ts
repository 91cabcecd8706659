import { type GlobalOptions, openContext, type Runtime } from "../engine/app.js";
import { UserError } from "../engine/errors.js";
import { renderError } from "../engine/output.js";
import { type RunOptions, type RunReport, runPhases } from "../engine/runner.js";
import { allPhases } from "../phases/index.js";
import { renderRunSummary } from "./render.js";

export interface DeployOptions extends RunOptions {
  /** `resume` insists on an existing record to resume from. */
  resume?: boolean;
}

export function exitCodeFor(report: RunReport): number {
  if (report.status === "passed") return 0;
  return report.error?.exitCode ?? 1;
}

/** `gen3d deploy` and `gen3d resume`: walk the phases, skipping what still holds. */
export async function deployCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: DeployOptions,
): Promise<number> {
  const command = options.resume ? "resume" : options.dryRun ? "plan" : "deploy";
  const { ctx, release } = await openContext(globals, runtime, options.dryRun ? {} : { lock: command });
  try {
    if (options.resume && Object.keys(ctx.state.state.phases).length === 0) {
      throw new UserError("NOTHING_TO_RESUME", `${ctx.state.file} has no run to resume`, {
        hint: "Start one with `gen3d deploy`.",
      });
    }
    const report = await runPhases(ctx, allPhases(), options);
    if (ctx.io.json) {
      ctx.io.stdout(
        `${JSON.stringify({ ok: report.status === "passed", command, ...report, error: report.error?.toRecord(), artifacts: ctx.state.state.artifacts }, null, 2)}\n`,
      );
    } else {
      ctx.io.stderr(renderRunSummary(ctx.io, report, ctx.state.state.artifacts));
    }
    if (report.error && !ctx.io.json) ctx.io.stderr(renderError(ctx.io, report.error));
    return exitCodeFor(report);
  } finally {
    await release();
  }
}
