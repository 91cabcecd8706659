#!/usr/bin/env node
/**
 * Benchmark: bytes pushed to a registry after a one-line code change (issue 4, item 6).
 *
 *   bash scripts/local-stack/up.sh && node bench/push-layers.mjs [--weights-mib N] [--json]
 *
 * Builds two images from the same files, pushes :v1, appends one comment line to
 * gen3d_serving/app.py, rebuilds and pushes :v2, and counts what the v2 push had to upload:
 *   layered   container/Dockerfile as shipped (base → deps → weights → code);
 *   naive     `FROM base` + `COPY . /opt/gen3d/` (code and weights in one layer): the baseline.
 * "Pushed" = compressed size (manifest layers[].size) of every v2 layer the repository did not
 * already hold after v1 (checked with HEAD /v2/<repo>/blobs/<digest> before the v2 push).
 * Goal: layered pushes ≤ 1 % of the v2 image. Exit 1 if missed.
 *
 * Local stack only (dockerd + registry on 127.0.0.1, offline base image); legacy builder. Each run
 * uses its own repositories (bench-layered-<runId>, bench-naive-<runId>) so reruns are
 * independent; it removes its temp dirs and local images and leaves the registry alone.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeTestModels } from "../scripts/make-test-models.mjs";
import { CONTAINER_SOURCES } from "../test/support/project-kit.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const containerDir = path.join(root, "container");
const GOAL_PERCENT = 1;
const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";

const { values: opts } = parseArgs({
  options: {
    "weights-mib": { type: "string", default: "256" },
    json: { type: "boolean", default: false },
    registry: { type: "string", default: process.env.GEN3D_LOCAL_REGISTRY ?? "127.0.0.1:5000" },
    "base-image": { type: "string", default: process.env.GEN3D_BASE_IMAGE ?? "gen3d-base:local" },
    help: { type: "boolean", default: false },
  },
});
if (opts.help) {
  console.log(
    "usage: node bench/push-layers.mjs [--weights-mib N (256)] [--json] [--registry H:P] [--base-image IMG]",
  );
  process.exit(0);
}
const weightMiB = Number(opts["weights-mib"]);
if (!Number.isInteger(weightMiB) || weightMiB < 1) {
  console.error(`--weights-mib must be a positive integer, got ${opts["weights-mib"]}`);
  process.exit(2);
}
const registry = opts.registry;
// Lowercase, [a-z0-9-]: valid in a repository name.
const runId = `${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}-${randomBytes(3).toString("hex")}`;

// Everything to undo at exit, in reverse order of creation.
const cleanups = [];
// Child processes still running: a signal stops them before cleaning up, else a build that is
// still in flight would tag its image after the cleanup removed the tags.
const running = new Set();
let interrupted = false;
const log = (line) => process.stderr.write(`[push-layers] ${line}\n`);

/**
 * Runs a command from an argv array (no shell), returns its stdout; on a non-zero exit throws
 * with the tail of its output, which is where docker says what went wrong.
 */
function run(cmd, args, { env } = {}) {
  // After a signal only cleanup's own commands run: the interrupted flow must not go on.
  if (interrupted && !args.includes("rmi")) return Promise.reject(new Error("interrupted"));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      if (code === 0) return resolve(stdout);
      const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-15).join("\n");
      reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${tail}`));
    });
  });
}

const docker = (...args) => run("docker", args, { env: { DOCKER_BUILDKIT: "0" } });

async function timed(fn) {
  const started = process.hrtime.bigint();
  const result = await fn();
  return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

// ---- registry (HTTP API v2, plain http on loopback) ----

async function getManifest(repo, tag) {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: MANIFEST_V2 },
  });
  if (!res.ok) throw new Error(`GET manifest ${repo}:${tag}: HTTP ${res.status}`);
  const manifest = await res.json();
  if (manifest.mediaType !== MANIFEST_V2)
    throw new Error(`${repo}:${tag}: unexpected manifest ${manifest.mediaType}`);
  return manifest;
}

/** HEAD on a blob answers for this repository only: blobs pushed to other repos do not count. */
async function blobExists(repo, digest) {
  const res = await fetch(`http://${registry}/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new Error(`HEAD blob ${repo}@${digest}: HTTP ${res.status}`);
}

// ---- build contexts ----

/** A copy of what container/Dockerfile needs (per its .dockerignore), plus stand-in weights. */
function layeredContext(dir) {
  for (const name of CONTAINER_SOURCES) {
    cpSync(path.join(containerDir, name), path.join(dir, name), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__") && !src.endsWith(".pyc"),
    });
  }
  makeTestModels(path.join(dir, "models"), weightMiB);
  return { dir, codeDir: path.join(dir, "gen3d_serving") };
}

