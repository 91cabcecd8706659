import { execFileSync, spawnSync } from "node:child_process";
import { copyFile, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL } from "../../src/adapters/container-owner.js";
import { readState } from "../../src/engine/state.js";
import { containersNamed, spawnCli } from "../support/cli-process.js";
import { BASE_IMAGE, freePort, requireLocalStack } from "../support/local-stack.js";
import { makeProject, validConfig } from "../support/project.js";

/**
 * What a killed run leaves — a write-file-atomic temp copy of STATE.json, phase 2's listing
 * container stuck in `Created`, phase 3's container still running — is removed by the next run
 * that takes the lock, and `gen3d status` says when. A live run's container is left alone.
 */
const PROJECT = "gen3d-reap";
const LOCAL_TEST = `gen3d-local-test-${PROJECT}`;
const LISTING = `gen3d-reap-listing-${Math.random().toString(36).slice(2, 8)}`;
const LIVE = `gen3d-reap-live-${Math.random().toString(36).slice(2, 8)}`;

/** A PID that ran and is gone, as a SIGKILLed gen3d's is. */
function deadPid(): number {
  const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(child.stdout.trim());
}

function ownerFlags(pid: number): string[] {
  return ["--label", `${OWNER_PID_LABEL}=${pid}`, "--label", `${OWNER_HOST_LABEL}=${os.hostname()}`];
}

describe("the next run reaps what a killed run left", { timeout: 120_000 }, () => {
  let dir: string;

  beforeAll(async () => {
    requireLocalStack();
    // AWS on a closed port: phase 1 fails at once, after the reaping this test is about.
    dir = await makeProject({
      config: validConfig({
        project: { name: PROJECT },
        aws: { region: "us-east-1", endpoint: `http://127.0.0.1:${await freePort()}` },
      }),
    });
    const first = await spawnCli(dir, ["deploy", "--to", "1"]).output;
    expect(first.code, first.stderr).not.toBe(0);
    expect(await readState(path.join(dir, "STATE.json"))).toBeDefined();
  });

  afterAll(() => {
    spawnSync("docker", ["rm", "--force", LOCAL_TEST, LISTING, LIVE]);
  });

  it("removes the temp file and both containers, records it, and status shows it", async () => {
    // 1. The temp copy write-file-atomic leaves when killed between write and rename.
    const temp = path.join(dir, "STATE.json.2879817749");
    await copyFile(path.join(dir, "STATE.json"), temp);
    // 2. Phase 2's in-image listing, created but never started or removed (as docker run left it).
    execFileSync("docker", [
      "create",
      "--name",
      LISTING,
      ...ownerFlags(deadPid()),
      "--network",
      "none",
      "--entrypoint",
      "find",
      BASE_IMAGE,
      "/opt",
    ]);
    // 3. Phase 3's container, still running, from a gen3d that predates owner labels (by name).
    execFileSync("docker", [
      "run",
      "--detach",
      "--name",
      LOCAL_TEST,
      "--network",
      "none",
      "--entrypoint",
      "sleep",
      BASE_IMAGE,
      "300",
    ]);
    // 4. A container of a run that is alive (this test process): never touched.
    execFileSync("docker", [
      "create",
      "--name",
      LIVE,
      ...ownerFlags(process.pid),
      "--network",
      "none",
      BASE_IMAGE,
    ]);
    expect(containersNamed(LISTING)).toEqual([`${LISTING} created`]);
    expect(containersNamed(LOCAL_TEST)).toEqual([`${LOCAL_TEST} running`]);

    const next = await spawnCli(dir, ["deploy", "--to", "1"]).output;
    expect(next.stderr).toMatch(/Removed what an interrupted run left/);
    expect((await readdir(dir)).filter((n) => /^STATE\.json\.\d+$/.test(n))).toEqual([]);
    expect(containersNamed(LISTING)).toEqual([]);
    expect(containersNamed(LOCAL_TEST)).toEqual([]);
    expect(containersNamed(LIVE)).toEqual([`${LIVE} created`]);

    const status = await spawnCli(dir, ["status"]).output;
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /Reaped (just now|\d+ min ago) what an interrupted run left: .*temp file .*STATE\.json\.2879817749/,
    );
    expect(status.stdout).toContain(`container ${LISTING} (created, left by pid`);
    expect(status.stdout).toContain(`container ${LOCAL_TEST} (running)`);
    const json = JSON.parse((await spawnCli(dir, ["status", "--json"]).output).stdout) as {
      lastReaped?: { at: string; removed: string };
    };
    expect(json.lastReaped?.removed).toContain(LOCAL_TEST);

    // Nothing left: the run after that reaps nothing and says nothing.
    const quiet = await spawnCli(dir, ["deploy", "--to", "1"]).output;
    expect(quiet.stderr).not.toMatch(/Removed what an interrupted run left/);
  });
});
