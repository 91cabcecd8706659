import type { Io } from "../engine/output.js";
import { bold, dim, green, red, table, yellow } from "../engine/output.js";
import { timeAgo } from "../engine/progress.js";
import { redactSecretNamed } from "../engine/secret-names.js";
import type { Artifacts, PhaseRecord, PhaseStatus } from "../engine/state.js";
import type { PhaseOutcome, RunReport } from "../phases/runner.js";
import { phaseTitle } from "../phases/titles.js";

type Paint = Pick<Io, "color">;

export function paintStatus(io: Paint, status: PhaseStatus | string): string {
  switch (status) {
    case "passed":
      return green(io, status);
    case "failed":
    case "interrupted":
      return red(io, status);
    case "running":
    case "stale":
    case "would-run":
      return yellow(io, status);
    default:
      return dim(io, status);
  }
}

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;

/**
 * Hashes and ISO timestamps are for --verbose: without it hashes leave the text (a digest inside
 * a longer value, such as an image URI, is shortened to 12 characters instead) and an ISO time
 * becomes a relative one ("3 min ago"), so no sentence is left ending in "at". Keeps line breaks
 * and terminal control codes, so it can filter a renderer's stream.
 */
export function withoutNoise(text: string, now: Date = new Date()): string {
  return (
    text
      .replace(/ ?\((?:sha256:)?[0-9a-f]{8,64}\)/g, "")
      // "destroyed at <time>" reads "destroyed 3 min ago": the relative time carries its own preposition.
      .replace(new RegExp(`\\bat (${ISO_TIME.source})`, "g"), (_, iso: string) =>
        when({ verbose: false }, iso, now),
      )
      .replace(ISO_TIME, (iso) => when({ verbose: false }, iso, now))
      .replace(/(sha256:[0-9a-f]{12})[0-9a-f]{52}/g, "$1…")
      .replace(/([^\S\n]),/g, ",")
  );
}

/** One value or sentence for a table cell: without hashes and timestamps unless --verbose. */
export function plainText(io: Pick<Io, "verbose">, text: string, now?: Date): string {
  if (io.verbose) return text;
  return withoutNoise(text, now).replace(/ {2,}/g, " ").trim();
}

/** A time as a human reads it: "5 min ago"; the ISO timestamp only with --verbose. */
export function when(io: Pick<Io, "verbose">, iso: string | undefined, now: Date): string {
  if (!iso) return "";
  return io.verbose ? iso : timeAgo(iso, now);
}

/**
 * A phase's reason as a stable code beside the sentence (the sentence may be reworded; the code is
 * part of the JSON contract, schema/gen3d-output.schema.json).
 */
export type ReasonCode =
  | "unchanged"
  | "never-run"
  | "pending"
  | "forced"
  | "upstream-ran"
  | "stopped-while-running"
  | "interrupted-last-time"
  | "failed-last-time"
  | "stale"
  | "inputs-changed"
  | "drift"
  | "interrupted"
  | "not-reached"
  | "other";

export function reasonCode(outcome: PhaseOutcome): ReasonCode {
  if (outcome.type === "not-reached") return "not-reached";
  if (outcome.type === "interrupted") return "interrupted";
  if (outcome.type === "skipped") return "unchanged";
  const sentence = outcome.reason;
  const table: [RegExp, ReasonCode][] = [
    [/^forced/, "forced"],
    [/^an earlier phase re-ran/, "upstream-ran"],
    [/^never run/, "never-run"],
    [/^pending/, "pending"],
    [/^a previous run stopped/, "stopped-while-running"],
    [/^interrupted last time/, "interrupted-last-time"],
    [/^failed last time/, "failed-last-time"],
    [/^inputs changed/, "inputs-changed"],
    [/^(stale|phase \d+ |resources removed)/, "stale"],
  ];
  const found = table.find(([pattern]) => pattern.test(sentence));
  if (found) return found[1];
  const reality = "reality" in outcome ? outcome.reality : undefined;
  if (reality && reality.type !== "confirmed") return "drift";
  return "other";
}

/** A phase in every JSON document: id, name, status, reason code, and the sentence. */
export interface PhaseJson {
  id: number;
  name: string;
  title: string;
  status: PhaseOutcome["type"];
  reason: ReasonCode;
  message: string;
  durationMs?: number;
  outcome?: string;
  drift?: { type: "gone" | "changed"; reason: string; changes?: string[] };
  error?: { code: string; message: string; hint?: string };
}

export function phaseJson(outcome: PhaseOutcome): PhaseJson {
  const { name, title } = phaseTitle(outcome.id);
  const base = {
    id: outcome.id,
    name,
    title,
    status: outcome.type,
    reason: reasonCode(outcome),
    message: outcome.type === "not-reached" ? "not reached" : redactSecretNamed(outcome.reason),
  };
  const reality = "reality" in outcome ? outcome.reality : undefined;
  return {
    ...base,
    ...(outcome.type === "passed"
      ? { durationMs: outcome.durationMs, ...(outcome.outcome ? { outcome: outcome.outcome } : {}) }
      : {}),
    ...(reality && reality.type !== "confirmed"
      ? {
          drift: {
            type: reality.type,
            reason: reality.reason,
            ...(reality.type === "changed" ? { changes: reality.changes } : {}),
          },
        }
      : {}),
    ...(outcome.type === "failed" ? { error: outcome.error } : {}),
  };
}

