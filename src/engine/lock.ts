import { readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
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

async function readOwner(stateFile: string): Promise<LockOwner | undefined> {
  try {
    return owner.parse(JSON.parse(await readFile(path.join(lockDir(stateFile), "owner.json"), "utf8")));
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
): Promise<StateLock> {
  const options = {
    realpath: false,
    lockfilePath: lockDir(stateFile),
    stale: 10_000,
    update: 2_000,
    onCompromised,
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(stateFile, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    const holder = await readOwner(stateFile);
    // A live holder writes owner.json within milliseconds of taking the lock; a lock without one
    // that is older than a second was left by a run killed in between.
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
          ? `Wait for it to finish or stop it (kill ${holder.pid}); a lock left by a crashed run clears itself within 10 s.`
          : `A lock left by a crashed run clears itself within 10 s; if it does not, remove ${lockDir(stateFile)}.`,
      });
    }
  }
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    command,
    startedAt: new Date().toISOString(),
  };
  await writeFile(path.join(lockDir(stateFile), "owner.json"), JSON.stringify(me));
  return {
    async release() {
      await rm(path.join(lockDir(stateFile), "owner.json"), { force: true });
      await release();
    },
  };
}
