import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LockedError, StateError } from "../../src/engine/errors.js";
import { acquireStateLock } from "../../src/engine/lock.js";
import { readState, StateStore } from "../../src/engine/state.js";

async function tmp() {
  return mkdtemp(path.join(os.tmpdir(), "gen3d-state-"));
}

// Built at run time so that no credential-shaped string sits in the repository (a fake one).
const FAKE_ACCESS_KEY = ["AKIA", "ABCDEFGHIJKLMNOP"].join("");

describe("state store", () => {
  it("writes the whole record atomically after every update, leaving no temp files", async () => {
    const dir = await tmp();
    const file = path.join(dir, "STATE.json");
    const store = await StateStore.open(file, "p");
    await store.setPhase(1, { status: "running", attempts: 1 }, { event: "phase-started" });
    await store.setPhase(1, { status: "passed", inputHash: "abc" }, { event: "phase-passed" });
    const onDisk = await readState(file);
    expect(onDisk?.phases["1"]).toMatchObject({ status: "passed", attempts: 1, inputHash: "abc" });
    expect(onDisk?.history.map((h) => h.event)).toEqual(["phase-started", "phase-passed"]);
    expect(await readdir(dir)).toEqual(["STATE.json"]);
  });

  it("never writes a credential, however it arrives", async () => {
    const file = path.join(await tmp(), "STATE.json");
    const store = await StateStore.open(file, "p");
    await store.setPhase(4, {
      status: "passed",
      attempts: 1,
      evidence: {
        authorizationToken: "QVdTOnNlY3JldA==",
        login: "Basic QVdTOnNlY3JldHNlY3JldHNlY3JldA==",
        key: FAKE_ACCESS_KEY,
      },
    });
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("QVdTOnNlY3JldA");
    expect(text).not.toContain(FAKE_ACCESS_KEY);
    expect(text).toContain("[redacted]");
  });

  it("bounds the history", async () => {
    const store = await StateStore.open(path.join(await tmp(), "STATE.json"), "p");
    for (let i = 0; i < 210; i++) await store.update(() => {}, { event: `e${i}` });
    expect(store.state.history).toHaveLength(200);
    expect(store.state.history[0]?.event).toBe("e10");
  });

  it.each([
    ["truncated", '{"schemaVersion": 1, "project": "p", "phas', "STATE_CORRUPT"],
    ["unknown version", JSON.stringify({ schemaVersion: 99, project: "p" }), "STATE_VERSION"],
    ["wrong shape", JSON.stringify({ schemaVersion: 1, project: "p", phases: [] }), "STATE_INVALID"],
  ])("refuses a %s file with recovery advice and never overwrites it", async (_name, content, code) => {
    const file = path.join(await tmp(), "STATE.json");
    await writeFile(file, content);
    const error = await StateStore.open(file, "p").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect(error).toMatchObject({ code });
    expect((error as StateError).hint).toMatch(/git checkout -- STATE.json|upgrade gen3d/);
    expect(await readFile(file, "utf8")).toBe(content);
  });

  it("refuses a record of another project", async () => {
    const file = path.join(await tmp(), "STATE.json");
    await (await StateStore.open(file, "a")).update(() => {});
    await expect(StateStore.open(file, "b")).rejects.toMatchObject({ code: "STATE_PROJECT_MISMATCH" });
  });
});

describe("aborts", () => {
  it("Ctrl-C at a prompt counts as an interruption, not a bug", async () => {
    const { isAbort } = await import("../../src/engine/errors.js");
    expect(
      isAbort(
        Object.assign(new Error("User force closed the prompt with SIGINT"), { name: "ExitPromptError" }),
      ),
    ).toBe(true);
    expect(isAbort(Object.assign(new Error("x"), { name: "AbortPromptError" }))).toBe(true);
    expect(isAbort(new Error("boom"))).toBe(false);
  });
});

describe("state lock", () => {
  it("refuses a second holder and names the first", async () => {
    const file = path.join(await tmp(), "STATE.json");
    const first = await acquireStateLock(file, "deploy", () => {});
    const error = await acquireStateLock(file, "deploy", () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).message).toContain(`pid ${process.pid}`);
    expect((error as LockedError).exitCode).toBe(3);
    await first.release();
    const again = await acquireStateLock(file, "deploy", () => {});
    await again.release();
  });

  it("keeps the lock through its heartbeats (the owner record must not disturb them)", async () => {
    const file = path.join(await tmp(), "STATE.json");
    const compromised: Error[] = [];
    const lock = await acquireStateLock(file, "deploy", (e) => compromised.push(e), {
      staleMs: 2_000,
      updateMs: 1_000,
    });
    await new Promise((r) => setTimeout(r, 3_500));
    expect(compromised).toEqual([]);
    await lock.release();
  });

  it("recovers at once from a lock whose owner process is gone", async () => {
    const file = path.join(await tmp(), "STATE.json");
    const lock = await acquireStateLock(file, "deploy", () => {});
    // Pretend the holder was a process that has since died (kill -9).
    const owner = `${file}.lock-owner`;
    const record = JSON.parse(await readFile(owner, "utf8"));
    await writeFile(owner, JSON.stringify({ ...record, pid: 2 ** 22 + 7 }));
    const taken = await acquireStateLock(file, "resume", () => {});
    await taken.release();
    await lock.release().catch(() => {});
  });
});
