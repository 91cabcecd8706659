import { copyFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { InterruptedError, isAbort, toGen3dError, UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import { bold, dim, green, printJson, red, yellow } from "../engine/output.js";
import { StateStore } from "../engine/state.js";
import { runOf } from "../phases/contract.js";
import { allPhases } from "../phases/index.js";
import type { GateResult, Phase, PhaseContext, PhaseRunResult, Reality } from "../phases/phase.js";
import { describeGates, failedGatesSentence, failingGates } from "../phases/run-rules.js";
import { when } from "./render.js";
import { redactVerifyDocument } from "./verify-redact.js";

const mark = { pass: "✔", fail: "✖", warn: "!", "not-checked": "-" } as const;

/**
 * Phases whose evidence is a test, not a resource: fresh evidence means running the test again
 * (phase 3 starts the container, phase 9 sends a job per task). The rest read what exists now.
 */
const RERUN_FOR_EVIDENCE = new Set([3, 9]);

export interface VerifyOptions {
  phase: number;
  /** Judge the evidence the last run recorded, as it stands in STATE.json (reads nothing new). */
  recorded?: boolean;
  /** Write the fresh evidence to STATE.json, through the lock. */
  update?: boolean;
}

/** One gate whose verdict differs between the record and now. */
export interface GateDifference {
  id: string;
  title: string;
  recorded?: { status: string; message: string };
  fresh?: { status: string; message: string };
}

export function differencesFromRecord(
  recorded: readonly GateResult[] | undefined,
  fresh: readonly GateResult[],
): GateDifference[] {
  if (!recorded) return [];
  const out: GateDifference[] = [];
  const before = new Map(recorded.map((g) => [g.id, g]));
  for (const g of fresh) {
    const was = before.get(g.id);
    before.delete(g.id);
    if (was && was.status === g.status && was.message === g.message) continue;
    out.push({
      id: g.id,
      title: g.title,
      ...(was ? { recorded: { status: was.status, message: was.message } } : {}),
      fresh: { status: g.status, message: g.message },
    });
  }
  for (const was of before.values()) {
    out.push({ id: was.id, title: was.title, recorded: { status: was.status, message: was.message } });
  }
  return out;
}

function recordedGates(evidence: unknown): GateResult[] | undefined {
  const gates = (evidence as { gates?: unknown } | undefined)?.gates;
  return Array.isArray(gates) ? (gates as GateResult[]) : undefined;
}

/**
 * Runs the phase's test against a scratch copy of STATE.json: the test may keep its own notes
 * (phase 9's job ledger) while it runs, but `verify` never writes the real record by itself.
 */
async function rerunOnScratch(ctx: PhaseContext, phase: Phase): Promise<PhaseRunResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-verify-"));
  try {
    const scratchFile = path.join(dir, "STATE.json");
    await copyFile(ctx.state.file, scratchFile).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    const scratch = await StateStore.open(scratchFile, ctx.config.project.name);
    // Fresh jobs, never a stopped deploy's: a job ledger left behind is not resumed here.
    if (scratch.state.artifacts.integrationJobs !== undefined)
      await scratch.setArtifacts({ integrationJobs: undefined });
    return await phase.run({ ...ctx, state: scratch });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readReality(phase: Phase, ctx: PhaseContext): Promise<Reality | undefined> {
  if (!phase.reality) return undefined;
  try {
    return await phase.reality(ctx);
  } catch (error) {
    if (isAbort(error)) throw error;
    // Gates below read the same thing and say what went wrong; the cheap read only adds drift.
    return undefined;
  }
}

/**
 * `gen3d verify --phase N`: phase N's gates over fresh evidence (the local test run again, a job
 * per task through the endpoint, or what AWS and Docker hold now), or with `--recorded` over what
 * the last run recorded. Read-only for STATE.json unless `--update`. The exit code is the verdict.
 */
export async function verifyCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: VerifyOptions,
): Promise<number> {
  const phase = allPhases().find((p) => p.id === options.phase);
  if (!phase)
    throw new UserError("BAD_FLAG", `--phase ${options.phase}: no such phase`, { hint: "Phases are 1–10." });
  if (options.recorded && options.update) {
    throw new UserError("BAD_FLAG", "--recorded and --update cannot be combined", {
      hint: "--update writes fresh evidence; --recorded reads what is already written.",
    });
  }
  const { ctx: app, release } = await openContext(
    globals,
    runtime,
    options.update ? { lock: `verify --phase ${phase.id} --update` } : {},
  );
  try {
    const ctx: PhaseContext = {
      ...app,
      progress: (line) => {
        if (!app.io.json) app.io.stderr(`${dim(app.io, `  ${line}`)}\n`);
      },
    };
    const record = ctx.state.phase(phase.id);
    const recordedAt = record.finishedAt;
    const checkedAt = ctx.clock.now().toISOString();
    let fresh: PhaseRunResult | undefined;
    let reality: Reality | undefined;
    let gates: GateResult[];
    try {
      if (options.recorded) {
        gates = await phase.verify(ctx);
      } else {
        let stopped: GateResult | undefined;
        if (RERUN_FOR_EVIDENCE.has(phase.id)) {
          try {
            fresh = await rerunOnScratch(ctx, phase);
          } catch (error) {
            if (isAbort(error) || ctx.signal.aborted) throw error;
            // The test could not even finish (no endpoint, no image): that is the verdict.
            const failure = toGen3dError(error);
            stopped = {
              id: `${phase.name}.run`,
              title: "the test ran to the end",
              status: "fail",
              message: failure.message,
              ...(failure.hint ? { hint: failure.hint } : {}),
              ...(failure.details.length > 0 ? { details: failure.details } : {}),
              evidence: { code: failure.code },
            };
          }
        }
        if (ctx.signal.aborted) throw new InterruptedError();
        gates = stopped ? [stopped] : await phase.verify(ctx, fresh);
        // Drift only means something once the phase passed: before that, gen3d left nothing to compare.
        if (record.inputHash !== undefined) reality = await readReality(phase, ctx);
        if (reality && reality.type !== "confirmed") {
          gates.push({
            id: `${phase.name}.reality`,
            title: "what the phase produced is still there, as gen3d left it",
            status: "fail",
            message: reality.reason,
            hint: `\`gen3d deploy\` re-runs phase ${phase.id}; \`gen3d plan\` shows what else drifted.`,
            evidence: { changes: reality.type === "changed" ? reality.changes : [] },
          });
        }
      }
    } catch (error) {
      if (isAbort(error) || ctx.signal.aborted)
        throw new InterruptedError(`verify --phase ${phase.id} was interrupted`);
      throw error;
    }
    const failed = failingGates(gates);
    const differences = options.recorded ? [] : differencesFromRecord(recordedGates(record.evidence), gates);

    let updated = false;
    if (options.update) {
      const evidence = { run: fresh?.evidence ?? runOf(record.evidence), gates, verifiedAt: checkedAt };
      if (failed.length === 0) {
        const inputHash = record.status === "passed" ? hashValue(await phase.inputs(ctx)) : record.inputHash;
        await ctx.state.setPhase(
          phase.id,
          { evidence, ...(inputHash ? { inputHash } : {}), note: `verified ${checkedAt}` },
          { event: "phase-verified", detail: "passed" },
        );
      } else {
        const error = {
          code: "VERIFY_FAILED",
          message: `phase ${phase.id} (${phase.name}) on fresh evidence: ${failedGatesSentence(failed)}`,
          details: describeGates(gates),
        };
        await ctx.state.setPhase(
          phase.id,
          { status: "failed", evidence, error, finishedAt: checkedAt },
          { event: "phase-verified", detail: "failed" },
        );
      }
      updated = true;
    }

    const doc = redactVerifyDocument(
      {
        ok: failed.length === 0,
        phase: phase.id,
        name: phase.name,
        mode: options.recorded ? "recorded" : "fresh",
        ...(options.recorded
          ? { recordedAt: recordedAt ?? null }
          : { checkedAt, recordedAt: recordedAt ?? null }),
        gates,
        ...(fresh ? { evidence: fresh.evidence } : {}),
        ...(reality ? { reality } : {}),
        ...(options.recorded ? {} : { differsFromRecord: differences }),
        updated,
      },
      ctx.config,
    );
    if (ctx.io.json) {
      const { ok, ...payload } = doc;
      printJson(ctx.io, ok, {
        ...payload,
        status: ok ? "passed" : "failed",
        reason: ok ? "gates-passed" : "gates-failed",
      });
    } else {
      // The verdict is the command's result: stdout (progress lines went to stderr).
      // When: relative ("3 min ago"); the ISO timestamp only with --verbose.
      const now = ctx.clock.now();
      const recordedWhen = when(ctx.io, recordedAt, now);
      const label = options.recorded
        ? `recorded evidence, ${recordedAt ? `from ${recordedWhen}` : "never recorded"}`
        : `fresh evidence${ctx.io.verbose ? `, ${checkedAt}` : ""}`;
      ctx.io.stdout(
        `${bold(ctx.io, `Phase ${phase.id}: ${phase.title}`)} ${dim(ctx.io, `(${label})`)}\n${renderGates(ctx.io, doc.gates)}`,
      );
      if (differences.length > 0) {
        ctx.io.stdout(
          `${yellow(ctx.io, "differs from the record")}${recordedAt ? ` of ${recordedWhen}` : ""}:\n${differences
            .map(
              (d) =>
                `  ${d.title}: ${d.recorded ? `${d.recorded.status}` : "not recorded"} → ${d.fresh ? d.fresh.status : "not checked now"}`,
            )
            .join("\n")}\n`,
        );
      }
      ctx.io.stdout(
        failed.length === 0
          ? `${green(ctx.io, "passed")}: ${gates.length} check(s)\n`
          : `${red(ctx.io, "failed")}: ${failed.length} of ${gates.length} check(s)\n`,
      );
      if (updated) ctx.io.stderr(`${dim(ctx.io, `recorded in ${ctx.state.file}`)}\n`);
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    await release();
  }
}

export function renderGates(io: Parameters<typeof bold>[0], gates: readonly GateResult[]): string {
  const lines: string[] = [];
  for (const g of gates) {
    const paint =
      g.status === "pass" ? green : g.status === "fail" ? red : g.status === "warn" ? yellow : dim;
    const where = g.location ? `${g.location.file}${g.location.line ? `:${g.location.line}` : ""}: ` : "";
    const [first, ...rest] = g.message.split("\n");
    lines.push(`${paint(io, mark[g.status])} ${g.title}: ${where}${first}`);
    for (const line of [...rest, ...(g.status === "pass" ? [] : (g.details ?? []))])
      lines.push(`    ${line}`);
    if (g.hint && g.status !== "pass") lines.push(`    ${yellow(io, "fix")}: ${g.hint}`);
  }
  return `${lines.join("\n")}\n`;
}
