#!/usr/bin/env node
/**
 * Random-kill harness over the whole ten-phase run, on the local SageMaker with its data plane.
 *
 *   npm run build && . scripts/local-stack/env.sh
 *   node test/chaos/harness.mjs [--seed S] [--draws N] [--time-scale X] [--code-every K] [--kill-window S] [--bin PATH] [--keep] [--json]
 *
 * It starts its own local SageMaker (local-sagemaker/server.py --data-plane, AWS-side periods X
 * times faster so phase 10's scale-in to zero takes seconds), a throwaway project copied from
 * container/ with the test backend and stand-in weights (what test/e2e/local-sagemaker.test.ts
 * deploys), and deploys it 1 → 10 once. Each draw then changes an input — the container code on
 * every fifth draw (phases 2–10 re-run: build, push, a new model, endpoint update, new phase 9
 * jobs), else the model's environment (phases 3 and 5–10) — starts `gen3d deploy`, SIGKILLs the
 * CLI's whole process group (its docker children too) at a seeded-random moment spread over the
 * run (phase 9's waits and phase 10's scale to zero included), and runs `gen3d resume` until it
 * passes (at most 4 times). After every draw it checks the invariants:
 *
 *   - STATE.json parses after the kill and after the resume; all ten phases passed;
 *   - the artifacts STATE.json names exist; AWS holds exactly one endpoint, one scalable target,
 *     two scaling policies, the alarm(s) recorded, one model and one endpoint config (phase 7
 *     deletes the ones a change superseded), and every model and endpoint config it
 *     holds is one gen3d recorded (nothing created and forgotten; model and config names carry
 *     their input hash, so one per hash) — listed through the SDK and with the `aws` CLI, which
 *     must agree;
 *   - no container of a gen3d process this harness started is left with a dead owner, no
 *     local-test container, no STATE.json temp file, no lock; every container the local
 *     SageMaker runs belongs to an instance it reports;
 *   - the registry holds one tag per content hash (one per code version deployed);
 *   - every InferenceId the emulator received was submitted once — twice only when the kill left
 *     it recorded in STATE.json without SageMaker's answer (resent by design with the same id) —
 *     and none is lost: each ended in an output, and each job phase 9 recorded reached the
 *     emulator (GET /local-sagemaker/inferences).
 *
 * Prints the kill-time histogram by phase, resumes per draw, the time, and every violation with
 * its seed and draw; `--seed S --draws N` replays a run (kill moments are drawn from S; the
 * machine's speed decides where they land). Exit 1 on a violation, 2 when the harness itself
 * could not run.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeTestModels } from "../../scripts/make-test-models.mjs";
import {
  awsConfig,
  copyContainer,
  dataPlaneSettings,
  random,
  seedAccount,
  testModels,
} from "../support/project-kit.mjs";

export { random };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
/** The CLI under test: this checkout's bundle, or another build (`--bin`, e.g. a snapshot of HEAD). */
const BIN = path.resolve(flag("--bin", path.join(root, "bin", "gen3d.js")));
const SERVER = path.join(root, "local-sagemaker", "server.py");
const DRAWS = Number(flag("--draws", "10"));
const SEED = Number(flag("--seed", String(Date.now() % 100000)));
const TIME_SCALE = Number(flag("--time-scale", "120"));
/** Every how many draws the container code changes (phases 2–10 re-run). */
const CODE_EVERY = Number(flag("--code-every", "5"));
const MAX_RESUMES = 4;
/** Kill moments drawn from [0, S] for every draw, skipping the calibration deploy (the CI share). */
const KILL_WINDOW_S = flag("--kill-window", undefined);
const JSON_OUT = args.includes("--json");
/** After every draw the report so far is written here, so a long run that is stopped still counts. */
const OUT = flag("--out", undefined);
const REGISTRY = process.env.GEN3D_LOCAL_REGISTRY ?? "127.0.0.1:5000";
const BASE_IMAGE = process.env.GEN3D_BASE_IMAGE ?? "gen3d-base:local";
const RUN_ID = Math.random().toString(36).slice(2, 7);
const PROJECT = `gen3d-chaos-${RUN_ID}`;
const REPOSITORY = `gen3d-chaos-${RUN_ID}`;
const BUCKET = "gen3d-chaos-bucket";
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
/** The PIDs of every gen3d this harness started: their containers are the ones it answers for. */
const spawned = new Set();
const log = (line) => process.stderr.write(`${line}\n`);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function startEmulator(stateDir) {
  const child = spawn(
    "python3",
    [SERVER, "0", "--data-plane", "--time-scale", String(TIME_SCALE), "--state-dir", stateDir],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...CREDENTIALS, AWS_DEFAULT_REGION: "us-east-1", PYTHONUNBUFFERED: "1" },
    },
  );
  let tail = "";
  child.stderr.on("data", (d) => (tail = (tail + d).slice(-6000)));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`the local SageMaker did not start in 60 s:\n${tail}`)),
      60_000,
    );
    child.stdout.on("data", (d) => {
      out += d;
      const m = /MOTO_READY port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`the local SageMaker exited with ${code}:\n${tail}`)));
  });
  child.stdout.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    pid: child.pid,
    tail: () => tail,
    async api(p) {
      const response = await fetch(`${endpoint}/local-sagemaker/${p}`);
      if (!response.ok) throw new Error(`GET /local-sagemaker/${p}: ${response.status}`);
      return response.json();
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 90_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

async function makeProject(endpoint) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-chaos-"));
  await copyContainer(path.join(root, "container"), path.join(dir, "container"));
  const bytes = makeTestModels(path.join(dir, "container", "models"), 1);
  const config = {
    project: { name: PROJECT },
    aws: { region: "us-east-1", endpoint, registry: REGISTRY },
    s3: { bucket: BUCKET },
    executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
    ecr: { repository: REPOSITORY },
    image: {
      name: PROJECT,
      version: "0.1.0",
      contextDir: "container",
      buildArgs: { BASE_IMAGE, INSTALL_SAM3: "false", PIP_EXTRA_ARGS: "--no-index" },
      maxSizeGb: 4,
    },
    models: testModels(bytes),
    ...dataPlaneSettings(2),
    async: { maxConcurrentInvocationsPerInstance: 2 },
    // No port: the local test probes the container on 8080, as SageMaker does.
    localTest: { aliveAfterSeconds: 1, environment: { GEN3D_BACKEND: "test" } },
  };
  await writeConfig(dir, config);
  await setCodeVersion(dir, 0);
  return { dir, config };
}

