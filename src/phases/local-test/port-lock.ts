import { readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { processAlive } from "../../engine/lock.js";

/**
 * One local test per host port. On host networking every image must listen on 8080 (SageMaker's
 * port), so two phase 3 runs on one machine — two projects, two users, two test files — would
 * answer each other's pings; they take turns instead, and the one that waits says who holds it.
 */
const holder = z.object({
  pid: z.number().int(),
  host: z.string(),
  user: z.string(),
  project: z.string(),
  config: z.string(),
  since: z.string(),
});
export type PortHolder = z.infer<typeof holder>;

export interface PortLock {
  release(): Promise<void>;
}

export interface PortLockOptions {
  signal: AbortSignal;
  /** Told who holds the port, each time that changes, while waiting. */
  waiting(holder: PortHolder | undefined): void;
  /** Where the lock lives: one folder for the whole host (/tmp unless a test says). */
  dir?: string;
  pollMs?: number;
}

/**
 * One folder every user of this host sees: /tmp, not $TMPDIR (which differs between users and
 * sessions, and would let two of them both think the port is free). Windows has no host network.
 */
function hostWideDir(): string {
  return process.platform === "win32" ? os.tmpdir() : "/tmp";
}

function lockBase(dir: string, port: number): string {
  return path.join(dir, `gen3d-local-test-port-${port}`);
}

async function readHolder(base: string): Promise<PortHolder | undefined> {
  try {
    return holder.parse(JSON.parse(await readFile(`${base}.holder`, "utf8")));
  } catch {
    return undefined;
  }
}

export function describeHolder(h: PortHolder | undefined): string {
  return h
    ? `the local test of project ${h.project} (${h.config}; pid ${h.pid}, user ${h.user}, since ${h.since})`
    : "another gen3d local test";
}

/**
 * Waits for, then takes, the host-wide lock on `port`. A lock whose holder was killed on this host
 * is taken over at once (its PID is gone); proper-lockfile's heartbeat covers other cases. Aborting
 * `signal` stops the wait.
 */
export async function acquirePortLock(
  port: number,
  me: { project: string; config: string },
  options: PortLockOptions,
): Promise<PortLock> {
  const base = lockBase(options.dir ?? hostWideDir(), port);
  const lockOptions = {
    realpath: false,
    lockfilePath: `${base}.lock`,
    // A loaded two-core machine can delay the heartbeat; a killed holder is found by its PID.
    stale: 60_000,
    update: 10_000,
    // Someone judged our lock stale and took it: nothing to undo here; the probe still only
    // trusts a 200 from our own running container.
    onCompromised: () => {},
  };
  let lastSeen: string | undefined;
  for (;;) {
    if (options.signal.aborted) throw options.signal.reason;
    try {
      const release = await lockfile.lock(base, lockOptions);
      const record: PortHolder = {
        pid: process.pid,
        host: os.hostname(),
        user: os.userInfo().username,
        ...me,
        since: new Date().toISOString(),
      };
      await writeFile(`${base}.holder`, JSON.stringify(record), { mode: 0o644 });
      return {
        async release() {
          await rm(`${base}.holder`, { force: true }).catch(() => {});
          await release().catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    }
    const current = await readHolder(base);
    const ageMs = await stat(`${base}.lock`).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    const orphaned = current
      ? current.host === os.hostname() && !processAlive(current.pid)
      : // the holder writes its record right after taking the lock: none after 5 s means it died between
        ageMs > 5_000;
    if (orphaned) {
      await rm(`${base}.lock`, { recursive: true, force: true }).catch(() => {});
      await rm(`${base}.holder`, { force: true }).catch(() => {});
      continue;
    }
    const seen = JSON.stringify(current ?? null);
    if (seen !== lastSeen) {
      lastSeen = seen;
      options.waiting(current);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.pollMs ?? 500);
      function done() {
        clearTimeout(timer);
        options.signal.removeEventListener("abort", done);
        resolve();
      }
      options.signal.addEventListener("abort", done, { once: true });
    });
  }
}
