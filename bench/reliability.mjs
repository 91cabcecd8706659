#!/usr/bin/env node
/**
 * Reliability: random SIGKILLs during `gen3d deploy --to 8 --force` on the local stack, each
 * followed by `gen3d resume`, with the invariants checked after every draw.
 *
 *   . scripts/local-stack/env.sh && node bench/reliability.mjs [--draws N] [--seed S] [--kill-window SECONDS] [--json]
 *
 * Needs the built CLI (`npm run build`), dockerd + the loopback registry (scripts/local-stack)
 * and python3 with moto (local-sagemaker/server.py, control plane only: endpoints are InService
 * at once). One calibration deploy measures how long a forced deploy takes (T); each draw then
 * starts `deploy --to 8 --force`, SIGKILLs its whole process group at a seeded-random moment in
 * [0, T] (docker children included, as a crashed terminal would), and runs `resume` until it
 * passes (at most 3). After each draw:
 *   - STATE.json parsed after the kill and after the resume; phases 1–8 passed;
 *   - AWS (List and Describe calls to the emulator): exactly the model, endpoint config, endpoint,
 *     scalable target, two policies and alarm STATE.json names — nothing duplicated or orphaned;
 *   - nothing left: no STATE.json.<n> temp file, no lock, no gen3d container whose owner is
 *     dead, no local-test container.
 * Prints the kill-time histogram by phase, resumes needed, what the resume reaped, and every
 * violation with its seed and draw (replay: --seed S --draws N). Exit 1 on any violation.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeTestModels } from "../scripts/make-test-models.mjs";
import { awsConfig, copyContainer, random, seedAccount, testModels } from "../test/support/project-kit.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(root, "bin", "gen3d.js");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const DRAWS = Number(flag("--draws", "10"));
const SEED = Number(flag("--seed", String(Date.now() % 100000)));
const JSON_OUT = args.includes("--json");
const REGISTRY = process.env.GEN3D_LOCAL_REGISTRY ?? "127.0.0.1:5000";
const BASE_IMAGE = process.env.GEN3D_BASE_IMAGE ?? "gen3d-base:local";
// A name of its own, so two runs of the bench (or the CI test beside it) never share a container name.
const PROJECT = `gen3d-chaos-${Math.random().toString(36).slice(2, 7)}`;
/** Kill times are drawn from [0, window]; without --kill-window, a forced deploy measures it. */
const KILL_WINDOW_S = flag("--kill-window", undefined);
/** The PIDs of every gen3d this bench started: their containers are the ones it answers for. */
const spawned = new Set();
const log = (line) => process.stderr.write(`${line}\n`);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function startMoto() {
  const child = spawn("python3", [path.join(root, "local-sagemaker", "server.py"), "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      PYTHONUNBUFFERED: "1",
    },
  });
  child.stderr.resume();
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("moto did not print MOTO_READY in 30 s")), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /MOTO_READY port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`moto exited with ${code}`)));
  });
  child.stdout.resume();
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

async function makeProject(endpoint) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-chaos-"));
  await copyContainer(path.join(root, "container"), path.join(dir, "container"));
  const bytes = makeTestModels(path.join(dir, "container", "models"), 1);
  const config = {
    project: { name: PROJECT },
    aws: { region: "us-east-1", endpoint, registry: REGISTRY },
    s3: { bucket: "gen3d-chaos-bucket" },
    executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
    ecr: { repository: `gen3d-chaos-${path.basename(dir).slice(-6).toLowerCase()}` },
    image: {
      name: PROJECT,
      version: "0.1.0",
      contextDir: "container",
      buildArgs: { BASE_IMAGE, INSTALL_SAM3: "false", PIP_EXTRA_ARGS: "--no-index" },
      maxSizeGb: 4,
    },
    models: testModels(bytes),
    instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 2 },
    timeouts: { startupSeconds: 60, buildSeconds: 600, deploySeconds: 120 },
    localTest: { aliveAfterSeconds: 1, environment: { GEN3D_BACKEND: "test" } },
  };
  await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));
  return { dir, config };
}

function gen3d(dir, argv, env) {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: dir,
    env: {
      ...process.env,
      ...env,
      CI: "true",
      NO_COLOR: "1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  spawned.add(String(child.pid));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.resume();
  const done = new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    done,
    killGroup() {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    },
  };
}

async function readStateText(dir) {
  return readFile(path.join(dir, "STATE.json"), "utf8").catch(() => undefined);
}

/** The phase that was running when the kill landed, from what STATE.json says (0: none yet). */
function runningPhase(state) {
  if (!state) return 0;
  const running = Object.entries(state.phases).find(([, p]) => p.status === "running");
  return running ? Number(running[0]) : 0;
}

