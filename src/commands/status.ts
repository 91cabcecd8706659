import { access } from "node:fs/promises";
import { REAPED_EVENT } from "../adapters/leftovers.js";
import { configPath, type GlobalOptions, ioFor, type Runtime, statePath } from "../app/runtime.js";
import { UserError } from "../engine/errors.js";
import { bold, dim, printJson, red, table } from "../engine/output.js";
import { redactSecretNamed } from "../engine/secret-names.js";
import { readState } from "../engine/state.js";
import { PHASE_TITLES } from "../phases/titles.js";
import { artifactRows, paintStatus, plainText, renderArtifacts, when } from "./render.js";

/** `gen3d status`: what STATE.json records, per phase, plus artifacts. Needs no config and no AWS. */
export async function statusCommand(globals: GlobalOptions, runtime: Runtime): Promise<number> {
  const io = ioFor(globals, runtime);
  const file = statePath(globals, runtime);
  const state = await readState(file);
  if (!state) {
    const config = configPath(globals, runtime);
    const hasConfig = await access(config).then(
      () => true,
      () => false,
    );
    throw new UserError("NO_STATE", `no deployment record at ${file}`, {
      hint: hasConfig
        ? "Run `gen3d deploy` to start one, or pass --state PATH."
        : `There is no config either (${config}): run \`gen3d init\` to write one, then \`gen3d deploy\`; or pass --state PATH.`,
    });
  }
  const reaped = [...state.history].reverse().find((h) => h.event === REAPED_EVENT);
  const lastReaped = reaped ? { at: reaped.at, removed: reaped.detail ?? "" } : undefined;
  const staleArtifacts = artifactRows(state.artifacts, state.phases)
    .filter((r) => r.stale)
    .map((r) => r.key);
  if (io.json) {
    printJson(io, true, redactSecretNamed({ file, ...state, staleArtifacts, lastReaped }));
    return 0;
  }
  const now = runtime.clock?.now() ?? new Date();
  const rows = PHASE_TITLES.map(({ id, title }) => {
    const record = state.phases[String(id)] ?? { status: "pending" as const, attempts: 0 };
    const detail = record.error
      ? red(io, `${record.error.code}: ${record.error.message}`)
      : (record.note ?? "");
    return [
      String(id),
      title,
      paintStatus(io, record.status),
      String(record.attempts),
      when(io, record.finishedAt, now),
      plainText(io, redactSecretNamed(detail), now),
    ];
  });
  io.stdout(
    `${bold(io, `${state.project}`)} ${dim(io, `(${file}, updated ${when(io, state.updatedAt, now)})`)}\n`,
  );
  io.stdout(
    table([["#", "phase", "status", "tries", "finished", "detail"].map((h) => bold(io, h)), ...rows]),
  );
  io.stdout(renderArtifacts(io, state.artifacts, state.phases, now));
  if (lastReaped) {
    io.stdout(
      `\n${bold(io, "Reaped")} ${dim(io, when(io, lastReaped.at, now))} what an interrupted run left: ${lastReaped.removed}\n`,
    );
  }
  const last = state.history.slice(-5);
  if (last.length > 0) {
    io.stdout(`\n${bold(io, "Recent")}\n`);
    for (const h of last)
      io.stdout(
        `${dim(io, when(io, h.at, now))} ${h.event}${h.phase ? ` phase ${h.phase}` : ""}${h.detail ? `: ${plainText(io, redactSecretNamed(h.detail), now)}` : ""}\n`,
      );
  }
  return 0;
}
