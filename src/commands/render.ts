import type { Io } from "../engine/output.js";
import { bold, dim, green, red, table, yellow } from "../engine/output.js";
import type { RunReport } from "../engine/runner.js";
import { redactSecretNamed } from "../engine/secret-names.js";
import type { Artifacts, PhaseStatus } from "../engine/state.js";
import { phaseTitle } from "../phases/titles.js";

export function paintStatus(io: Io, status: PhaseStatus | string): string {
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

/** Artifacts as rows; a value under a secret-named key (or in a `TOKEN=…` string) is never printed. */
export function renderArtifacts(io: Io, artifacts: Artifacts): string {
  const rows = Object.entries(redactSecretNamed(artifacts))
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => [
      dim(io, k),
      Array.isArray(v) ? v.join(", ") : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v),
    ]);
  return rows.length > 0 ? `\n${bold(io, "Artifacts")}\n${table(rows)}` : "";
}

export function renderRunSummary(io: Io, report: RunReport, artifacts: Artifacts): string {
  const rows = report.phases.map((p) => {
    const { title } = phaseTitle(p.id);
    const detail =
      p.type === "not-reached"
        ? ""
        : p.type === "failed"
          ? p.error.message
          : p.type === "passed"
            ? `${(p.durationMs / 1000).toFixed(1)} s${p.outcome ? `, ${p.outcome}` : ""}`
            : p.reason;
    return [String(p.id), title, paintStatus(io, p.type), redactSecretNamed(detail)];
  });
  return `\n${table([["#", "phase", "result", "detail"].map((h) => bold(io, h)), ...rows])}${renderArtifacts(io, artifacts)}`;
}
