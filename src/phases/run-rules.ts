import { GateFailedError, UserError } from "../engine/errors.js";
import type { PhaseRecord } from "../engine/state.js";
import type { GateResult, Phase, Reality } from "./phase.js";

/** The runner's decisions, free of I/O: which phases, whether each must run, what it invalidates. */

export interface RunOptions {
  from?: number;
  to?: number;
  only?: number;
  force?: boolean;
  dryRun?: boolean;
}

export function selectPhases(phases: readonly Phase[], options: RunOptions): Phase[] {
  const ids = phases.map((p) => p.id);
  const check = (flag: string, n: number | undefined) => {
    if (n !== undefined && !ids.includes(n)) {
      throw new UserError("BAD_FLAG", `${flag} ${n}: no such phase`, {
        hint: `Phases are ${ids[0]}–${ids.at(-1)}.`,
      });
    }
  };
  check("--from", options.from);
  check("--to", options.to);
  check("--only", options.only);
  if (options.only !== undefined && (options.from !== undefined || options.to !== undefined)) {
    throw new UserError("BAD_FLAG", "--only cannot be combined with --from or --to");
  }
  if (options.from !== undefined && options.to !== undefined && options.from > options.to) {
    throw new UserError("BAD_FLAG", `--from ${options.from} is after --to ${options.to}`);
  }
  if (options.only !== undefined) return phases.filter((p) => p.id === options.only);
  return phases.filter((p) => p.id >= (options.from ?? -Infinity) && p.id <= (options.to ?? Infinity));
}

/** Why a phase has to run, or undefined when its passed record still holds. */
export function reasonToRun(
  record: PhaseRecord,
  inputHash: string,
  upstreamRan: string | undefined,
  force: boolean,
): string | undefined {
  if (force) return "forced (--force)";
  // A phase that never ran runs for that reason, whatever ran before it.
  if (record.status === "pending" && record.attempts === 0) return "never run";
  if (upstreamRan) return `an earlier phase re-ran (${upstreamRan})`;
  switch (record.status) {
    case "pending":
      return record.attempts === 0 ? "never run" : "pending";
    case "running":
      return "a previous run stopped while it was running";
    case "interrupted":
      return "interrupted last time";
    case "failed":
      return `failed last time (${record.error?.code ?? "error"})`;
    case "stale":
      return record.note ?? "stale: an earlier phase changed";
    case "passed":
      return record.inputHash === inputHash ? undefined : "inputs changed since it passed";
  }
}

/**
 * Why a phase that passed (or, for `plan`, would run) makes every later passed phase stale, or
 * undefined when it does not. Staleness follows fingerprints: the phase passed over inputs other
 * than those of its last pass, it never passed before, or it re-made a product that had gone or
 * changed outside gen3d. A re-run over the same inputs — a retry after Docker or AWS was briefly
 * unreachable, an interrupted run, --force — leaves later phases to their own inputs and reads,
 * unless the run says it created or updated its product anew.
 */
export function invalidatesLater(
  before: PhaseRecord,
  inputHash: string,
  reality: Reality | undefined,
  outcome?: string,
): string | undefined {
  if (reality && reality.type !== "confirmed") return `re-made what it produces (${reality.reason})`;
  if (before.inputHash === undefined) return "ran for the first time";
  if (before.inputHash !== inputHash) return "passed with changed inputs";
  // Same inputs, but the run says it made its product anew (an endpoint re-created after a
  // failure): what later phases set up on the old one may be gone.
  if (outcome === "created" || outcome === "updated") return `re-ran and ${outcome} what it produces`;
  return undefined;
}

export function markLaterStale(phases: Record<string, PhaseRecord>, id: number, why: string): void {
  for (const [key, later] of Object.entries(phases)) {
    if (Number(key) > id && later.status === "passed") {
      phases[key] = { ...later, status: "stale", note: `phase ${id} ${why}` };
    }
  }
}

export function failingGates(gates: readonly GateResult[]): GateResult[] {
  return gates.filter((g) => g.status === "fail");
}

/** One line per failing gate, with location and fix. */
export function describeGates(gates: readonly GateResult[]): string[] {
  return failingGates(gates).map((g) => {
    const where = g.location ? `${g.location.file}${g.location.line ? `:${g.location.line}` : ""}: ` : "";
    const details = (g.details ?? []).map((d) => `\n    ${d}`).join("");
    return `• ${g.title}: ${where}${g.message}${details}${g.hint ? `\n    fix: ${g.hint}` : ""}`;
  });
}

/** The first failing gate's title and message, then the others by title. */
export function failedGatesSentence(failed: readonly GateResult[]): string {
  const [first, ...others] = failed;
  const head = first ? `${first.title}: ${first.message}` : "a check failed";
  return others.length > 0 ? `${head} (also failed: ${others.map((g) => g.title).join(", ")})` : head;
}

export function gateError(phase: Phase, gates: readonly GateResult[]): GateFailedError {
  const failed = failingGates(gates);
  const first = failed[0];
  return new GateFailedError(
    `GATE_${(first?.id ?? "unknown").toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`,
    `phase ${phase.id} (${phase.name}): ${failedGatesSentence(failed)}`,
    { details: describeGates(gates), hint: first?.hint },
  );
}
