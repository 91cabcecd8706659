#!/usr/bin/env node
/**
 * Benchmark: the cost of a second, unchanged deploy of phases 5–8 against moto on 127.0.0.1.
 *
 *   node bench/aws-idempotency.mjs [--runs N] [--json]
 *
 * Deploys once, then measures N second deploys two ways:
 *   forced     every phase re-runs and decides "already done" by Describe* (what --force does,
 *              and what happens after STATE.json is lost): the worst case;
 *   engine     the normal path: the runner skips passed phases whose inputs hash is unchanged.
 * Reports mutating AWS calls (Create*, Update*, Put*, Register*, Delete*, …, counted by an SDK
 * middleware on every client) and wall time. Goal: 0 mutating calls, ≤ 3 s. Exit 1 if missed.
 * Uses the real exported phases with their production waiter settings, compiled from src/ on the
 * fly with esbuild (no build step needed).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The src/ modules the bench drives, bundled by esbuild into node_modules/.cache (packages stay external). */
async function loadSources() {
  const { build } = await import("esbuild");
  const outdir = path.join(root, "node_modules", ".cache", "gen3d-bench");
  await mkdir(outdir, { recursive: true });
  const outfile = path.join(outdir, `aws-idempotency-${process.pid}.mjs`);
  await build({
    stdin: {
      contents: [
        'export { configSchema } from "./src/config/schema.ts";',
        'export { StateStore } from "./src/engine/state.ts";',
        'export { createAwsClients } from "./src/adapters/aws.ts";',
        'export { createIo } from "./src/engine/output.ts";',
        'export { PhaseRunner } from "./src/phases/runner.ts";',
        'export { modelPhase } from "./src/phases/05-model.ts";',
        'export { endpointConfigPhase } from "./src/phases/06-endpoint-config.ts";',
        'export { deployPhase } from "./src/phases/07-deploy.ts";',
        'export { autoscalingPhase } from "./src/phases/08-autoscaling.ts";',
      ].join("\n"),
      resolveDir: root,
      loader: "ts",
    },
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  try {
    return await import(outfile);
  } finally {
    await rm(outfile, { force: true });
  }
}

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] || 5) || 5;
const asJson = args.includes("--json");
const GOAL = { mutatingCalls: 0, seconds: 3 };

const env = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "us-east-1" };
Object.assign(process.env, env);

function startMoto() {
  const child = spawn(
    process.env.GEN3D_PYTHON ?? "python3",
    [path.join(root, "local-sagemaker/server.py"), "0"],
    {
      env: { ...process.env, GEN3D_MOTO_HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("moto did not start in 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`moto exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^MOTO_READY port=(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ endpoint: `http://127.0.0.1:${m[1]}`, stop: () => child.kill("SIGTERM") });
      }
    });
  });
}

const MUTATING = /^(Create|Update|Put|Register|Deregister|Delete|BatchDelete|Invoke|Tag|Untag|Start|Stop)/;

function recording(clients, calls) {
  const done = new WeakSet();
  const wrap = (get) => async () => {
    const client = await get();
    if (!done.has(client)) {
      done.add(client);
      client.middlewareStack.add(
        (next, context) => async (a) => {
          calls.push(String(context.commandName ?? "").replace(/Command$/, ""));
          return next(a);
        },
        { step: "initialize", name: "benchCallCounter" },
      );
    }
    return client;
  };
  const out = { region: clients.region, endpoint: clients.endpoint };
  for (const key of [
    "sts",
    "iam",
    "s3",
    "ecr",
    "sagemaker",
    "sagemakerRuntime",
    "autoscaling",
    "cloudwatch",
    "logs",
    "quotas",
  ]) {
    out[key] = wrap(clients[key]);
  }
  return out;
}

