#!/usr/bin/env node
// What a local run produced and measured, for a person: each task's result file (downloaded),
// latencies, the endpoint's 0 → 1 → 0 timeline with the AWS-equivalent durations, and what the
// instance time would cost on AWS. Reads STATE.json (phases 7, 9, 10), the local SageMaker's
// report (scaling activities, cold start) and `gen3d cost --json` (the hourly price).
//
//   node scripts/demo-summary.mjs --config examples/local/gen3d.config.json [--started EPOCH] [--out DIR]
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

// README states the Node requirement; the SDK's own Node 20 notice would only be noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { GetObjectCommand, S3Client } = await import("@aws-sdk/client-s3");

const { values } = parseArgs({
  options: { config: { type: "string" }, started: { type: "string" }, out: { type: "string" } },
});
if (!values.config) {
  console.error("usage: node scripts/demo-summary.mjs --config FILE [--started EPOCH] [--out DIR]");
  process.exit(2);
}
const configPath = path.resolve(values.config);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const state = JSON.parse(readFileSync(path.join(path.dirname(configPath), "STATE.json"), "utf8"));
const outDir = path.resolve(values.out ?? "gen3d-results/local-demo");
const endpointUrl = config.aws?.endpoint;
if (!endpointUrl) {
  console.error("this summary reads the local SageMaker: the config has no aws.endpoint");
  process.exit(2);
}
const s3 = new S3Client({
  endpoint: endpointUrl,
  region: config.aws.region,
  forcePathStyle: true,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});

const phase = (n) => state.phases[String(n)] ?? {};
const statuses = Object.entries(state.phases).map(([n, p]) => `${n}:${p.status}`);
const integration = phase(9).evidence?.run;
const zero = phase(10).evidence?.run;
if (!integration) {
  console.error(`no phase 9 evidence in STATE.json (phases: ${statuses.join(" ")})`);
  process.exit(1);
}

const report = await fetch(`${endpointUrl}/local-sagemaker/endpoints/${integration.endpointName}`)
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);
const scale = report?.timeScale ?? 1;
const cost = JSON.parse(
  execFileSync(process.execPath, ["bin/gen3d.js", "--config", configPath, "cost", "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }),
);

async function download(bucket, key, dir) {
  const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await body.Body.transformToByteArray());
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, path.basename(key));
  writeFileSync(file, bytes);
  return { file: path.relative(process.cwd(), file), bytes: bytes.length };
}

const seconds = (s) => (s === undefined || s === null ? "?" : `${Number(s).toFixed(1)} s`);
const awsTime = (s) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${Math.round(s)} s`);
const lines = [];
const say = (line = "") => lines.push(line);

say(
  `gen3d on the local SageMaker — ${statuses.every((s) => s.endsWith("passed")) ? "all ten phases passed" : statuses.join(" ")}`,
);
say(
  `AWS-side waits (alarm periods, cooldowns, scale-in) ran ${scale}× faster; the container's own work was not sped up.`,
);
say();
say(`Results, downloaded to ${path.relative(process.cwd(), outDir) || "."}:`);
const resultTimes = [];
for (const [task, t] of Object.entries(integration.tasks ?? {})) {
  resultTimes.push(Date.parse(t.submittedAt) + (t.latencySeconds ?? 0) * 1000);
  const bucket = t.response?.bucket ?? config.s3.bucket;
  const files = [];
  for (const artifact of t.artifacts ?? []) {
    const got = await download(bucket, artifact.key, path.join(outDir, task)).catch((e) => ({
      error: e.message,
    }));
    files.push(
      got.file ? `${got.file} (${artifact.detail ?? `${got.bytes} bytes`})` : `${artifact.key}: ${got.error}`,
    );
  }
  const note =
    task === "generate_3d" && (t.response?.asset_s3_keys || files.length)
      ? "  [interface-level backend: a deterministic stand-in asset, not a SAM 3D reconstruction]"
      : "";
  say(
    `  ${task.padEnd(14)} ${seconds(t.latencySeconds).padStart(7)}  ${files.join(", ") || "(no artifact)"}${note}`,
  );
  if (task === "segment") say(`  ${"".padEnd(14)} ${"".padStart(7)}  ↑ the mask is a PNG you can open`);
}
// Which backend answered: the container names its segmentation model in every embedding response
// ("sam3-…": transformers' Sam3TrackerModel; "test-…": the deterministic test backend).
const modelId = integration.tasks?.get_embedding?.response?.model_id ?? "";
const backend = modelId.startsWith("sam3-")
  ? `sam3 — transformers' Sam3TrackerModel, the code a GPU deployment runs (here: a tiny random-weight config on CPU, so the mask shows the path, not a real segmentation)`
  : modelId.startsWith("test-")
    ? "test — the container's deterministic stand-in (GEN3D_BACKEND=test), not a model"
    : "unknown (no get_embedding response recorded)";