const writeConfig = (dir, config) =>
  writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));
/** A code change: a new content hash, so phases 2–10 re-run. */
const setCodeVersion = (dir, version) =>
  writeFile(
    path.join(dir, "container", "gen3d_serving", "_build_nonce.py"),
    `NONCE = "${RUN_ID}-${version}"\n`,
  );

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
    // Its own process group: the kill takes the CLI and every docker child with it.
    detached: true,
  });
  spawned.add(String(child.pid));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-20_000)));
  child.stdout.resume();
  const started = Date.now();
  const done = new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started })),
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

function readState(dir) {
  try {
    return { text: readFileSync(path.join(dir, "STATE.json"), "utf8") };
  } catch {
    return { text: undefined };
  }
}

/** Where a kill landed, from the STATE.json it left: the running phase, and for 9/10 what it was doing. */
function landing(state) {
  if (!state) return { phase: 0, detail: "no STATE.json yet" };
  const running = Object.entries(state.phases ?? {}).find(([, p]) => p.status === "running");
  if (!running) return { phase: 0, detail: "between phases (or start-up)" };
  const phase = Number(running[0]);
  if (phase === 9) {
    const jobs = state.artifacts?.integrationJobs?.jobs ?? [];
    const pending = jobs.filter((j) => !j.outputLocation);
    return {
      phase,
      detail: pending.length ? "submitting" : jobs.length ? "waiting for a job" : "uploading",
    };
  }
  if (phase === 10) return { phase, detail: state.artifacts?.coldStartJob ? "cold start" : "scale to zero" };
  return { phase, detail: "" };
}

/** Recorded jobs with no SageMaker answer yet: the resume sends these again with the same id. */
function pendingIds(state) {
  const jobs = [...(state?.artifacts?.integrationJobs?.jobs ?? [])];
  if (state?.artifacts?.coldStartJob) jobs.push(state.artifacts.coldStartJob);
  return jobs.filter((j) => !j.outputLocation).map((j) => j.inferenceId);
}

