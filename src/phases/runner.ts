import { type Gen3dError, InterruptedError, isAbort, toGen3dError, UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import type { PhaseRecord } from "../engine/state.js";
import { checkNeeds, checkProduced, missingProduced } from "./contract.js";
import type { Phase, PhaseContext, Reality } from "./phase.js";
import { type RunOne, runInTerminal, runSilently, runWithPlainLines, type TaskHandle } from "./run-render.js";
import {
  failingGates,
  gateError,
  invalidatesLater,
  markLaterStale,
  type RunOptions,
  reasonToRun,
  selectPhases,
} from "./run-rules.js";

export type { RunOptions } from "./run-rules.js";

/** What happened to one phase in this run. */
export type PhaseOutcome =
  | { id: number; type: "skipped"; reason: string; reality?: Reality }
  | { id: number; type: "would-run"; reason: string; reality?: Reality }
  | { id: number; type: "passed"; reason: string; durationMs: number; outcome?: string; reality?: Reality }
  | { id: number; type: "failed"; reason: string; error: { code: string; message: string; hint?: string } }
  | { id: number; type: "interrupted"; reason: string }
  | { id: number; type: "not-reached" };

export interface RunReport {
  status: "passed" | "failed" | "interrupted";
  phases: PhaseOutcome[];
  /** The error that stopped the run, if any. */
  error?: Gen3dError;
}

/**
 * Walks the selected phases in order. A passed phase whose inputs hash is unchanged, and whose
 * product one cheap read confirms (`Phase.reality`), is skipped with its reason. One that passes
 * over changed inputs (or re-makes a product that had gone) marks every later passed phase stale,
 * so they run too; a retry over unchanged inputs does not (`invalidatesLater`). Every transition
 * is written to STATE.json before the next step starts.
 */
export class PhaseRunner {
  readonly outcomes = new Map<number, PhaseOutcome>();
  private upstreamRan: string | undefined;

  constructor(
    private readonly ctx: Omit<PhaseContext, "progress">,
    private readonly all: readonly Phase[],
    private readonly options: RunOptions,
  ) {}

  /** Phases before the selection must have passed, or their outputs are not there to build on. */
  async checkPrerequisites(selected: readonly Phase[]): Promise<void> {
    const first = selected[0];
    if (!first) return;
    const missing = this.all.filter((p) => p.id < first.id && this.ctx.state.phase(p.id).status !== "passed");
    if (missing.length > 0 && !this.options.dryRun) {
      throw new UserError(
        "PREREQUISITE_NOT_PASSED",
        `phase ${first.id} needs phase(s) ${missing.map((p) => p.id).join(", ")} to have passed first`,
        { hint: `Run \`gen3d deploy --to ${first.id}\` (or without --from/--only).` },
      );
    }
  }

  async runPhase(phase: Phase, task: TaskHandle): Promise<void> {
    const { state, signal } = this.ctx;
    if (signal.aborted) throw new InterruptedError();
    const ctx: PhaseContext = { ...this.ctx, progress: (line) => task.setOutput(line) };
    let inputHash: string;
    try {
      inputHash = hashValue(await phase.inputs(ctx));
    } catch (thrown) {
      // Could not even work out what the phase depends on: it fails before it starts, and
      // STATE.json says so (a stale "passed" must not survive a broken input).
      const error = toGen3dError(thrown);
      // `plan` reports it and writes nothing.
      if (!isAbort(thrown) && !this.options.dryRun) {
        await this.ctx.state.setPhase(
          phase.id,
          { status: "failed", error: { ...error.toRecord(), details: error.details } },
          { event: "phase-failed", detail: error.code },
        );
      }
      this.outcomes.set(phase.id, {
        id: phase.id,
        type: isAbort(thrown) ? "interrupted" : "failed",
        reason: "inputs",
        error: error.toRecord(),
      } as PhaseOutcome);
      throw error;
    }
    const record = state.phase(phase.id);
    let reason = reasonToRun(record, inputHash, this.upstreamRan, this.options.force ?? false);
    const lacking = record.status === "passed" ? missingProduced(phase, state.state.artifacts) : [];
    if (reason === undefined && lacking.length > 0)
      reason = `STATE.json lacks what it hands on (${lacking.join(", ")})`;
    // STATE.json says passed; one cheap read says whether reality still agrees. `plan` reads even
    // below a phase that would run, so it names every drift at once.
    const checkReality =
      phase.reality !== undefined &&
      !this.options.force &&
      record.status === "passed" &&
      record.inputHash === inputHash &&
      (reason === undefined || this.options.dryRun);
    const reality = checkReality ? await this.readReality(phase, ctx, reason) : undefined;
    if (reality && reality.type !== "confirmed") {
      reason = reason === undefined ? reality.reason : `${reason}; ${reality.reason}`;
    }
    const seen = reality ? { reality } : {};

    if (reason === undefined) {
      const why = `passed ${record.finishedAt ?? ""}, inputs unchanged (${inputHash.slice(0, 8)})${
        reality?.type === "confirmed" ? `, ${reality.detail}` : ""
      }`.replace("  ", " ");
      this.outcomes.set(phase.id, { id: phase.id, type: "skipped", reason: why, ...seen });
      task.skip(why);
      return;
    }
    if (this.options.dryRun) {
      this.outcomes.set(phase.id, { id: phase.id, type: "would-run", reason, ...seen });
      // A re-run over the inputs it last passed with (a retry after a failure, --force) is
      // expected to make the same thing again: later phases keep their own verdicts.
      if (invalidatesLater(record, inputHash, reality)) this.upstreamRan ??= `phase ${phase.id} would run`;
      task.skip(`would run, ${reason}`);
      return;
    }

    const started = this.ctx.clock.now();
    // Later phases are not touched here: whether this run invalidates them is known only once it
    // has passed (a retry after a transient failure changes nothing downstream). `inputHash` keeps
    // the inputs of the last pass, the yardstick for that decision, until this one passes.
    await state.update(
      (draft) => {
        draft.phases[String(phase.id)] = {
          status: "running",
          attempts: record.attempts + 1,
          startedAt: started.toISOString(),
          ...(record.inputHash ? { inputHash: record.inputHash } : {}),
          note: reason,
        };
      },
      { event: "phase-started", phase: phase.id, detail: reason },
    );

    const finish = () => {
      const finished = this.ctx.clock.now();
      return { finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime() };
    };
    try {
      task.start(reason);
      checkNeeds(phase, state.state.artifacts, this.all);
      const result = await phase.run(ctx);
      if (signal.aborted) throw new InterruptedError();
      if (result.artifacts) await state.setArtifacts(result.artifacts);
      const gates = await phase.verify(ctx, result);
      const evidence = { run: result.evidence, gates };
      if (failingGates(gates).length > 0) {
        throw await this.recordFailure(phase, gateError(phase, gates), reason, { ...finish(), evidence });
      }
      // 13: an abort during the gates (a paginated AWS read that stopped early) is not a pass.
      if (signal.aborted) throw new InterruptedError();
      checkProduced(phase, state.state.artifacts);
      const done = finish();
      // The inputs as they stand now that the phase passed: a phase may depend on what it made
      // (phase 2 on the image that exists), so the next run compares against this.
      const passedHash = await Promise.resolve(phase.inputs(ctx)).then(hashValue, () => inputHash);
      const invalidates = invalidatesLater(record, passedHash, reality, result.outcome);
      await state.update(
        (draft) => {
          const next: PhaseRecord = {
            ...(draft.phases[String(phase.id)] as PhaseRecord),
            status: "passed",
            ...done,
            inputHash: passedHash,
            evidence,
            note: result.outcome,
          };
          delete next.error;
          if (next.note === undefined) delete next.note;
          draft.phases[String(phase.id)] = next;
          // In the same write as the pass: a crash cannot leave the pass without its consequence.
          if (invalidates) markLaterStale(draft.phases, phase.id, invalidates);
        },
        { event: "phase-passed", phase: phase.id, detail: result.outcome },
      );
      if (invalidates) this.upstreamRan = `phase ${phase.id}`;
      this.outcomes.set(phase.id, {
        id: phase.id,
        type: "passed",
        reason,
        durationMs: done.durationMs,
        outcome: result.outcome,
        ...seen,
      });
    } catch (thrown) {
      if (this.outcomes.get(phase.id)?.type === "failed") throw thrown;
      if (isAbort(thrown) || signal.aborted) {
        await state.setPhase(
          phase.id,
          { status: "interrupted", ...finish() },
          { event: "phase-interrupted" },
        );
        this.outcomes.set(phase.id, { id: phase.id, type: "interrupted", reason });
        throw new InterruptedError(`phase ${phase.id} (${phase.name}) was interrupted`);
      }
      throw await this.recordFailure(phase, toGen3dError(thrown), reason, finish());
    }
  }

  /** A failure, in STATE.json and in this run's outcomes; returns the error to throw. */
  private async recordFailure(
    phase: Phase,
    error: Gen3dError,
    reason: string,
    patch: Partial<PhaseRecord>,
  ): Promise<Gen3dError> {
    const record = { ...error.toRecord(), details: error.details };
    await this.ctx.state.setPhase(
      phase.id,
      { status: "failed", ...patch, error: record },
      { event: "phase-failed", detail: error.code },
    );
    this.outcomes.set(phase.id, { id: phase.id, type: "failed", reason, error: error.toRecord() });
    return error;
  }

  /**
   * The phase's reality read. A read that fails (AWS unreachable, throttled past its retries)
   * stops a deploy without touching the record: a transient failure never invalidates passed
   * work. `plan` says it could not check and goes on.
   */
  private async readReality(
    phase: Phase,
    ctx: PhaseContext,
    reason: string | undefined,
  ): Promise<Reality | undefined> {
    try {
      return await phase.reality?.(ctx);
    } catch (thrown) {
      if (isAbort(thrown) || ctx.signal.aborted) {
        this.outcomes.set(phase.id, {
          id: phase.id,
          type: "interrupted",
          reason: "checking what it produced",
        });
        throw new InterruptedError(`phase ${phase.id} (${phase.name}) was interrupted`);
      }
      const error = toGen3dError(thrown);
      if (this.options.dryRun) {
        return { type: "confirmed", detail: `could not check what it produced (${error.message})` };
      }
      this.outcomes.set(phase.id, {
        id: phase.id,
        type: "failed",
        reason: reason ?? "could not check what it produced",
        error: error.toRecord(),
      });
      throw error;
    }
  }

  report(selected: readonly Phase[]): RunReport {
    const phases = selected.map((p) => this.outcomes.get(p.id) ?? { id: p.id, type: "not-reached" as const });
    const status = phases.some((p) => p.type === "interrupted")
      ? "interrupted"
      : phases.some((p) => p.type === "failed")
        ? "failed"
        : "passed";
    return { status, phases };
  }
}

/**
 * Walks the phases: listr2's tasks in a terminal; plain lines on stderr otherwise and with --json
 * (progress there too: stdout keeps its one JSON document); nothing for `plan`.
 */
export async function runPhases(
  ctx: Omit<PhaseContext, "progress">,
  all: readonly Phase[],
  options: RunOptions,
): Promise<RunReport> {
  const selected = selectPhases(all, options);
  const runner = new PhaseRunner(ctx, all, options);
  await runner.checkPrerequisites(selected);
  const run: RunOne = (phase, task) => runner.runPhase(phase, task);
  try {
    if (options.dryRun) await runSilently(selected, run);
    else if (ctx.io.isTTY && !ctx.io.json) await runInTerminal(ctx, selected, run);
    else await runWithPlainLines(ctx, selected, run, (id) => runner.outcomes.get(id));
  } catch (thrown) {
    const error = toGen3dError(thrown);
    const report = runner.report(selected);
    // Whatever stopped the run, it did not pass.
    const status =
      report.status === "passed" ? (error.exitCode === 130 ? "interrupted" : "failed") : report.status;
    return { ...report, status, error };
  }
  return runner.report(selected);
}
