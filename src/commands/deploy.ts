import { type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { type Gen3dError, UserError, withHint } from "../engine/errors.js";
import { bold, errorRecord, type Io, printJson, renderError, yellow } from "../engine/output.js";
import type { StateStore } from "../engine/state.js";
import { allPhases } from "../phases/index.js";
import { type RunOptions, type RunReport, runPhases } from "../phases/runner.js";
import {
  artifactRows,
  phaseJson,
  plainText,
  renderArtifacts,
  renderPlan,
  renderRunResult,
  withoutNoise,
} from "./render.js";

export interface DeployOptions extends RunOptions {
  /** `resume` insists on an existing record to resume from. */
  resume?: boolean;
}

export function exitCodeFor(report: RunReport): number {
  if (report.status === "passed") return 0;
  return report.error?.exitCode ?? 1;
}

/**
 * The hint a stopped run ends with: `gen3d resume` only where STATE.json holds a run to resume
 * and the stop is one a resume can carry on from (not bad input, not a lock held by someone else).
 */
export function stoppedRunHint(error: Gen3dError, state: StateStore): string | undefined {
  const hasRun = Object.keys(state.state.phases).length > 0;
  if (!hasRun || (error.exitCode !== 1 && error.exitCode !== 130)) return error.hint;
  if (error.exitCode === 130) return "Run `gen3d resume` to carry on from the phase that stopped.";
  if (error.hint?.includes("gen3d resume")) return error.hint;
  // The fix is already printed under the failing check: say only what comes after it.
  if (error.hint && error.details.some((d) => d.includes(error.hint as string)))
    return "Once fixed, `gen3d resume` carries on from that phase.";
  const then = "then `gen3d resume` carries on from that phase.";
  return error.hint ? `${error.hint.replace(/\.?$/, ";")} ${then}` : `Fix the cause, ${then}`;
}

/** `gen3d deploy`, `gen3d resume` and `gen3d plan`: walk the phases, skipping what still holds. */
export async function deployCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: DeployOptions,
): Promise<number> {
  const command = options.resume ? "resume" : options.dryRun ? "plan" : "deploy";
  const opened = await openContext(globals, runtime, options.dryRun ? {} : { lock: command });
  const { release } = opened;
  // The phases' lines on stderr (skip reasons, progress; with --json too) carry hashes and
  // timestamps: --verbose shows them.
  const io = opened.ctx.io;
  const ctx = io.verbose
    ? opened.ctx
    : { ...opened.ctx, io: { ...io, stderr: (t: string) => io.stderr(withoutNoise(String(t))) } };
  try {
    if (options.resume && Object.keys(ctx.state.state.phases).length === 0) {
      throw new UserError("NOTHING_TO_RESUME", `${ctx.state.file} has no run to resume`, {
        hint: "Start one with `gen3d deploy`.",
      });
    }
    const run = await runPhases(ctx, allPhases(), options);
    const report = run.error
      ? { ...run, error: withHint(run.error, stoppedRunHint(run.error, ctx.state)) }
      : run;
    const { artifacts, phases } = ctx.state.state;
    if (ctx.io.json) {
      const rows = artifactRows(artifacts, phases);
      printJson(ctx.io, report.status === "passed", {
        status: report.status,
        phases: report.phases.map(phaseJson),
        ...(report.error ? { error: errorRecord(report.error) } : {}),
        artifacts,
        staleArtifacts: rows.filter((r) => r.stale).map((r) => r.key),
      });
      return exitCodeFor(report);
    }
    if (options.dryRun) {
      ctx.io.stdout(renderPlan(ctx.io, report, ctx.clock.now()));
      ctx.io.stdout(renderDrift(ctx.io, report));
    } else {
      // The phases were listed as they ran (stderr); the result and what exists now go to stdout.
      ctx.io.stdout(renderRunResult(ctx.io, report, options.resume ? "resume" : "deploy"));
      ctx.io.stdout(renderArtifacts(ctx.io, artifacts, phases, ctx.clock.now()));
    }
    if (report.error) ctx.io.stderr(renderError(ctx.io, report.error));
    return exitCodeFor(report);
  } finally {
    await release();
  }
}

/**
 * `plan`: what each passed phase's reality read found that STATE.json does not say — a deleted
 * endpoint, a config changed in the console. Empty when everything recorded is still there.
 */
export function renderDrift(io: Pick<Io, "color" | "verbose">, report: RunReport): string {
  const lines: string[] = [];
  for (const p of report.phases) {
    if (p.type !== "would-run" && p.type !== "skipped") continue;
    const reality = p.reality;
    if (!reality || reality.type === "confirmed") continue;
    const verdict = reality.type === "gone" ? `would re-run: ${reality.reason}` : reality.reason;
    lines.push(`  ${p.id}. ${plainText(io, verdict)}`);
    if (reality.type === "changed" && reality.changes.length > 3)
      for (const change of reality.changes) lines.push(`       ${change}`);
  }
  return lines.length === 0
    ? ""
    : `\n${bold(io, "Drift")} ${yellow(io, "(what AWS or Docker holds now differs from STATE.json)")}\n${lines.join("\n")}\n`;
}
