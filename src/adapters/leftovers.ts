import os from "node:os";
import path from "node:path";
import { processStartedAt } from "../engine/lock.js";
import type { Io } from "../engine/output.js";
import { reapTempFiles, type StateStore } from "../engine/state.js";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL, ownerAlive } from "./container-owner.js";
import type { Docker } from "./docker.js";

/** The history event a reap leaves in STATE.json; `gen3d status` shows the latest. */
export const REAPED_EVENT = "leftovers-reaped";

/** The fixed name of phase 3's container: one per project, so a leftover is found by name too. */
export function localTestContainerName(project: string): string {
  return `gen3d-local-test-${project}`;
}

interface ContainerRow {
  id: string;
  name: string;
  state: string;
  pid: string;
  host: string;
  /** When docker created it: "2026-12-02 07:10:51 +0000 UTC". */
  created: string;
}

const FORMAT = `{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Label "${OWNER_PID_LABEL}"}}\t{{.Label "${OWNER_HOST_LABEL}"}}\t{{.CreatedAt}}`;

async function listContainers(docker: Docker, filter: string, signal: AbortSignal): Promise<ContainerRow[]> {
  const listed = await docker.exec(["ps", "--all", "--no-trunc", "--filter", filter, "--format", FORMAT], {
    allowFailure: true,
    signal,
    timeoutMs: 15_000,
  });
  if (listed.exitCode !== 0) return [];
  return listed.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", name = "", state = "", pid = "", host = "", created = ""] = line.split("\t");
      return { id, name, state, pid, host, created };
    });
}

function createdAt(row: ContainerRow): Date | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d)(\d\d)/.exec(row.created);
  if (!m) return undefined;
  const at = new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Whether the container's recorded owner still runs. A live PID on this machine that started
 * after the container was created is not its owner: the kernel gave the dead owner's PID to
 * another process, or gen3d is PID 1 again in a restarted container.
 */
function ownerRuns(row: ContainerRow): boolean {
  if (!(row.pid && ownerAlive({ pid: row.pid, host: row.host || undefined }))) return false;
  if (row.host && row.host !== os.hostname()) return true;
  const started = processStartedAt(Number(row.pid));
  const created = createdAt(row);
  // Two seconds of slack: both clocks here have whole seconds.
  return !(started && created && started.getTime() > created.getTime() + 2_000);
}

/**
 * Containers a killed run left: any container gen3d created (it carries its owner's PID) whose
 * owner no longer runs on this host, and phase 3's container of this project when nothing live owns
 * it (one started by an older gen3d has no owner label). A live run's containers are never touched.
 */
export async function reapContainers(
  docker: Docker,
  project: string,
  signal: AbortSignal,
): Promise<string[]> {
  const localTest = localTestContainerName(project);
  const rows = [
    ...(await listContainers(docker, `label=${OWNER_PID_LABEL}`, signal)),
    ...(await listContainers(docker, `name=${localTest}`, signal)).filter((r) => r.name === localTest),
  ];
  const seen = new Set<string>();
  const orphans = rows.filter((row) => {
    if (seen.has(row.id)) return false;
    seen.add(row.id);
    return !ownerRuns(row);
  });
  if (orphans.length === 0) return [];
  await docker.exec(["rm", "--force", ...orphans.map((o) => o.id)], {
    allowFailure: true,
    signal,
    timeoutMs: 60_000,
  });
  const still = new Set((await listContainers(docker, `label=${OWNER_PID_LABEL}`, signal)).map((r) => r.id));
  return orphans
    .filter((o) => !still.has(o.id))
    .map((o) => `container ${o.name} (${o.state}${o.pid ? `, left by pid ${o.pid}` : ""})`);
}

/**
 * What an interrupted or killed run left behind, removed by the next run that takes the lock: the
 * state file's temp copies and gen3d's containers whose owner is gone. Recorded in STATE.json's
 * history (`status` shows when) and said on stderr. Best effort: a Docker that does not answer is
 * not this run's problem yet (phase 1 will say so).
 */
export async function reapLeftovers(ctx: {
  state: StateStore;
  docker: Docker;
  io: Io;
  signal: AbortSignal;
  project: string;
}): Promise<string[]> {
  const reaped = (await reapTempFiles(ctx.state.file)).map(
    (name) => `temp file ${path.join(path.dirname(ctx.state.file), name)}`,
  );
  reaped.push(...(await reapContainers(ctx.docker, ctx.project, ctx.signal).catch(() => [])));
  if (reaped.length === 0) return reaped;
  ctx.io.stderr(`Removed what an interrupted run left: ${reaped.join("; ")}\n`);
  // A state file that does not exist yet gets none: the record starts with the first phase.
  if (Object.keys(ctx.state.state.phases).length > 0 || ctx.state.state.history.length > 0) {
    await ctx.state.update(() => {}, { event: REAPED_EVENT, detail: reaped.join("; ") });
  }
  return reaped;
}