async function listWithSdk(endpoint) {
  const sm = await import("@aws-sdk/client-sagemaker");
  const aas = await import("@aws-sdk/client-application-auto-scaling");
  const cw = await import("@aws-sdk/client-cloudwatch");
  const sagemaker = new sm.SageMakerClient(awsConfig(endpoint));
  const autoscaling = new aas.ApplicationAutoScalingClient(awsConfig(endpoint));
  const cloudwatch = new cw.CloudWatchClient(awsConfig(endpoint));
  // Every page, as the aws CLI reads them: a run of 100 draws leaves more than one page of configs.
  const all = async (pages, key) => {
    const out = [];
    for await (const page of pages) out.push(...(page[key] ?? []));
    return out;
  };
  const [models, configs, endpoints, targets, policies, alarms] = await Promise.all([
    all(sm.paginateListModels({ client: sagemaker }, {}), "Models"),
    all(sm.paginateListEndpointConfigs({ client: sagemaker }, {}), "EndpointConfigs"),
    all(sm.paginateListEndpoints({ client: sagemaker }, {}), "Endpoints"),
    all(
      aas.paginateDescribeScalableTargets({ client: autoscaling }, { ServiceNamespace: "sagemaker" }),
      "ScalableTargets",
    ),
    all(
      aas.paginateDescribeScalingPolicies({ client: autoscaling }, { ServiceNamespace: "sagemaker" }),
      "ScalingPolicies",
    ),
    all(cw.paginateDescribeAlarms({ client: cloudwatch }, {}), "MetricAlarms"),
  ]);
  return {
    models: models.map((m) => m.ModelName),
    configs: configs.map((c) => c.EndpointConfigName),
    endpoints: endpoints.map((e) => e.EndpointName),
    targets: targets.map((t) => t.ResourceId),
    policies: policies.map((p) => p.PolicyARN),
    alarms: alarms.map((a) => a.AlarmName),
  };
}

function awsCli(endpoint, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "aws",
      ["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json", ...argv],
      {
        env: {
          ...process.env,
          ...CREDENTIALS,
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) =>
      code === 0
        ? resolve(JSON.parse(out || "{}"))
        : reject(new Error(`aws ${argv.join(" ")}: ${err.trim()}`)),
    );
  });
}

/** The same listing through Debian's `aws` CLI (a second client that must agree with the SDK). */
async function listWithCli(endpoint) {
  const [models, configs, endpoints, targets, policies, alarms] = await Promise.all([
    awsCli(endpoint, ["sagemaker", "list-models"]),
    awsCli(endpoint, ["sagemaker", "list-endpoint-configs"]),
    awsCli(endpoint, ["sagemaker", "list-endpoints"]),
    awsCli(endpoint, [
      "application-autoscaling",
      "describe-scalable-targets",
      "--service-namespace",
      "sagemaker",
    ]),
    awsCli(endpoint, [
      "application-autoscaling",
      "describe-scaling-policies",
      "--service-namespace",
      "sagemaker",
    ]),
    awsCli(endpoint, ["cloudwatch", "describe-alarms"]),
  ]);
  return {
    models: (models.Models ?? []).map((m) => m.ModelName),
    configs: (configs.EndpointConfigs ?? []).map((c) => c.EndpointConfigName),
    endpoints: (endpoints.Endpoints ?? []).map((e) => e.EndpointName),
    targets: (targets.ScalableTargets ?? []).map((t) => t.ResourceId),
    policies: (policies.ScalingPolicies ?? []).map((p) => p.PolicyARN),
    alarms: (alarms.MetricAlarms ?? []).map((a) => a.AlarmName),
  };
}

const sorted = (xs) => [...xs].sort();
const sameSet = (a, b) => sorted(a).join("\n") === sorted(b).join("\n");

function docker(argv) {
  return spawnSync("docker", argv, { encoding: "utf8" }).stdout ?? "";
}

