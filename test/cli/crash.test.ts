import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootId } from "../../src/engine/lock.js";
import { readState } from "../../src/engine/state.js";
import { startHangingServer } from "../support/hanging-server.js";
import { makeProject, validConfig } from "../support/project.js";

const BIN = path.resolve("bin/gen3d.js");

function gen3d(
  cwd: string,
  args: string[],
): ChildProcess & { output: Promise<{ code: number | null; stderr: string; stdout: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: {
      ...process.env,
      CI: "true",
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_MAX_ATTEMPTS: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (d) => (stderr += d));
  child.stdout?.on("data", (d) => (stdout += d));
  const output = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stderr, stdout })),
  );
  return Object.assign(child, { output });
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 20_000) {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("crash safety (real process, kill -9)", { timeout: 90_000 }, () => {
  let hanging: Awaited<ReturnType<typeof startHangingServer>>;
  let dir: string;

  beforeAll(async () => {
    // AWS calls go to a server that never answers, so phase 1 stays running until we kill it.
    hanging = await startHangingServer();
    dir = await makeProject({ config: validConfig({ aws: { region: "us-east-1", endpoint: hanging.url } }) });
  });
  afterAll(async () => hanging.close());

  it("a second concurrent deploy exits with a lock error naming the first", async () => {
    const first = gen3d(dir, ["deploy"]);
    const stateFile = path.join(dir, "STATE.json");
    await waitFor(
      async () => (await readState(stateFile).catch(() => undefined))?.phases["1"]?.status === "running",
    );
    const second = await gen3d(dir, ["deploy"]).output;
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toMatch(/STATE_LOCKED/);
    first.kill("SIGKILL");
    await first.output;
  });

  it("kill -9 at any moment leaves a STATE.json that parses, and resume carries on", async () => {
    const stateFile = path.join(dir, "STATE.json");
    for (const delayMs of [0, 40, 80, 120, 200, 300, 450, 700]) {
      const child = gen3d(dir, ["deploy"]);
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await child.output;
      const text = await readFile(stateFile, "utf8").catch(() => undefined);
      if (text !== undefined) expect(() => JSON.parse(text), `after kill at ${delayMs} ms`).not.toThrow();
      const state = await readState(stateFile);
      expect(state?.schemaVersion ?? 1).toBe(1);
    }
    // The killed runs left phase 1 "running" and a lock whose owner is dead: resume takes over.
    const before = (await readState(stateFile))?.history.length ?? 0;
    const resumed = gen3d(dir, ["resume"]);
    await waitFor(async () => {
      const state = await readState(stateFile);
      return (
        (state?.history.length ?? 0) > before &&
        (state?.history.at(-1)?.detail ?? "").includes("stopped while it was running")
      );
    });
    resumed.kill("SIGINT");
    const result = await resumed.output;
    expect(result.code).toBe(130);
    expect((await readState(stateFile))?.phases["1"]?.status).toBe("interrupted");
  });

  it("Ctrl-C marks the phase interrupted and exits 130; resume then reports why it re-runs", async () => {
    const stateFile = path.join(dir, "STATE.json");
    await writeFile(
      stateFile,
      (await readFile(stateFile, "utf8")).replace(/"status": "running"/g, '"status": "interrupted"'),
    );
    const child = gen3d(dir, ["resume"]);
    await waitFor(async () => (await readState(stateFile))?.phases["1"]?.status === "running");
    child.kill("SIGINT");
    const { code, stderr } = await child.output;
    expect(code).toBe(130);
    expect(stderr).toMatch(/gen3d resume/);
    const state = await readState(stateFile);
    expect(state?.phases["1"]?.status).toBe("interrupted");
    expect(
      state?.history.some((h) => h.event === "phase-started" && h.detail === "interrupted last time"),
    ).toBe(true);
  });

  it.skipIf(process.platform !== "linux")(
    "a lock whose holder PID now belongs to an unrelated process is taken at once, without naming it gen3d",
    async () => {
      const fresh = await makeProject({
        config: validConfig({ aws: { region: "us-east-1", endpoint: hanging.url } }),
      });
      const stateFile = path.join(fresh, "STATE.json");
      const unrelated = spawn("sleep", ["60"], { stdio: "ignore" });
      try {
        // What a killed gen3d leaves once the kernel has handed its PID to another process.
        await mkdir(`${stateFile}.lock`);
        await writeFile(
          `${stateFile}.lock-owner`,
          JSON.stringify({
            pid: unrelated.pid,
            host: os.hostname(),
            bootId: bootId(),
            processStart: "1",
            command: "deploy",
            startedAt: "2026-12-02T06:00:00.000Z",
          }),
        );
        const started = Date.now();
        const child = gen3d(fresh, ["deploy"]);
        await waitFor(async () => (await readState(stateFile))?.phases["1"]?.status === "running");
        expect(Date.now() - started).toBeLessThan(20_000);
        child.kill("SIGKILL");
        const { stderr } = await child.output;
        expect(stderr).not.toMatch(/STATE_LOCKED|locked by/);
        expect(JSON.parse(await readFile(`${stateFile}.lock-owner`, "utf8")).pid).toBe(child.pid);
      } finally {
        unrelated.kill("SIGKILL");
      }
    },
  );
});
