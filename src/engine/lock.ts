import { readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { LockedError } from "./errors.js";

const owner = z.object({
  pid: z.number().int(),
  host: z.string(),
  command: z.string(),
  startedAt: z.string(),
});
type LockOwner = z.infer<typeof owner>;

export interface StateLock {
  release(): Promise<void>;
}

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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock that stops two runs on one state file. proper-lockfile keeps the lock fresh with an
 * mtime heartbeat, so a lock left by a killed run goes stale on its own; we also recover at once when
 * the recorded owner is a process on this host that no longer exists.
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
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(stateFile, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    const holder = await readOwner(stateFile);
    // A live holder writes its owner file within milliseconds of taking the lock; a lock without
    // one that is older than a second was left by a run killed in between.
    const orphaned = !holder && (await lockAgeMs(stateFile)) > 1_000;
    if (orphaned || (holder && holder.host === os.hostname() && !processAlive(holder.pid))) {
      await rm(lockDir(stateFile), { recursive: true, force: true });
      release = await lockfile.lock(stateFile, options);
    } else {
      const who = holder
        ? `gen3d ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`
        : "another gen3d process";
      throw new LockedError("STATE_LOCKED", `${stateFile} is locked by ${who}`, {
        hint: holder
          ? `Wait for it to finish or stop it (kill ${holder.pid}); a lock left by a crashed run on this host is recovered at once, on another host after 2 minutes.`
          : `A lock left by a crashed run clears itself within 2 minutes; if it does not, remove ${lockDir(stateFile)}.`,
      });
    }
  }
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    command,
    startedAt: new Date().toISOString(),
  };
  await writeFile(ownerFile(stateFile), JSON.stringify(me));
  return {
    async release() {
      // Lock first, owner record second: the other way round, a waiting run could see an
      // ownerless lock, take it as orphaned, and then lose it to this release.
      // After a compromise proper-lockfile has already let go; releasing again is not an error.
      await release().catch(() => {});
      await rm(ownerFile(stateFile), { force: true });
    },
  };
}
