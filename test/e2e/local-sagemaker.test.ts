import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAccount } from "../support/aws-account.js";
import { containerProject, LOCAL_REGISTRY, localConfig, requireLocalStack } from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";
import { dataPlaneSettings } from "../support/project-kit.mjs";

/**
 * Tier 3: `gen3d deploy` 1 → 10 through the CLI on the local stack, against the local SageMaker's
 * data plane — the endpoint's instances are containers of the pushed image, phase 9's jobs go
 * through the real async queue, the scaling policies phase 8 wrote take it to zero and back.
 * AWS-side periods run 60× faster (one AWS minute = 1 s).
 */
const BIN = path.resolve("bin/gen3d.js");
const TIME_SCALE = 60;

interface Activity {
  Description: string;
  Cause: string;
}
interface EndpointReport {
  counters: { submitted: number; succeeded: number } & Record<string, number>;
  currentInstanceCount: number;
  coldStarts: { inferenceId: string; secondsFromRequest: Record<string, number> }[];
  scaling: { activities: Activity[] };
}
interface TaskRecord {
  inferenceId: string;
  outcome?: string;
  outputLocation: string;
  latencySeconds?: number;
}
type PhaseRecord = { status: string; evidence?: { run?: Record<string, unknown> } };

function run(cwd: string, args: string[], env: Record<string, string>) {
  const done = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env, CI: "true", NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: done.status, stdout: done.stdout, stderr: done.stderr };
}