say(`Backend that answered get_embedding/segment: ${backend}; model_id ${modelId || "?"}.`);
if (!integration.tasks?.generate_3d)
  say(
    "generate_3d: not served by this image (SAM 3D Objects needs a ≥ 32 GB CUDA GPU; GEN3D_DEMO_BACKEND=test shows its interface-level stand-in).",
  );
say();

const inService = phase(7).finishedAt ?? phase(7).completedAt;
// Only this deployment's activities: an endpoint updated in place keeps those of earlier runs.
const since = Date.parse(phase(7).startedAt ?? inService ?? 0);
const acts = [...(report?.scaling?.activities ?? [])]
  .reverse()
  .filter((a) => Date.parse(a.StartTime) >= since);
say("The endpoint's timeline (here → on AWS):");
if (inService)
  say(
    `  ${new Date(inService).toISOString().slice(11, 19)}  InService with ${config.instance?.initialCount ?? 1} instance`,
  );
for (const a of acts) {
  say(
    `  ${String(a.StartTime).slice(11, 19)}  ${a.Description.replace("Setting desired", "desired")} (${a.Cause.replace(/ in state ALARM triggered policy .*/, "").replace("monitor alarm ", "alarm ")})`,
  );
}
const cold = zero?.coldStart;
const breakdown = cold?.breakdown;
if (breakdown?.secondsFromRequest) {
  const s = breakdown.secondsFromRequest;
  say(
    `  cold start from zero: alarm ${seconds(s.alarm)} → instance started ${seconds(s.instanceStarted)} → first /ping ${seconds(s.firstPing)} → result ${seconds(s.result)}`,
  );
  const aws = breakdown.awsEquivalentSeconds ?? {};
  say(
    `  on AWS: the alarm alone takes ≈ ${awsTime(aws.alarm ?? 0)}; with this container ≈ ${awsTime(aws.total ?? 0)}, plus instance provisioning and the image pull (minutes for a GPU image)`,
  );
}
if (zero?.observedZeroAt)
  say(
    `  scale-in to zero observed at ${zero.observedZeroAt.slice(11, 19)} (on AWS ≈ 15 idle minutes + the scale-in cooldown after the last job)`,
  );
say();

// Instance time: each stretch with an instance up; its idle tail (after the last result) is an
// AWS-side wait, so it counts `scale` times on AWS.
const ups = [];
let up = inService ? Date.parse(inService) : null;
for (const a of acts) {
  const t = Date.parse(a.StartTime);
  if (a.Description.endsWith(" 0.") && up !== null) {
    ups.push([up, t]);
    up = null;
  } else if (!a.Description.endsWith(" 0.") && up === null) up = t;
}
if (cold?.submittedAt && breakdown?.secondsFromRequest?.result) {
  resultTimes.push(Date.parse(cold.submittedAt) + breakdown.secondsFromRequest.result * 1000);
}
let hereSeconds = 0;
let awsSeconds = 0;
for (const [from, to] of ups) {
  const last = Math.max(from, ...resultTimes.filter((r) => r >= from && r <= to));
  hereSeconds += (to - from) / 1000;
  awsSeconds += (last - from) / 1000 + ((to - last) / 1000) * scale;
}
if (up !== null) {
  // The instance started for the cold start is still up: on AWS it stays until target tracking's
  // 15 idle minutes and the scale-in cooldown have passed after its last job. Count that.
  const last = Math.max(up, ...resultTimes.filter((r) => r >= up));
  const tail = 15 * 60 + (config.async?.scaleInCooldownSeconds ?? 300);
  hereSeconds += (Date.now() - up) / 1000;
  awsSeconds += (last - up) / 1000 + tail;
  say(
    `  the cold start's instance is still up; on AWS it would stay ≈ ${awsTime(tail)} after its job (counted below)`,
  );
}
const hours = awsSeconds / 3600;
say(
  `Instance time: ${seconds(hereSeconds)} here; the same run on AWS ≈ ${hours.toFixed(2)} instance-hours of ${cost.instanceType} × $${cost.pricePerHour}/h = $${(hours * cost.pricePerHour).toFixed(2)} (${cost.priceSource}).`,
);
if (values.started)
  say(`Total time of this run: ${Math.round(Date.now() / 1000 - Number(values.started))} s.`);
say(
  `Next: \`gen3d invoke --task segment --image photo.jpg --point X,Y\` sends your own picture; \`gen3d destroy\` removes it all.`,
);
console.log(lines.join("\n"));