async function listAws(endpoint) {
  const sm = await import("@aws-sdk/client-sagemaker");
  const aas = await import("@aws-sdk/client-application-auto-scaling");
  const cw = await import("@aws-sdk/client-cloudwatch");
  const sagemaker = new sm.SageMakerClient(awsConfig(endpoint));
  const autoscaling = new aas.ApplicationAutoScalingClient(awsConfig(endpoint));
  const cloudwatch = new cw.CloudWatchClient(awsConfig(endpoint));
  const models = (await sagemaker.send(new sm.ListModelsCommand({ MaxResults: 100 }))).Models ?? [];
  const configs =
    (await sagemaker.send(new sm.ListEndpointConfigsCommand({ MaxResults: 100 }))).EndpointConfigs ?? [];
  const endpoints = (await sagemaker.send(new sm.ListEndpointsCommand({ MaxResults: 100 }))).Endpoints ?? [];
  const targets =
    (await autoscaling.send(new aas.DescribeScalableTargetsCommand({ ServiceNamespace: "sagemaker" })))
      .ScalableTargets ?? [];
  const policies =
    (await autoscaling.send(new aas.DescribeScalingPoliciesCommand({ ServiceNamespace: "sagemaker" })))
      .ScalingPolicies ?? [];
  const alarms = (await cloudwatch.send(new cw.DescribeAlarmsCommand({}))).MetricAlarms ?? [];
  return {
    models: models.map((m) => m.ModelName),
    configs: configs.map((c) => c.EndpointConfigName),
    endpoints: endpoints.map((e) => e.EndpointName),
    targets: targets.map((t) => t.ResourceId),
    policies: policies.map((p) => p.PolicyARN),
    alarms: alarms.map((a) => a.AlarmName),
  };
}

