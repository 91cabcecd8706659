import { type GlobalOptions, openContext, type Runtime } from "../engine/app.js";
import { UserError } from "../engine/errors.js";
import { bold, type Io, renderError, yellow } from "../engine/output.js";
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
      if (options.dryRun) ctx.io.stderr(renderDrift(ctx.io, report));
    }
    if (report.error && !ctx.io.json) ctx.io.stderr(renderError(ctx.io, report.error));
    return exitCodeFor(report);
  } finally {
    await release();
  }
}

/**
 * `plan`: what each passed phase's reality read found that STATE.json does not say — a deleted
 * endpoint, a config changed in the console. Empty when everything recorded is still there.
 */
export function renderDrift(io: Io, report: RunReport): string {
  const lines: string[] = [];
  for (const p of report.phases) {
    if (p.type !== "would-run" && p.type !== "skipped") continue;
    const reality = p.reality;
    if (!reality || reality.type === "confirmed") continue;
    const verdict = reality.type === "gone" ? `would re-run: ${reality.reason}` : reality.reason;
    lines.push(`  ${p.id}. ${verdict}`);
    if (reality.type === "changed" && reality.changes.length > 3)
      for (const change of reality.changes) lines.push(`       ${change}`);
  }
  return lines.length === 0
    ? ""
    : `\n${bold(io, "Drift")} ${yellow(io, "(what AWS or Docker holds now differs from STATE.json)")}\n${lines.join("\n")}\n`;
}