async function readState(dir: string): Promise<{
  phases: Record<string, PhaseRecord>;
  artifacts: { integrationJobs?: { jobs: { inferenceId: string; outputLocation?: string }[] } };
}> {
  return JSON.parse(await readFile(path.join(dir, "STATE.json"), "utf8"));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch((error: Error) => {
      if (error.message.startsWith("deploy exited")) throw error;
      return undefined;
    });
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("gen3d deploy 1 → 10 on the local SageMaker", { timeout: 600_000 }, () => {
  let moto: MotoServer;
  let dir: string;
  let env: Record<string, string>;
  const repository = `gen3d-e2e-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto({ dataPlane: true, timeScale: TIME_SCALE });
    await seedAccount(moto);
    const project = await containerProject();
    dir = project.dir;
    const config = {
      ...localConfig({
        endpoint: moto.endpoint,
        repository,
        modelBytes: project.modelBytes,
      }),
      ...dataPlaneSettings(2),
      async: { maxConcurrentInvocationsPerInstance: 2 },
    };
    await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));
    env = moto.env;
  });

  afterAll(async () => {
    await moto?.stop(); // removes every instance container it started
    const refs = spawnSync("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
      encoding: "utf8",
    })
      .stdout.split("\n")
      .filter((r) => r.startsWith(`${LOCAL_REGISTRY}/${repository}`) || r.startsWith("gen3d-it:"));
    if (refs.length > 0) spawnSync("docker", ["image", "rm", "--force", ...refs]);
  });

  it("passes every phase: the endpoint answers each task, scales to zero, and one job at zero starts exactly one instance", async () => {
    const result = run(dir, ["deploy"], env);
    expect(result.code, result.stderr.slice(-4000)).toBe(0);
    const state = await readState(dir);
    expect(Object.values(state.phases).map((p) => p.status)).toEqual(Array(10).fill("passed"));

    const integration = state.phases["9"]?.evidence?.run as {
      tasks: Record<string, TaskRecord>;
      endpointName: string;
    };
    expect(Object.keys(integration.tasks).sort()).toEqual(["generate_3d", "get_embedding", "segment"]);
    for (const task of Object.values(integration.tasks)) {
      expect(task.outcome).toBe("output");
      expect(task.latencySeconds).toBeGreaterThan(0);
    }

    // The emulator ran these jobs: its counters, not gen3d's word.
    const report = (await moto.localSageMaker(`endpoints/${integration.endpointName}`)) as EndpointReport;
    expect(report.counters.submitted).toBe(4); // three tasks + phase 10's cold start
    expect(report.counters.succeeded).toBe(4);
    // Phase 10's cold start went 0 → 1 through the step policy, and never to 2.
    const descriptions = report.scaling.activities.map((a) => a.Description);
    expect(descriptions).toContain("Setting desired instance count to 1.");
    expect(descriptions).not.toContain("Setting desired instance count to 2.");
    expect(report.scaling.activities.find((a) => a.Description.endsWith(" 1."))?.Cause).toMatch(
      /has-backlog-without-capacity in state ALARM/,
    );
    const [cold] = report.coldStarts;
    expect(cold?.secondsFromRequest.result).toBeGreaterThan(cold?.secondsFromRequest.firstPing ?? Infinity);
    const zero = state.phases["10"]?.evidence?.run as { coldStart?: { breakdown?: unknown } };
    expect(zero.coldStart?.breakdown).toBeDefined();
    // The gate judges the cold start this very run measured.
    const phase10 = state.phases["10"]?.evidence as { gates?: { id: string; status: string }[] } | undefined;
    const gates = phase10?.gates ?? [];
    expect(gates.find((g) => g.id === "scale-to-zero.cold-start")?.status).toBe("pass");
  });

  it("a second deploy skips every phase with the reason, submitting nothing", async () => {
    const before = (await moto.localSageMaker("endpoints/gen3d-it-async")) as EndpointReport;
    const result = run(dir, ["deploy", "--json"], env);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(result.stdout) as { phases: { id: number; status: string }[] };
    expect(report.phases.map((p) => p.status)).toEqual(Array(10).fill("skipped"));
    const after = (await moto.localSageMaker("endpoints/gen3d-it-async")) as EndpointReport;
    expect(after.counters.submitted).toBe(before.counters.submitted);
  });

  it("gen3d invoke downloads a mask PNG of the input's size; --no-wait then --result round-trips", async () => {
    const image = path.join(dir, "photo.png");
    // A 40×30 picture: the container's own test helper would do; a tiny PNG from the test image is enough.
    const png = spawnSync(
      "python3",
      [
        "-c",
        "import struct,zlib,sys\nw,h=40,30\nraw=b''.join(b'\\x00'+bytes((x*6)%256 for x in range(w*3)) for y in range(h))\nc=lambda k,d: struct.pack('>I',len(d))+k+d+struct.pack('>I',zlib.crc32(k+d)&0xffffffff)\nsys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n'+c(b'IHDR',struct.pack('>IIBBBBB',w,h,8,2,0,0,0))+c(b'IDAT',zlib.compress(raw))+c(b'IEND',b''))",
      ],
      { encoding: "buffer" },
    ).stdout;
    await writeFile(image, png);
    const out = path.join(dir, "results");
    const waited = run(
      dir,
      ["invoke", "--task", "segment", "--image", image, "--point", "20,15", "--out", out, "--json"],
      env,
    );
    expect(waited.code, waited.stderr.slice(-3000)).toBe(0);
    const answer = JSON.parse(waited.stdout) as { files?: string[]; results?: unknown };
    const mask = JSON.stringify(answer)
      .match(/"([^"]+\.png)"/g)
      ?.map((m) => m.slice(1, -1))
      .find((p) => p.startsWith(out));
    expect(mask, waited.stdout).toBeDefined();
    const bytes = await readFile(mask as string);
    expect(bytes.readUInt32BE(16)).toBe(40); // IHDR width
    expect(bytes.readUInt32BE(20)).toBe(30); // IHDR height

    const queued = run(
      dir,
      ["invoke", "--task", "segment", "--image", image, "--point", "5,5", "--no-wait", "--json"],
      env,
    );
    expect(queued.code, queued.stderr.slice(-3000)).toBe(0);
    const { inferenceId } = JSON.parse(queued.stdout) as { inferenceId: string };
    expect(inferenceId).toBeTruthy();
    const fetched = await until("the queued job's result", 120_000, async () => {
      const r = run(
        dir,
        ["invoke", "--result", inferenceId, "--out", path.join(dir, "later"), "--json"],
        env,
      );
      return r.code === 0 ? r : undefined;
    });
    expect(fetched.stdout).toMatch(/\.png/);
  });

  it("kill -9 while phase 9 waits, then resume: the same jobs are polled, none is submitted twice", async () => {
    // Make the endpoint slow (a new model → phases 3 and 5–10 re-run) so phase 9 is caught waiting.
    const configPath = path.join(dir, "gen3d.config.json");
    const config = JSON.parse(await readFile(configPath, "utf8"));
    config.localTest.environment.GEN3D_TEST_DELAY_MS = "2500";
    config.scaleToZero.coldStart = false;
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const child: ChildProcess = spawn(process.execPath, [BIN, "deploy"], {
      cwd: dir,
      env: { ...process.env, ...env, CI: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr])
      stream?.on("data", (c) => (output = (output + c).slice(-6000)));
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) =>
      child.once("exit", (code) => {
        exitCode = code;
        resolve();
      }),
    );
    // Phase 9 records each job in STATE.json (artifacts.integrationJobs) before it waits for it.
    let idsBefore: string[];
    try {
      idsBefore = await until("phase 9 to record a submitted job", 300_000, async () => {
        if (exitCode !== undefined)
          throw new Error(`deploy exited (${exitCode}) before phase 9 waited:\n${output}`);
        const state = await readState(dir);
        // Waiting, not submitting: every recorded job has SageMaker's answer (its output location).
        // A job recorded but not yet answered is sent again on resume with the same InferenceId.
        const jobs = state.artifacts.integrationJobs?.jobs ?? [];
        return state.phases["9"]?.status === "running" &&
          jobs.length > 0 &&
          jobs.every((j) => j.outputLocation)
          ? jobs.map((j) => j.inferenceId)
          : undefined;
      });
    } finally {
      // Never leave the deploy running into the next test, whatever happened above.
      child.kill("SIGKILL");
      await exited;
    }

    const endpoint = "gen3d-it-async";
    const before = (await moto.localSageMaker(`endpoints/${endpoint}`)) as EndpointReport;
    const resumed = run(dir, ["resume"], env);
    expect(resumed.code, resumed.stderr.slice(-4000)).toBe(0);
    const after = (await moto.localSageMaker(`endpoints/${endpoint}`)) as EndpointReport;
    const state = await readState(dir);
    const run9 = state.phases["9"]?.evidence?.run as { tasks: Record<string, TaskRecord> } | undefined;
    const tasks = run9?.tasks ?? {};
    const idsAfter = Object.values(tasks).map((t) => t.inferenceId);
    for (const id of idsBefore) expect(idsAfter).toContain(id);
    // Only the tasks not yet submitted at the kill were submitted by the resumed run.
    expect(after.counters.submitted - before.counters.submitted).toBe(3 - idsBefore.length);
  });

  it("verify --phase 9 submits one fresh job per task through the endpoint and passes; STATE.json is not written", async () => {
    const stateFile = path.join(dir, "STATE.json");
    const stateBefore = await readFile(stateFile, "utf8");
    const recordedRun = (JSON.parse(stateBefore).phases["9"]?.evidence?.run as { runId?: string })?.runId;
    const before = (await moto.localSageMaker("endpoints/gen3d-it-async")) as EndpointReport;
    const result = run(dir, ["verify", "--phase", "9", "--json"], env);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      ok: boolean;
      mode: string;
      evidence: { runId: string; tasks: Record<string, TaskRecord> };
      updated: boolean;
    };
    expect(doc).toMatchObject({ ok: true, mode: "fresh", updated: false });
    expect(doc.evidence.runId).not.toBe(recordedRun);
    expect(Object.keys(doc.evidence.tasks).sort()).toEqual(["generate_3d", "get_embedding", "segment"]);
    const after = (await moto.localSageMaker("endpoints/gen3d-it-async")) as EndpointReport;
    expect(after.counters.submitted - before.counters.submitted).toBe(3);
    expect(await readFile(stateFile, "utf8")).toBe(stateBefore);
  });

  it("with the endpoint deleted behind gen3d's back: verify --phase 9 fails, plan names it, deploy re-creates it", async () => {
    const { SageMakerClient, DeleteEndpointCommand, DescribeEndpointCommand } = await import(
      "@aws-sdk/client-sagemaker"
    );
    const sagemaker = new SageMakerClient({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: moto.credentials,
    });
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: "gen3d-it-async" }));
    await until("the endpoint to be deleted", 60_000, async () =>
      sagemaker.send(new DescribeEndpointCommand({ EndpointName: "gen3d-it-async" })).then(
        () => undefined,
        () => true,
      ),
    );
    const verified = run(dir, ["verify", "--phase", "9", "--json"], env);
    expect(verified.code, verified.stderr.slice(-3000)).toBe(1);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: false, reality: { type: "gone" } });

    const plan = run(dir, ["plan"], env);
    expect(plan.code, plan.stderr.slice(-3000)).toBe(0);
    expect(plan.stdout).toContain("7. would re-run: endpoint gen3d-it-async no longer exists");

    const deployed = run(dir, ["deploy", "--json"], env);
    expect(deployed.code, deployed.stderr.slice(-4000)).toBe(0);
    const report = JSON.parse(deployed.stdout) as {
      phases: { id: number; status: string; reason: string; message: string }[];
    };
    expect(report.phases.find((p) => p.id === 7)).toMatchObject({
      status: "passed",
      reason: "drift",
      message: "endpoint gen3d-it-async no longer exists",
    });
    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: "gen3d-it-async" }));
    expect(endpoint.EndpointStatus).toBe("InService");
  });

  it("verify --phase 3 runs the container again (seen in docker ps), and fails once the bucket it writes to is gone although the record says passed", async () => {
    const stateFile = path.join(dir, "STATE.json");
    const stateBefore = await readFile(stateFile, "utf8");
    const localTests = () =>
      spawnSync("docker", ["ps", "--filter", "label=gen3d.local-test=gen3d-it", "--format", "{{.Names}}"], {
        encoding: "utf8",
      }).stdout.trim();
    let stdout = "";
    const child = spawn(process.execPath, [BIN, "verify", "--phase", "3", "--json"], {
      cwd: dir,
      env: { ...process.env, ...env, CI: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    child.stdout?.on("data", (chunk) => {
      stdout += String(chunk);
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const seen = await until("the local-test container in docker ps", 120_000, async () => {
      const names = localTests();
      if (names) return names;
      return exitCode === undefined ? undefined : `verify exited (${exitCode}) first: ${stdout.slice(-2000)}`;
    });
    expect(seen).toContain("gen3d-local-test");
    const code = await exited;
    const doc = JSON.parse(stdout) as {
      ok: boolean;
      mode: string;
      evidence: { startup: { healthy: boolean }; tasks: Record<string, { ok: boolean }> };
    };
    // The verdict is the exit code; the test ran against the image again, every task answered.
    expect(code, stdout.slice(-3000)).toBe(doc.ok ? 0 : 1);
    expect(doc).toMatchObject({ mode: "fresh", evidence: { startup: { healthy: true } } });
    expect(Object.values(doc.evidence.tasks).map((t) => t.ok)).toEqual([true, true, true]);
    expect(localTests()).toBe("");
    expect(await readFile(stateFile, "utf8")).toBe(stateBefore);

    const { S3Client, ListObjectsV2Command, DeleteObjectsCommand, DeleteBucketCommand, CreateBucketCommand } =
      await import("@aws-sdk/client-s3");
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: moto.credentials,
      forcePathStyle: true,
    });
    const Bucket = "gen3d-test-bucket";
    for (;;) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key as string }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket }));
    try {
      const failed = run(dir, ["verify", "--phase", "3", "--json"], env);
      expect(failed.code, failed.stderr.slice(-3000)).toBe(1);
      const verdict = JSON.parse(failed.stdout) as {
        ok: boolean;
        differsFromRecord: { recorded?: { status: string }; fresh?: { status: string } }[];
      };
      expect(verdict.ok).toBe(false);
      // The record says passed; the fresh evidence does not (a gate that failed, or the test
      // stopped by the missing bucket before its gates).
      expect(verdict.differsFromRecord.some((d) => d.fresh?.status === "fail")).toBe(true);
      expect(localTests()).toBe("");
      const recorded = run(dir, ["verify", "--phase", "3", "--recorded"], env);
      expect(recorded.code, recorded.stderr.slice(-3000)).toBe(0);
      expect(recorded.stdout).toMatch(/recorded evidence, from (just now|\d+ min ago)\)/);
      expect(await readFile(stateFile, "utf8")).toBe(stateBefore);
    } finally {
      await s3.send(new CreateBucketCommand({ Bucket }));
    }
  });
});