/**
 * The baseline: the same code and weights, laid out as they are in the layered image
 * (/opt/gen3d/code, /opt/gen3d/models) but copied in one instruction, so one layer holds both.
 */
function naiveContext(dir, baseImage) {
  cpSync(path.join(containerDir, "gen3d_serving"), path.join(dir, "code", "gen3d_serving"), {
    recursive: true,
    filter: (src) => !src.includes("__pycache__") && !src.endsWith(".pyc"),
  });
  makeTestModels(path.join(dir, "models"), weightMiB);
  writeFileSync(path.join(dir, ".dockerignore"), "Dockerfile\n.dockerignore\n");
  writeFileSync(
    path.join(dir, "Dockerfile"),
    [
      `FROM ${baseImage}`,
      "COPY . /opt/gen3d/",
      "ENV GEN3D_MODEL_DIR=/opt/gen3d/models PYTHONPATH=/opt/gen3d/code HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1",
      "WORKDIR /opt/gen3d/code",
      "EXPOSE 8080",
      'ENTRYPOINT ["python3", "-m", "gen3d_serving"]',
      'CMD ["serve"]',
      "",
    ].join("\n"),
  );
  return { dir, codeDir: path.join(dir, "code", "gen3d_serving") };
}

/** The change under test: one comment line at the end of the server module. */
function oneLineChange(codeDir) {
  appendFileSync(path.join(codeDir, "app.py"), `# push-layers bench: one-line change (${runId})\n`);
}

// ---- docker ----

/** `docker rmi` that accepts an image already gone (cleanup runs after failures and signals too). */
async function removeImage(ref) {
  try {
    await docker("rmi", ref);
  } catch (error) {
    if (!/No such image/i.test(error.message)) throw error;
  }
}

async function build(dir, ref, buildArgs) {
  const args = ["build", "--platform", "linux/amd64", "-t", ref];
  for (const [key, value] of Object.entries(buildArgs)) args.push("--build-arg", `${key}=${value}`);
  cleanups.push(() => removeImage(ref)); // before the build: a failed or interrupted one may still tag
  await docker(...args, dir);
}

/** Pushes and returns how many layers docker itself reported as uploaded (a cross-check). */
async function push(ref) {
  const out = await docker("push", ref);
  return out.split("\n").filter((line) => /: Pushed\s*$/.test(line)).length;
}

/** A fit-for-purpose check of the result: the container starts and finds its model files. */
async function checkImage(ref) {
  await docker("run", "--rm", "--network", "host", "-e", "GEN3D_BACKEND=test", ref, "check");
}

// ---- one variant: v1, change, v2, measure ----

async function measure(name, context, buildArgs) {
  const repo = `bench-${name}-${runId}`;
  const ref = (tag) => `${registry}/${repo}:${tag}`;

  log(`${name}: build + push v1 (${ref("v1")})`);
  const v1Build = await timed(() => build(context.dir, ref("v1"), buildArgs));
  const v1Push = await timed(() => push(ref("v1")));

  oneLineChange(context.codeDir);
  log(`${name}: one-line change, build v2`);
  const v2Build = await timed(() => build(context.dir, ref("v2"), buildArgs));
  await checkImage(ref("v2"));

  // Which blobs the repository holds before the v2 push: every layer of v1, checked one by one
  // (v2's compressed digests are known only once docker pushes it, so ask about v1's).
  const v1 = await getManifest(repo, "v1");
  const present = new Set();
  for (const layer of v1.layers) if (await blobExists(repo, layer.digest)) present.add(layer.digest);

  log(`${name}: push v2`);
  const v2Push = await timed(() => push(ref("v2")));
  const v2 = await getManifest(repo, "v2");
  const fresh = v2.layers.filter((layer) => !present.has(layer.digest));
  for (const layer of v2.layers) {
    if (!(await blobExists(repo, layer.digest)))
      throw new Error(`${repo}: ${layer.digest} missing after push`);
  }
  const pushedBytes = fresh.reduce((sum, layer) => sum + layer.size, 0);
  const totalBytes = v2.layers.reduce((sum, layer) => sum + layer.size, 0);
  const imageSize = Number(await docker("image", "inspect", "--format", "{{.Size}}", ref("v2")));

  return {
    name,
    repo: `${registry}/${repo}`,
    layers: v2.layers.length,
    layersPushed: fresh.length,
    dockerReportedPushed: v2Push.result,
    pushedBytes,
    totalBytes,
    percent: (100 * pushedBytes) / totalBytes,
    imageSize,
    v1: { buildSeconds: v1Build.seconds, pushSeconds: v1Push.seconds },
    v2: {
      buildSeconds: v2Build.seconds,
      pushSeconds: v2Push.seconds,
      seconds: v2Build.seconds + v2Push.seconds,
    },
    pushedLayerSizes: fresh.map((layer) => layer.size),
  };
}