function sameSet(a, b) {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

/** Every invariant, as a list of violations (empty: the draw is clean). */
async function check(dir, endpoint) {
  const violations = [];
  const text = await readStateText(dir);
  let state;
  try {
    state = JSON.parse(text ?? "");
  } catch {
    return [`STATE.json does not parse after the resume (${text?.length ?? 0} bytes)`];
  }
  for (let id = 1; id <= 8; id++) {
    if (state.phases[String(id)]?.status !== "passed")
      violations.push(`phase ${id} is ${state.phases[String(id)]?.status ?? "missing"} after the resume`);
  }
  const a = state.artifacts;
  const aws = await listAws(endpoint);
  const expected = {
    models: [a.modelName],
    configs: [a.endpointConfigName],
    endpoints: [a.endpointName],
    targets: [a.scalableTargetResourceId],
    policies: a.scalingPolicyArns ?? [],
    alarms: a.alarmNames ?? [],
  };
  for (const [kind, want] of Object.entries(expected)) {
    if (!sameSet(aws[kind], want))
      violations.push(`${kind}: AWS holds [${aws[kind].join(", ")}], STATE.json names [${want.join(", ")}]`);
  }
  if ((a.scalingPolicyArns ?? []).length !== 2)
    violations.push(`${(a.scalingPolicyArns ?? []).length} scaling policies recorded, not 2`);
  const names = await readdir(dir);
  const temp = names.filter((n) => /^STATE\.json\.\d+$/.test(n));
  if (temp.length) violations.push(`temp files left: ${temp.join(", ")}`);
  if (names.includes("STATE.json.lock")) violations.push("the lock is still held after the resume exited");
  const containers = spawnSync(
    "docker",
    [
      "ps",
      "--all",
      "--filter",
      "label=gen3d.owner-pid",
      "--format",
      '{{.Names}}\t{{.State}}\t{{.Label "gen3d.owner-pid"}}',
    ],
    { encoding: "utf8" },
  )
    .stdout.split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"))
    .filter(([, , pid]) => {
      if (!spawned.has(pid)) return false;
      try {
        process.kill(Number(pid), 0);
        return false;
      } catch {
        return true;
      }
    });
  for (const [name, st] of containers) violations.push(`container ${name} (${st}) left with a dead owner`);
  const localTest = spawnSync(
    "docker",
    ["ps", "--all", "--filter", `name=gen3d-local-test-${PROJECT}`, "--format", "{{.Names}}"],
    {
      encoding: "utf8",
    },
  ).stdout.trim();
  if (localTest) violations.push(`local-test container ${localTest} left`);
  return violations;
}

async function main() {
  const started = Date.now();
  const rand = random(SEED);
  log(`reliability: ${DRAWS} draws, seed ${SEED}`);
  const moto = await startMoto();
  const report = { seed: SEED, draws: DRAWS, calibrationSeconds: 0, results: [], violations: [] };
  let project;
  try {
    await seedAccount(moto.endpoint, "gen3d-chaos-bucket");
    project = await makeProject(moto.endpoint);
    const env = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "us-east-1" };
    // Calibration: a first deploy (it builds), then a forced one to measure T.
    const first = await gen3d(project.dir, ["deploy", "--to", "8"], env).done;
    if (first.code !== 0) throw new Error(`the first deploy failed:\n${first.stderr.slice(-3000)}`);
    let T = Number(KILL_WINDOW_S) * 1000;
    if (!KILL_WINDOW_S) {
      const t0 = Date.now();
      const forced = await gen3d(project.dir, ["deploy", "--to", "8", "--force"], env).done;
      if (forced.code !== 0) throw new Error(`the calibration deploy failed:\n${forced.stderr.slice(-3000)}`);
      T = Date.now() - t0;
    }
    report.calibrationSeconds = Math.round(T / 100) / 10;
    const calibrated = JSON.parse((await readStateText(project.dir)) ?? "{}");
    report.phaseSeconds = Object.fromEntries(
      Object.entries(calibrated.phases ?? {}).map(([id, p]) => [
        id,
        Math.round((p.durationMs ?? 0) / 100) / 10,
      ]),
    );
    log(
      `calibration: a forced deploy --to 8 takes ${report.calibrationSeconds} s (per phase: ${JSON.stringify(report.phaseSeconds)})`,
    );

    for (let draw = 1; draw <= DRAWS; draw++) {
      const killAtMs = Math.floor(rand() * T);
      const run = gen3d(project.dir, ["deploy", "--to", "8", "--force"], env);
      const timer = setTimeout(async () => {
        // Which phase the kill lands in, as STATE.json says just before it.
        result.phase = runningPhase(JSON.parse((await readStateText(project.dir)) ?? "null"));
        run.killGroup();
      }, killAtMs);
      const result = {
        draw,
        killAtMs,
        phase: undefined,
        killed: false,
        resumes: 0,
        reaped: "",
        violations: [],
      };
      const ended = await run.done;
      clearTimeout(timer);
      result.killed = ended.signal === "SIGKILL";
      if (!result.killed) result.phase = "finished before the kill";
      const after = await readStateText(project.dir);
      if (after !== undefined) {
        try {
          JSON.parse(after);
        } catch {
          result.violations.push("STATE.json does not parse after the kill");
        }
      }
      for (let i = 0; i < 3; i++) {
        result.resumes++;
        const resumed = await gen3d(project.dir, ["resume", "--to", "8"], env).done;
        const reaped = /Removed what an interrupted run left: (.*)/.exec(resumed.stderr);
        if (reaped) result.reaped += reaped[1];
        if (resumed.code === 0) break;
        if (i === 2) result.violations.push(`resume failed 3 times: ${resumed.stderr.slice(-600)}`);
      }
      result.violations.push(...(await check(project.dir, moto.endpoint)));
      for (const v of result.violations)
        report.violations.push(
          `seed ${SEED} draw ${draw} (kill at ${killAtMs} ms, phase ${result.phase}): ${v}`,
        );
      report.results.push(result);
      log(
        `draw ${draw}/${DRAWS}: kill at ${(killAtMs / 1000).toFixed(1)} s in phase ${result.phase}, ${result.resumes} resume(s)` +
          `${result.reaped ? `, reaped ${result.reaped}` : ""}${result.violations.length ? `, VIOLATIONS: ${result.violations.join(" | ")}` : ", ok"}`,
      );
    }
  } finally {
    moto.stop();
    if (project) {
      spawnSync("docker", ["rm", "--force", `gen3d-local-test-${PROJECT}`]);
      const refs = spawnSync("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
        encoding: "utf8",
      })
        .stdout.split("\n")
        .filter(
          (r) => r.startsWith(`${PROJECT}:`) || r.startsWith(`${REGISTRY}/${project.config.ecr.repository}`),
        );
      if (refs.length) spawnSync("docker", ["image", "rm", "--force", ...refs]);
      await rm(project.dir, { recursive: true, force: true });
    }
  }
  const histogram = {};
  for (const r of report.results) histogram[String(r.phase)] = (histogram[String(r.phase)] ?? 0) + 1;
  const resumes = report.results.map((r) => r.resumes);
  report.summary = {
    killsByPhase: histogram,
    killed: report.results.filter((r) => r.killed).length,
    resumesPerDraw: {
      max: Math.max(0, ...resumes),
      mean: resumes.reduce((x, y) => x + y, 0) / (resumes.length || 1),
    },
    drawsWithReaping: report.results.filter((r) => r.reaped).length,
    violations: report.violations.length,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    log(`\nkills by phase (0: before any phase started): ${JSON.stringify(histogram)}`);
    log(
      `resumes per draw: max ${report.summary.resumesPerDraw.max}, mean ${report.summary.resumesPerDraw.mean.toFixed(2)}`,
    );
    log(`draws whose resume reaped leftovers: ${report.summary.drawsWithReaping}`);
    log(`violations: ${report.violations.length}${report.violations.map((v) => `\n  ${v}`).join("")}`);
    log(`time: ${report.summary.seconds} s`);
  }
  process.exitCode = report.violations.length ? 1 : 0;
}

main().catch((error) => {
  log(`reliability: ${error.stack ?? error}`);
  process.exitCode = 2;
});