async function main() {
  const src = await loadSources();
  const { configSchema, StateStore, createAwsClients, createIo, PhaseRunner } = src;
  const phases = [src.modelPhase, src.endpointConfigPhase, src.deployPhase, src.autoscalingPhase];
  const moto = await startMoto();
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-bench-"));
  try {
    const config = configSchema.parse({
      project: { name: "gen3d-bench" },
      aws: { region: "us-east-1", endpoint: moto.endpoint },
      s3: { bucket: "gen3d-bench-bucket" },
      executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
      ecr: { repository: "gen3d" },
      image: { name: "gen3d", version: "1.0.0" },
      models: [
        { name: "sam3", localPath: "models/sam3", expectedSizeBytes: 1, gpuMemoryGb: 8, tasks: ["segment"] },
      ],
      instance: { type: "ml.g6e.xlarge" },
    });
    const state = await StateStore.open(path.join(dir, "STATE.json"), config.project.name);
    const digest = `sha256:${"0123abcd".repeat(8)}`;
    await state.setPhase(3, {
      status: "passed",
      attempts: 1,
      evidence: { startup: { secondsToHealthy: 30 } },
    });
    await state.setArtifacts({
      imageDigest: digest,
      imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/gen3d@${digest}`,
    });
    const calls = [];
    const ctx = {
      loaded: { config, file: path.join(dir, "gen3d.config.json"), baseDir: dir, raw: "" },
      config,
      io: createIo({ yes: true, env: {} }),
      state,
      docker: {},
      aws: recording(createAwsClients(config.aws), calls),
      clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      prompt: { confirm: async () => true },
      signal: new AbortController().signal,
      env: {},
    };
    const deploy = async (options) => {
      const before = calls.length;
      const started = process.hrtime.bigint();
      const runner = new PhaseRunner(ctx, phases, options);
      for (const phase of phases) await runner.runPhase(phase, { skip: () => {}, setOutput: () => {} });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const sent = calls.slice(before);
      return {
        seconds,
        calls: sent.length,
        mutating: sent.filter((c) => MUTATING.test(c)),
        outcomes: [...runner.outcomes.values()].map(
          (o) => `${o.id}:${o.type === "passed" ? o.outcome : o.type}`,
        ),
      };
    };
    const first = await deploy({});
    const forced = [];
    const engine = [];
    for (let i = 0; i < runs; i += 1) {
      forced.push(await deploy({ force: true }));
      engine.push(await deploy({}));
    }
    const summarize = (list) => {
      const secs = list.map((r) => r.seconds).sort((a, b) => a - b);
      return {
        runs: list.length,
        mutatingCalls: Math.max(...list.map((r) => r.mutating.length)),
        mutatingCommands: [...new Set(list.flatMap((r) => r.mutating))],
        awsCallsPerRun: list[0]?.calls ?? 0,
        medianSeconds: Number(secs[Math.floor(secs.length / 2)].toFixed(3)),
        maxSeconds: Number(secs[secs.length - 1].toFixed(3)),
        outcomes: list[0]?.outcomes,
      };
    };
    const report = {
      bench: "aws-idempotency",
      phases: "5-8",
      emulator: "moto (local-sagemaker/server.py) on 127.0.0.1",
      goal: GOAL,
      firstDeploy: {
        seconds: Number(first.seconds.toFixed(3)),
        mutatingCalls: first.mutating.length,
        mutatingCommands: first.mutating,
        outcomes: first.outcomes,
      },
      secondDeployForced: summarize(forced),
      secondDeployEngine: summarize(engine),
    };
    const ok = [report.secondDeployForced, report.secondDeployEngine].every(
      (r) => r.mutatingCalls <= GOAL.mutatingCalls && r.maxSeconds <= GOAL.seconds,
    );
    report.ok = ok;
    if (asJson) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const line = (name, r) =>
        `${name.padEnd(28)} ${String(r.mutatingCalls).padStart(2)} mutating / ${String(r.awsCallsPerRun).padStart(2)} AWS calls   median ${r.medianSeconds.toFixed(3)} s   max ${r.maxSeconds.toFixed(3)} s`;
      process.stdout.write(
        [
          `first deploy (5-8)           ${first.mutating.length} mutating calls, ${first.seconds.toFixed(3)} s  [${first.outcomes.join(" ")}]`,
          line("second deploy, --force", report.secondDeployForced),
          line("second deploy, engine skip", report.secondDeployEngine),
          `goal: ${GOAL.mutatingCalls} mutating calls, ≤ ${GOAL.seconds} s → ${ok ? "met" : "MISSED"}`,
          "",
        ].join("\n"),
      );
    }
    process.exitCode = ok ? 0 : 1;
  } finally {
    moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 2;
});
