import { readFileSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { LockedError, stateWriteError } from "./errors.js";
import { timeAgo } from "./progress.js";

/**
 * Who holds the lock. `bootId` and `processStart` tell a live holder from a PID that now belongs
 * to someone else: the kernel reuses PIDs (a container's gen3d is PID 1 every time), never a
 * (boot, PID, start time) triple. Both are absent off Linux and in files older gen3d wrote.
 */
const owner = z.object({
  pid: z.number().int(),
  host: z.string(),
  bootId: z.string().optional(),
  /** Field 22 of /proc/PID/stat: clock ticks from boot to the process's start. */
  processStart: z.string().optional(),
  command: z.string(),
  startedAt: z.string(),
});
type LockOwner = z.infer<typeof owner>;

export interface StateLock {
  release(): Promise<void>;
}

/** The state files this process holds a lock on: its own PID in an owner file is live only for these. */
const heldHere = new Set<string>();

function lockDir(stateFile: string): string {
  return `${stateFile}.lock`;
}

/**
 * Who holds the lock, beside the lock directory: a file written inside it would change the
 * directory's mtime, which proper-lockfile reads as someone else touching its lock.
 */
function ownerFile(stateFile: string): string {
  return `${stateFile}.lock-owner`;
}

async function readOwner(stateFile: string): Promise<LockOwner | undefined> {
  try {
    return owner.parse(JSON.parse(await readFile(ownerFile(stateFile), "utf8")));
  } catch {
    return undefined;
  }
}

async function lockAgeMs(stateFile: string): Promise<number> {
  try {
    return Date.now() - (await stat(lockDir(stateFile))).mtimeMs;
  } catch {
    return 0;
  }
}

function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export function bootId(): string | undefined {
  return readProc("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
}

/** When process `pid` started (clock ticks since boot), or undefined when it does not exist here. */
export function processStartTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

/** Linux's USER_HZ, the unit of /proc/PID/stat's start time, on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * When process `pid` started, as a date (to about a second: the boot time has whole seconds), or
 * undefined off Linux or when it does not exist.
 */
export function processStartedAt(pid: number): Date | undefined {
  const ticks = Number(processStartTime(pid));
  const boot = Number(/^btime (\d+)$/m.exec(readProc("/proc/stat") ?? "")?.[1]);
  if (!Number.isFinite(ticks) || !Number.isFinite(boot) || boot === 0) return undefined;
  return new Date(boot * 1000 + (ticks / CLOCK_TICKS_PER_SECOND) * 1000);
}

/** Process `pid` exists (signal 0 reaches it, or it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function currentOwner(command: string, now = new Date()): LockOwner {
  const boot = bootId();
  const start = processStartTime(process.pid);
  return {
    pid: process.pid,
    host: os.hostname(),
    ...(boot ? { bootId: boot } : {}),
    ...(start ? { processStart: start } : {}),
    command,
    startedAt: now.toISOString(),
  };
}

export type HolderVerdict =
  | { type: "live" }
  | { type: "gone"; why: string }
  | { type: "elsewhere"; why: string };

/**
 * Whether the recorded holder still runs. Only a holder on this machine in this boot can be
 * judged; one elsewhere (a state file on a network folder) is left to proper-lockfile's heartbeat.
 */
export function judgeHolder(
  holder: LockOwner,
  stateFile: string,
  here = { host: os.hostname(), bootId: bootId() },
): HolderVerdict {
  if (holder.host !== here.host) return { type: "elsewhere", why: `another machine (${holder.host})` };
  if (holder.bootId && here.bootId && holder.bootId !== here.bootId) {
    return {
      type: "elsewhere",
      why: `another machine named ${holder.host} (another boot id), or this one before a reboot`,
    };
  }
  if (holder.pid === process.pid) {
    return heldHere.has(path.resolve(stateFile))
      ? { type: "live" }
      : { type: "gone", why: `pid ${holder.pid} is this process, which does not hold the lock` };
  }
  if (!processAlive(holder.pid)) return { type: "gone", why: `pid ${holder.pid} no longer runs` };
  if (holder.processStart) {
    const live = processStartTime(holder.pid);
    if (live !== undefined && live !== holder.processStart) {
      return {
        type: "gone",
        why: `pid ${holder.pid} now belongs to another process (a different start time)`,
      };
    }
  }
  return { type: "live" };
}

/**
 * Takes the lock that stops two runs on one state file. proper-lockfile keeps the lock fresh with an
 * mtime heartbeat, so a lock left by a killed run goes stale on its own; we also recover at once when
 * the recorded holder is a process on this machine that no longer exists, whose PID another process
 * now has, or that is this very process (gen3d as PID 1 in a restarted container).
 */
export async function acquireStateLock(
  stateFile: string,
  command: string,
  onCompromised: (error: Error) => void,
  // Generous: a loaded machine (a docker build on two cores) can delay the heartbeat for many
  // seconds. A crashed holder on this host is recovered at once through its PID instead.
  timing: { staleMs: number; updateMs: number } = { staleMs: 120_000, updateMs: 10_000 },
): Promise<StateLock> {
  const options = {
    realpath: false,
    lockfilePath: lockDir(stateFile),
    stale: timing.staleMs,
    update: timing.updateMs,
    onCompromised,
  };
  const staleMinutes = Math.max(1, Math.round(timing.staleMs / 60_000));
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(stateFile, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    const holder = await readOwner(stateFile);
    // A live holder writes its owner file within milliseconds of taking the lock; a lock without
    // one that is older than a second was left by a run killed in between.
    const orphaned = !holder && (await lockAgeMs(stateFile)) > 1_000;
    const verdict = holder ? judgeHolder(holder, stateFile) : undefined;
    if (orphaned || verdict?.type === "gone") {
      await rm(lockDir(stateFile), { recursive: true, force: true });
      release = await lockfile.lock(stateFile, options);
    } else if (holder && verdict?.type === "elsewhere") {
      throw new LockedError(
        "STATE_LOCKED",
        `${stateFile} is locked by gen3d ${holder.command} on ${verdict.why}: pid ${holder.pid} there, started ${timeAgo(holder.startedAt, new Date())}`,
        {
          hint: `Two machines share this state file (a network folder?): run gen3d from one of them at a time. gen3d cannot see processes on ${holder.host}; the lock clears itself ${staleMinutes} minute(s) after that run's last heartbeat.`,
        },
      );
    } else {
      const who = holder
        ? `gen3d ${holder.command} (pid ${holder.pid} on ${holder.host}, started ${timeAgo(holder.startedAt, new Date())})`
        : "another gen3d process";
      throw new LockedError("STATE_LOCKED", `${stateFile} is locked by ${who}`, {
        hint: holder
          ? `Wait for it to finish or stop it (kill ${holder.pid}); a lock left by a crashed run on this machine is recovered at once.`
          : `A lock left by a crashed run clears itself within ${staleMinutes} minute(s); if it does not, remove ${lockDir(stateFile)}.`,
      });
    }
  }
  heldHere.add(path.resolve(stateFile));
  try {
    await writeFile(ownerFile(stateFile), JSON.stringify(currentOwner(command)));
  } catch (error) {
    // A lock without its owner record (disk full) would refuse the next run: let go of both.
    heldHere.delete(path.resolve(stateFile));
    await release().catch(() => {});
    await rm(ownerFile(stateFile), { force: true });
    throw stateWriteError(ownerFile(stateFile), error);
  }
  return {
    async release() {
      // Lock first, owner record second: the other way round, a waiting run could see an
      // ownerless lock, take it as orphaned, and then lose it to this release.
      // After a compromise proper-lockfile has already let go; releasing again is not an error.
      heldHere.delete(path.resolve(stateFile));
      await release().catch(() => {});
      await rm(ownerFile(stateFile), { force: true });
    },
  };
}