// ---- report ----

const mb = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 1)} MB`;

function printTable(report) {
  const rows = [["variant", "v2 pushed", "v2 total", "pushed %", "layers", "image size", "v2 build+push s"]];
  for (const r of report.variants) {
    rows.push([
      r.name,
      mb(r.pushedBytes),
      mb(r.totalBytes),
      `${r.percent.toFixed(3)} %`,
      `${r.layersPushed}/${r.layers}`,
      mb(r.imageSize),
      `${r.v2.seconds.toFixed(1)} (${r.v2.buildSeconds.toFixed(1)}+${r.v2.pushSeconds.toFixed(1)})`,
    ]);
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  console.log(
    `push after a one-line code change: weights ${report.weightMiB} MiB × 2, base ${report.baseImage}, run ${report.runId}`,
  );
  for (const row of rows)
    console.log(
      row
        .map((cell, col) => cell.padEnd(widths[col]))
        .join("  ")
        .trimEnd(),
    );
  console.log(
    `naive/layered bytes pushed: ${report.ratio.toFixed(0)}×; v2 seconds naive/layered: ${report.secondsRatio.toFixed(1)}×`,
  );
  console.log(`goal: layered ≤ ${GOAL_PERCENT} % of the image → ${report.goalMet ? "met" : "MISSED"}`);
}

// ---- main ----

let cleaning = null; // one cleanup, shared by the normal exit, an error and a signal

function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      try {
        await cleanups.pop()();
      } catch (error) {
        log(`cleanup: ${error.message.split("\n")[0]}`);
      }
    }
  })();
  return cleaning;
}

/** Stops the children (docker build/push) and waits for them, at most 15 s. */
async function stopChildren() {
  const exits = [...running].map((child) => new Promise((resolve) => child.once("close", resolve)));
  for (const child of running) child.kill("SIGTERM");
  await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 15_000))]);
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
]) {
  process.once(signal, async () => {
    interrupted = true;
    log(`${signal}: stopping docker, cleaning up`);
    if (!cleaning) await stopChildren(); // once cleanup runs, its own `docker rmi` must finish
    await cleanup();
    process.exit(code);
  });
}

async function main() {
  const ping = await fetch(`http://${registry}/v2/`).catch(() => null);
  if (ping?.status !== 200)
    throw new Error(`no registry at http://${registry}/v2/ (bash scripts/local-stack/up.sh)`);

  // Pin the base for the whole run: a concurrent up.sh may re-point gen3d-base:local mid-run,
  // which would make v2 rebuild every layer (and make the two variants use different bases).
  const baseId = (await docker("image", "inspect", "--format", "{{.Id}}", opts["base-image"])).trim();
  const base = `gen3d-bench-base:${runId}`;
  await docker("tag", baseId, base);
  cleanups.push(() => removeImage(base)); // removes the tag only: the image keeps its other tags

  const tmp = mkdtempSync(path.join(os.tmpdir(), "gen3d-push-layers-"));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  const dirs = { layered: path.join(tmp, "layered"), naive: path.join(tmp, "naive") };
  for (const dir of Object.values(dirs)) mkdirSync(dir);

  log(
    `run ${runId}: stand-in weights ${weightMiB} MiB × 2 per context, base ${opts["base-image"]} (${baseId})`,
  );
  const layered = await measure("layered", layeredContext(dirs.layered), {
    BASE_IMAGE: base,
    INSTALL_SAM3: "false",
    PIP_EXTRA_ARGS: "--no-index",
  });
  const naive = await measure("naive", naiveContext(dirs.naive, base), {});

  return {
    runId,
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    weightMiB,
    baseImage: `${opts["base-image"]} (${baseId})`,
    variants: [layered, naive],
    ratio: naive.pushedBytes / layered.pushedBytes,
    secondsRatio: naive.v2.seconds / layered.v2.seconds,
    goalPercent: GOAL_PERCENT,
    goalMet: layered.percent <= GOAL_PERCENT,
  };
}

try {
  const report = await main();
  await cleanup();
  if (opts.json) console.log(JSON.stringify(report, null, 2));
  else printTable(report);
  for (const r of report.variants) {
    if (r.dockerReportedPushed !== r.layersPushed) {
      log(
        `note: ${r.name}: docker printed ${r.dockerReportedPushed} "Pushed", the manifests say ${r.layersPushed}`,
      );
    }
  }
  process.exitCode = report.goalMet ? 0 : 1;
} catch (error) {
  if (!interrupted) log(error.message); // else it is only the killed child's exit
  await cleanup();
  process.exitCode = 2;
}