async function registryTags() {
  const response = await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/tags/list`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`registry tags/list: ${response.status}`);
  return (await response.json()).tags ?? [];
}

/**
 * Every invariant after a draw, as a list of violations (empty: clean). `ctx` carries what the
 * harness knows across draws: every model/config name gen3d ever recorded, the code versions
 * deployed, and the ids the kill left pending.
 */
async function check(dir, emulator, ctx) {
  const violations = [];
  const { text } = readState(dir);
  let state;
  try {
    state = JSON.parse(text ?? "");
  } catch {
    return [`STATE.json does not parse after the resume (${text?.length ?? 0} bytes)`];
  }
  for (let id = 1; id <= 10; id++) {
    const status = state.phases[String(id)]?.status;
    if (status !== "passed") violations.push(`phase ${id} is ${status ?? "missing"} after the resume`);
  }
  const a = state.artifacts;
  for (const name of [a.modelName, ...(a.createdModels ?? [])]) if (name) ctx.models.add(name);
  for (const name of [a.endpointConfigName, ...(a.createdEndpointConfigs ?? [])])
    if (name) ctx.configs.add(name);

  // AWS, twice: the SDK and the aws CLI must agree, and both must match STATE.json.
  const [sdk, cli] = await Promise.all([listWithSdk(emulator.endpoint), listWithCli(emulator.endpoint)]);
  for (const kind of Object.keys(sdk)) {
    if (!sameSet(sdk[kind], cli[kind]))
      violations.push(
        `${kind}: the SDK lists [${sdk[kind].join(", ")}], the aws CLI [${cli[kind].join(", ")}]`,
      );
  }
  const exact = {
    endpoints: [a.endpointName],
    targets: [a.scalableTargetResourceId],
    policies: a.scalingPolicyArns ?? [],
  };
  for (const [kind, want] of Object.entries(exact)) {
    if (!sameSet(sdk[kind], want))
      violations.push(`${kind}: AWS holds [${sdk[kind].join(", ")}], STATE.json names [${want.join(", ")}]`);
  }
  if ((a.scalingPolicyArns ?? []).length !== 2)
    violations.push(`${(a.scalingPolicyArns ?? []).length} scaling policies recorded, not 2`);
  // Alarms: the ones gen3d recorded, plus the two target tracking owns (AAS creates those).
  const ours = sdk.alarms.filter((n) => !n.startsWith("TargetTracking-"));
  if (!sameSet(ours, a.alarmNames ?? []))
    violations.push(
      `alarms: AWS holds [${ours.join(", ")}], STATE.json names [${(a.alarmNames ?? []).join(", ")}]`,
    );
  if (!sdk.models.includes(a.modelName)) violations.push(`model ${a.modelName} recorded but not in AWS`);
  if (!sdk.configs.includes(a.endpointConfigName))
    violations.push(`endpoint config ${a.endpointConfigName} recorded but not in AWS`);
  // A finished deploy deletes what it superseded: one model and one config are left, not one per change.
  ctx.held = { models: sdk.models.length, configs: sdk.configs.length };
  if (sdk.models.length !== 1 || sdk.configs.length !== 1)
    violations.push(
      `AWS holds ${sdk.models.length} model(s) and ${sdk.configs.length} endpoint config(s) after the deploy, not 1 and 1: superseded ones were left behind`,
    );
  for (const m of sdk.models)
    if (!ctx.models.has(m)) violations.push(`model ${m} in AWS, never recorded by gen3d`);
  for (const c of sdk.configs)
    if (!ctx.configs.has(c)) violations.push(`endpoint config ${c} in AWS, never recorded by gen3d`);

  // Leftovers on disk.
  const names = await readdir(dir);
  const temp = names.filter((n) => /^STATE\.json\..+/.test(n) && n !== "STATE.json.lock");
  if (temp.length) violations.push(`files left beside STATE.json: ${temp.join(", ")}`);
  if (names.includes("STATE.json.lock")) violations.push("the lock is still held after the resume exited");

  // Containers: gen3d's (owner label) and the local SageMaker's (each must be an instance it reports).
  for (const line of docker([
    "ps",
    "--all",
    "--filter",
    "label=gen3d.owner-pid",
    "--format",
    '{{.Names}}\t{{.State}}\t{{.Label "gen3d.owner-pid"}}',
  ])
    .split("\n")
    .filter(Boolean)) {
    const [name, st, pid] = line.split("\t");
    if (!spawned.has(pid)) continue;
    let alive = true;
    try {
      process.kill(Number(pid), 0);
    } catch {
      alive = false;
    }
    if (!alive) violations.push(`container ${name} (${st}) left by gen3d pid ${pid}, now dead`);
  }
  const localTest = docker([
    "ps",
    "--all",
    "--filter",
    `name=gen3d-local-test-${PROJECT}`,
    "--format",
    "{{.Names}}",
  ]).trim();
  if (localTest) violations.push(`local-test container ${localTest} left`);
  const view = await emulator.api("endpoints");
  const instances = new Set(
    view.endpoints.flatMap((e) => (e.fleets ?? []).flatMap((f) => f.instances.map((i) => i.container))),
  );
  const emulatorContainers = docker([
    "ps",
    "--all",
    "--filter",
    `label=gen3d.local-sagemaker.owner=${emulator.pid}`,
    "--format",
    "{{.Names}}",
  ])
    .split("\n")
    .filter(Boolean);
  for (const c of emulatorContainers)
    if (!instances.has(c))
      violations.push(`local SageMaker container ${c} belongs to no instance it reports`);

  // Registry: one tag per content hash.
  const tags = await registryTags();
  if (!tags.includes(a.imageTag)) violations.push(`tag ${a.imageTag} recorded but not in the registry`);
  if (tags.length !== ctx.codeVersions.size)
    violations.push(
      `the registry holds ${tags.length} tag(s) [${tags.join(", ")}] for ${ctx.codeVersions.size} content hash(es)`,
    );

  // InferenceIds: each submitted once (twice only if the kill left it recorded unanswered), none lost.
  const { inferences } = await emulator.api("inferences");
  const recorded = [
    ...(a.integrationJobs?.jobs ?? []),
    ...Object.values(state.phases["9"]?.evidence?.run?.tasks ?? {}),
  ].map((j) => j.inferenceId);
  for (const id of new Set(recorded)) {
    if (!inferences[id]) violations.push(`job ${id} recorded by phase 9 never reached SageMaker (lost)`);
  }
  const open = [];
  for (const [id, r] of Object.entries(inferences)) {
    if (ctx.seenIds.has(id) && ctx.seenIds.get(id) === r.submitted && r.outcomes.length >= r.submitted)
      continue;
    const allowed = ctx.resendable.has(id) ? 2 : 1;
    if (r.submitted > allowed)
      violations.push(`InferenceId ${id} submitted ${r.submitted} times (allowed ${allowed})`);
    else if (r.submitted === 2) ctx.resent++;
    if (r.outcomes.length < r.submitted) open.push(id);
    else if (r.outcomes.some((o) => o !== "succeeded"))
      violations.push(`InferenceId ${id} ended ${r.outcomes.join(", ")}`);
    ctx.seenIds.set(id, r.submitted);
  }
  // A job still in the queue is not lost yet: give it the invocation's time, then call it lost.
  if (open.length) {
    const deadline = Date.now() + 60_000;
    let still = open;
    while (still.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = (await emulator.api("inferences")).inferences;
      still = still.filter((id) => now[id].outcomes.length < now[id].submitted);
    }
    for (const id of still) violations.push(`InferenceId ${id} never finished (lost in the queue)`);
    for (const id of open) ctx.seenIds.delete(id);
  }
  return violations;
}

async function main() {
  const started = Date.now();
  const rand = random(SEED);
  log(`chaos: ${DRAWS} draws, seed ${SEED}, time scale ${TIME_SCALE}, project ${PROJECT}`);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "gen3d-chaos-emulator-"));
  const emulator = await startEmulator(stateDir);
  const report = {
    seed: SEED,
    draws: DRAWS,
    timeScale: TIME_SCALE,
    machine: `${os.cpus().length} CPU, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.loadavg()[0].toFixed(1)} load at start`,
    calibration: {},
    results: [],
    violations: [],
  };
  let project;
  try {
    await seedAccount(emulator.endpoint, BUCKET);
    project = await makeProject(emulator.endpoint);
    const env = { ...CREDENTIALS, AWS_REGION: "us-east-1" };
    const ctx = {
      models: new Set(),
      configs: new Set(),
      codeVersions: new Set([0]),
      resendable: new Set(),
      seenIds: new Map(),
      resent: 0,
    };
    // Calibration: the first deploy (a code version), then one with a changed environment; their
    // lengths are the windows kills are drawn from for each kind of draw.
    const first = await gen3d(project.dir, ["deploy"], env).done;
    if (first.code !== 0) throw new Error(`the first deploy failed:\n${first.stderr.slice(-4000)}`);
    const windows = { code: first.ms, env: 0 };
    let envVersion = 0;
    if (KILL_WINDOW_S) {
      windows.code = windows.env = Number(KILL_WINDOW_S) * 1000;
    } else {
      project.config.localTest.environment.GEN3D_CHAOS_DRAW = String(++envVersion);
      await writeConfig(project.dir, project.config);
      const second = await gen3d(project.dir, ["deploy"], env).done;
      if (second.code !== 0) throw new Error(`the calibration deploy failed:\n${second.stderr.slice(-4000)}`);
      windows.env = second.ms;
    }
    const calibrationViolations = await check(project.dir, emulator, ctx);
    if (calibrationViolations.length)
      throw new Error(`invariants broken before any kill:\n  ${calibrationViolations.join("\n  ")}`);
    report.calibration = {
      firstDeploySeconds: first.ms / 1000,
      codeChangeSeconds: windows.code / 1000,
      envChangeSeconds: windows.env / 1000,
      fixedWindow: Boolean(KILL_WINDOW_S),
    };
    log(
      `kill windows: ${(windows.code / 1000).toFixed(1)} s after a code change, ${(windows.env / 1000).toFixed(1)} s after an environment change${KILL_WINDOW_S ? " (--kill-window)" : ""}; the first deploy took ${(first.ms / 1000).toFixed(1)} s`,
    );

    for (let draw = 1; draw <= DRAWS; draw++) {
      const drawStart = Date.now();
      const kind = draw % CODE_EVERY === 0 ? "code" : "env";
      if (kind === "code") {
        const version = ctx.codeVersions.size;
        ctx.codeVersions.add(version);
        await setCodeVersion(project.dir, version);
      } else {
        project.config.localTest.environment.GEN3D_CHAOS_DRAW = String(++envVersion);
        await writeConfig(project.dir, project.config);
      }
      // Spread over the whole run, a little past its usual end (some runs finish first).
      const killAtMs = Math.floor(rand() * windows[kind] * 1.05);
      const result = {
        draw,
        kind,
        killAtMs,
        killed: false,
        phase: undefined,
        detail: "",
        resumes: 0,
        reaped: "",
        violations: [],
      };
      const run = gen3d(project.dir, ["deploy"], env);
      const timer = setTimeout(() => run.killGroup(), killAtMs);
      const ended = await run.done;
      clearTimeout(timer);
      result.killed = ended.signal === "SIGKILL";
      const after = readState(project.dir);
      let afterState;
      if (after.text !== undefined) {
        try {
          afterState = JSON.parse(after.text);
        } catch {
          result.violations.push("STATE.json does not parse after the kill");
        }
      }
      if (result.killed) {
        Object.assign(result, landing(afterState));
        for (const id of pendingIds(afterState)) ctx.resendable.add(id);
      } else {
        result.phase = "finished";
        if (ended.code !== 0)
          result.violations.push(`the deploy failed without a kill: ${ended.stderr.slice(-800)}`);
      }
      for (let i = 0; i < MAX_RESUMES; i++) {
        result.resumes++;
        const resumed = await gen3d(project.dir, ["resume"], env).done;
        const reaped = /Removed what an interrupted run left: (.*)/.exec(resumed.stderr);
        if (reaped) result.reaped += reaped[1];
        if (resumed.code === 0) break;
        result.failures = [...(result.failures ?? []), resumed.stderr.slice(-600)];
        if (i === MAX_RESUMES - 1)
          result.violations.push(`resume failed ${MAX_RESUMES} times; last: ${resumed.stderr.slice(-600)}`);
      }
      try {
        result.violations.push(...(await check(project.dir, emulator, ctx)));
      } catch (error) {
        result.violations.push(`the check itself failed: ${error.message}`);
      }
      if (ctx.held) result.held = ctx.held;
      result.seconds = Math.round((Date.now() - drawStart) / 100) / 10;
      for (const v of result.violations)
        report.violations.push(
          `seed ${SEED} draw ${draw} (${kind} change, kill at ${killAtMs} ms, phase ${result.phase}${result.detail ? ` ${result.detail}` : ""}): ${v}`,
        );
      report.results.push(result);
      report.resentByDesign = ctx.resent;
      if (OUT) await writeFile(OUT, JSON.stringify(summarise(report, started), null, 2));
      log(
        `draw ${draw}/${DRAWS} (${kind}): kill at ${(killAtMs / 1000).toFixed(1)} s, phase ${result.phase}${result.detail ? ` (${result.detail})` : ""}, ${result.resumes} resume(s), ${result.seconds} s` +
          `${result.reaped ? `, reaped ${result.reaped}` : ""}${result.violations.length ? `, VIOLATIONS: ${result.violations.join(" | ")}` : ", ok"}`,
      );
    }
    report.resentByDesign = ctx.resent;
  } catch (error) {
    report.error = String(error.stack ?? error);
    log(`chaos: ${report.error}\n${emulator.tail().slice(-2000)}`);
  } finally {
    await emulator.stop();
    docker(["rm", "--force", `gen3d-local-test-${PROJECT}`]);
    const refs = docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
      .split("\n")
      .filter((r) => r.startsWith(`${PROJECT}:`) || r.startsWith(`${REGISTRY}/${REPOSITORY}:`));
    if (refs.length) docker(["image", "rm", "--force", ...refs]);
    if (project && !args.includes("--keep")) await rm(project.dir, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  }
  summarise(report, started);
  const histogram = report.summary.killsByPhase;
  const detailed = report.summary.kills9and10;
  if (OUT) await writeFile(OUT, JSON.stringify(report, null, 2));
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  log(`\nkills by phase (0: start-up or between phases): ${JSON.stringify(histogram)}`);
  log(`kills in phases 9 and 10: ${JSON.stringify(detailed)}`);
  log(
    `resumes per draw: max ${report.summary.resumesPerDraw.max}, mean ${report.summary.resumesPerDraw.mean.toFixed(2)} ${JSON.stringify(report.summary.resumesPerDraw.histogram)}`,
  );
  log(
    `draws whose resume reaped leftovers: ${report.summary.drawsWithReaping}; jobs resent with the same id by design: ${report.summary.resentByDesign}`,
  );
  log(`violations: ${report.violations.length}${report.violations.map((v) => `\n  ${v}`).join("")}`);
  log(`time: ${report.summary.seconds} s (draw median ${report.summary.drawSeconds.median} s)`);
  process.exitCode = report.error ? 2 : report.violations.length ? 1 : 0;
}

function countBy(items, key) {
  const counts = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** The figures: kills by phase, resumes per draw, time (the report gains `summary`). */
function summarise(report, started) {
  const histogram = {};
  for (const r of report.results) {
    const key = r.killed ? String(r.phase) : "finished first";
    histogram[key] = (histogram[key] ?? 0) + 1;
  }
  const detailed = {};
  for (const r of report.results.filter((r) => r.killed && (r.phase === 9 || r.phase === 10)))
    detailed[`${r.phase} ${r.detail}`] = (detailed[`${r.phase} ${r.detail}`] ?? 0) + 1;
  const resumes = report.results.map((r) => r.resumes);
  const seconds = report.results.map((r) => r.seconds).sort((x, y) => x - y);
  report.summary = {
    killsByPhase: histogram,
    kills9and10: detailed,
    killed: report.results.filter((r) => r.killed).length,
    resumesPerDraw: {
      max: Math.max(0, ...resumes),
      mean: resumes.reduce((x, y) => x + y, 0) / (resumes.length || 1),
      histogram: countBy(resumes, String),
    },
    drawsWithReaping: report.results.filter((r) => r.reaped).length,
    resentByDesign: report.resentByDesign ?? 0,
    drawSeconds: { median: seconds[Math.floor(seconds.length / 2)] ?? 0, max: seconds.at(-1) ?? 0 },
    violations: report.violations.length,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  return report;
}

main().catch((error) => {
  log(`chaos: ${error.stack ?? error}`);
  process.exitCode = 2;
});