/** Which phase records each artifact: an artifact is current only while that phase has passed. */
const PRODUCED_BY: Record<string, number> = {
  imageTag: 2,
  imageId: 2,
  repositoryUri: 4,
  imageDigest: 4,
  imageUri: 4,
  modelName: 5,
  createdModels: 5,
  endpointConfigName: 6,
  createdEndpointConfigs: 6,
  endpointName: 7,
  scalableTargetResourceId: 8,
  scalingPolicyArns: 8,
  alarmNames: 8,
};

/** Keys whose value is only a hash: shown with --verbose. */
const HASH_ONLY = new Set(["imageId", "imageDigest"]);

export interface ArtifactRow {
  key: string;
  value: unknown;
  /** Recorded by a phase that has not passed since (a newer run changed what it builds on). */
  stale?: { phase: number; status: string };
}

/** A value with nothing to show: absent, null, an empty list. */
const absent = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

/**
 * Artifacts with their freshness: current while the phase that records them has passed or is
 * running now (phase 7 updating the endpoint: what it recorded is what is there until it passes);
 * stale when that phase is stale, failed, interrupted or pending — a newer run changed what it
 * builds on and it has not made its product anew.
 */
export function artifactRows(artifacts: Artifacts, phases: Record<string, PhaseRecord>): ArtifactRow[] {
  return Object.entries(redactSecretNamed(artifacts))
    .filter(([, v]) => !absent(v))
    .map(([key, value]) => {
      const phase = PRODUCED_BY[key];
      const status = phase === undefined ? undefined : (phases[String(phase)]?.status ?? "pending");
      return phase !== undefined && status !== undefined && status !== "passed" && status !== "running"
        ? { key, value, stale: { phase, status } }
        : { key, value };
    });
}

/**
 * A value a human can read: lists joined, objects as `key: value` pairs, never [object Object].
 * Without --verbose a field that holds only a timestamp reads as a relative time ("3 min ago").
 */
export function formatValue(
  value: unknown,
  io: Pick<Io, "verbose"> = { verbose: true },
  now: Date = new Date(),
): string {
  if (Array.isArray(value)) return value.map((v) => formatValue(v, io, now)).join(", ");
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => !absent(v))
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${formatValue(v, io, now)}]` : formatValue(v, io, now)}`)
      .join("; ");
  }
  return String(value);
}

/** Artifacts as rows; stale ones marked; a secret-named value is never printed. */
export function renderArtifacts(
  io: Pick<Io, "color" | "verbose">,
  artifacts: Artifacts,
  phases: Record<string, PhaseRecord>,
  now: Date = new Date(),
): string {
  const rows = artifactRows(artifacts, phases)
    .filter((r) => io.verbose || !HASH_ONLY.has(r.key))
    // The marker follows the value: a long value (policy ARNs) must not push it off the screen.
    .map((r) => [
      dim(io, r.key),
      `${plainText(io, formatValue(r.value, io, now), now)}${
        r.stale
          ? `  ${yellow(io, `stale: from an earlier run (phase ${r.stale.phase} is ${r.stale.status})`)}`
          : ""
      }`,
    ]);
  return rows.length > 0 ? `\n${bold(io, "Artifacts")}\n${table(rows)}` : "";
}

/** `plan`: one row per phase — what deploy would do and why. The plan is the result: stdout. */
export function renderPlan(
  io: Pick<Io, "color" | "verbose">,
  report: RunReport,
  now: Date = new Date(),
): string {
  const verdict = (p: PhaseOutcome) =>
    p.type === "skipped" ? "skip" : p.type === "would-run" ? "run" : p.type;
  const rows = report.phases.map((p) => {
    const { title } = phaseTitle(p.id);
    const why = p.type === "not-reached" ? "" : plainText(io, redactSecretNamed(p.reason), now);
    const mark = verdict(p) === "run" ? yellow(io, "run") : dim(io, verdict(p));
    return [String(p.id), title, mark, why];
  });
  const running = report.phases.filter((p) => p.type === "would-run").length;
  const summary =
    running === 0
      ? "Nothing to do: every phase passed and what it produced is still there."
      : `gen3d deploy would run ${running} phase(s) and skip ${report.phases.length - running}.`;
  return `${table([["#", "phase", "would", "why"].map((h) => bold(io, h)), ...rows])}${summary}\n`;
}

/**
 * After `deploy`: the phases were already listed as they ran, so the verdict and what the phases
 * that ran produced (their outcome) — never the phase list a second time.
 */
export function renderRunResult(
  io: Pick<Io, "color" | "verbose">,
  report: RunReport,
  command: "deploy" | "resume" = "deploy",
): string {
  const ran = report.phases.filter((p) => p.type === "passed");
  const skipped = report.phases.filter((p) => p.type === "skipped").length;
  const counts = `${ran.length} ran, ${skipped} skipped (unchanged)`;
  const stopped = report.phases.find((p) => p.type === "failed" || p.type === "interrupted");
  const at = stopped ? ` at phase ${stopped.id} (${phaseTitle(stopped.id).title})` : "";
  const verdict =
    report.status === "passed"
      ? `${green(io, `${command} passed`)}: ${counts}`
      : `${red(io, report.status === "interrupted" ? "interrupted" : "failed")}${at}: ${counts}`;
  const outcomes = ran
    .filter((p) => p.type === "passed" && p.outcome)
    .map(
      (p) => `  ${p.id}. ${plainText(io, redactSecretNamed(p.type === "passed" ? (p.outcome ?? "") : ""))}`,
    );
  return `\n${[verdict, ...outcomes].join("\n")}\n`;
}
