import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LockedError } from "../../src/engine/errors.js";
import { acquireStateLock, bootId, processStartTime } from "../../src/engine/lock.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** A live process that is not gen3d: what a reused PID points at. */
function unrelatedProcess(): number {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  children.push(child);
  return child.pid as number;
}

/** A lock as a holder described by `holder` left it: the lock directory, fresh, and its owner file. */
async function lockLeftBy(holder: Record<string, unknown>): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "gen3d-lock-")), "STATE.json");
  await mkdir(`${file}.lock`);
  await writeFile(
    `${file}.lock-owner`,
    JSON.stringify({
      host: os.hostname(),
      command: "deploy",
      startedAt: "2026-12-02T06:00:00.000Z",
      ...holder,
    }),
  );
  return file;
}

async function refusal(file: string): Promise<LockedError> {
  const error = await acquireStateLock(file, "deploy", () => {}).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LockedError);
  return error as LockedError;
}

describe.skipIf(process.platform !== "linux")("state lock: who really holds it", () => {
  it("records host, boot id and the holder's process start time", async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "gen3d-lock-")), "STATE.json");
    const lock = await acquireStateLock(file, "deploy", () => {});
    const recorded = JSON.parse(await readFile(`${file}.lock-owner`, "utf8"));
    expect(recorded).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
      bootId: bootId(),
      processStart: processStartTime(process.pid),
      command: "deploy",
    });
    expect(recorded.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(recorded.processStart).toMatch(/^\d+$/);
    await lock.release();
  });

  it("a holder PID now used by an unrelated process is stale at once (its start time differs)", async () => {
    const pid = unrelatedProcess();
    const file = await lockLeftBy({ pid, bootId: bootId(), processStart: "1" });
    const started = Date.now();
    const lock = await acquireStateLock(file, "resume", () => {});
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.parse(await readFile(`${file}.lock-owner`, "utf8"))).toMatchObject({
      pid: process.pid,
      command: "resume",
    });
    await lock.release();
  });

  it("a live holder whose start time matches is refused, named with its PID", async () => {
    const pid = unrelatedProcess();
    await new Promise((r) => setTimeout(r, 50));
    const file = await lockLeftBy({ pid, bootId: bootId(), processStart: processStartTime(pid) });
    const error = await refusal(file);
    expect(error.message).toContain(`pid ${pid} on ${os.hostname()}`);
    // When it started, as a human says it: no ISO timestamp in the message.
    expect(error.message).toMatch(/started \d+ (min|h|days) ago|started just now/);
    expect(error.message).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(error.exitCode).toBe(3);
  });

  it("a holder that is this very process, which does not hold it (gen3d as PID 1 in a container), is stale", async () => {
    const file = await lockLeftBy({
      pid: process.pid,
      bootId: bootId(),
      processStart: processStartTime(process.pid),
    });
    const lock = await acquireStateLock(file, "deploy", () => {});
    await lock.release();
  });

  it("a holder on another host is refused by the host check, naming that host and never suggesting kill", async () => {
    const file = await lockLeftBy({ pid: 4_194_000, host: "build-box-7", bootId: "b".repeat(36) });
    const error = await refusal(file);
    expect(error.message).toContain("another machine (build-box-7)");
    expect(error.message).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(error.hint).toContain("share this state file");
    expect(error.hint).not.toMatch(/kill/);
  });

  it("a holder with this host's name but another boot id is not judged by its PID here", async () => {
    // A dead PID on this machine, but the record comes from another machine that has the same name.
    const file = await lockLeftBy({ pid: 4_194_001, bootId: "00000000-0000-0000-0000-000000000000" });
    const error = await refusal(file);
    expect(error.message).toMatch(/another machine named .*another boot id/);
  });
});
