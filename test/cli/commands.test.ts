import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { parseConfig } from "../../src/config/load.js";
import { readState } from "../../src/engine/state.js";
import { testRuntime } from "../support/fakes.js";
import { writeStateFile } from "../support/project.js";

const INIT_FLAGS = [
  "--project",
  "demo",
  "--bucket",
  "demo-bucket",
  "--role-arn",
  "arn:aws:iam::123456789012:role/demo",
];

describe("gen3d init", () => {
  it("writes a valid config entirely from flags when non-interactive, and refuses to overwrite it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-"));
    const runtime = testRuntime(dir);
    expect(await main(["init", ...INIT_FLAGS, "--instance-type", "ml.g6e.2xlarge"], runtime)).toBe(0);
    const written = JSON.parse(await readFile(path.join(dir, "gen3d.config.json"), "utf8"));
    const config = parseConfig(written, "gen3d.config.json");
    expect(config.project.name).toBe("demo");
    expect(config.instance.type).toBe("ml.g6e.2xlarge");
    expect(config.models.map((m) => m.name)).toEqual(["sam3", "sam3d"]);
    // The closing lines are the result (stdout); nothing went wrong, so stderr has nothing to say.
    expect(runtime.out.stdout).toMatch(/^wrote gen3d\.config\.json: demo/m);
    expect(runtime.out.stdout).toContain("facebook/sam3");
    expect(runtime.out.stdout).toMatch(/^next: gen3d plan/m);
    expect(runtime.out.stderr).toBe("");
    // AWS itself: nothing to create by hand before deploy.
    expect(runtime.out.stdout).not.toContain("starts empty");

    const local = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-"));
    const onLocal = testRuntime(local);
    expect(await main(["init", ...INIT_FLAGS, "--endpoint", "http://127.0.0.1:5055"], onLocal)).toBe(0);
    expect(onLocal.out.stdout).toContain(
      "http://127.0.0.1:5055 starts empty: create the bucket (`aws --endpoint-url http://127.0.0.1:5055 s3 mb s3://demo-bucket`)",
    );

    const again = testRuntime(dir);
    expect(await main(["init", ...INIT_FLAGS], again)).toBe(2);
    expect(again.out.stderr).toMatch(/already exists[\s\S]*--force/);
  });

  it("names the flags it needs when there is no terminal to ask in", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-"));
    const runtime = testRuntime(dir);
    expect(await main(["init", "--project", "demo"], runtime)).toBe(2);
    expect(runtime.out.stderr).toContain("cannot write a config without --bucket, --role-arn");
  });
});

describe("gen3d plan and status", () => {
  async function project() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-plan-"));
    expect(await main(["init", ...INIT_FLAGS], testRuntime(dir))).toBe(0);
    return dir;
  }

  it("plan says what would run and why, and writes nothing", async () => {
    const dir = await project();
    const runtime = testRuntime(dir);
    expect(await main(["plan", "--json"], runtime)).toBe(0);
    const report = JSON.parse(runtime.out.stdout) as {
      phases: { id: number; status: string; reason: string }[];
    };
    expect(report.phases).toHaveLength(10);
    expect(report.phases[0]).toMatchObject({
      id: 1,
      status: "would-run",
      reason: "never-run",
      message: "never run",
    });
    expect(report.phases.every((p) => p.status === "would-run")).toBe(true);
    expect(await readState(path.join(dir, "STATE.json"))).toBeUndefined();
  });

  it("status without a record says how to start one; with one it prints every phase", async () => {
    const dir = await project();
    const none = testRuntime(dir);
    expect(await main(["status"], none)).toBe(2);
    expect(none.out.stderr).toMatch(/no deployment record[\s\S]*gen3d deploy/);

    const now = new Date().toISOString();
    await writeStateFile(dir, {
      project: "demo",
      phases: {
        "1": { status: "passed", attempts: 1, finishedAt: now, note: "checked" },
        "2": {
          status: "failed",
          attempts: 2,
          error: { code: "IMAGE_PLATFORM", message: "the base image is linux/arm64" },
        },
      },
      artifacts: { imageTag: "0.1.0-abc" },
      history: [{ at: now, event: "phase-failed", phase: 2, detail: "IMAGE_PLATFORM" }],
    });
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(0);
    expect(runtime.out.stdout).toMatch(/^1\s+Preflight checks\s+passed\s+1/m);
    expect(runtime.out.stdout).toMatch(
      /^2\s+Build the image\s+failed\s+2 .*IMAGE_PLATFORM: the base image is linux\/arm64/m,
    );
    expect(runtime.out.stdout).toMatch(/^10\s+Wait for scale to zero\s+pending/m);
    expect(runtime.out.stdout).toMatch(/imageTag\s+0\.1\.0-abc/);

    const json = testRuntime(dir);
    expect(await main(["status", "--json"], json)).toBe(0);
    expect(JSON.parse(json.out.stdout).phases["2"].error.code).toBe("IMAGE_PLATFORM");
  });

  it("status refuses a corrupt record without touching it", async () => {
    const dir = await project();
    await writeFile(path.join(dir, "STATE.json"), "{ not json");
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(4);
    expect(runtime.out.stderr).toMatch(/STATE_CORRUPT[\s\S]*git checkout -- STATE.json/);
    expect(await readFile(path.join(dir, "STATE.json"), "utf8")).toBe("{ not json");
  });
});
