#!/usr/bin/env node
// Wall time of `gen3d --help` and `gen3d status` against `node -e ''`, measured in the same run.
// Goal: each at most 2× the bare node start. Usage: npm run build && node bench/cli-startup.mjs [runs]
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 15);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "gen3d.js");

// A realistic record for `status` to read: ten phases with evidence, artifacts and history.
const dir = mkdtempSync(path.join(os.tmpdir(), "gen3d-bench-"));
const now = new Date().toISOString();
const phases = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [
    String(i + 1),
    {
      status: "passed",
      attempts: 1,
      startedAt: now,
      finishedAt: now,
      inputHash: "0123456789abcdef",
      evidence: { gates: [{ id: "x", title: "x", status: "pass", message: "ok" }] },
    },
  ]),
);
writeFileSync(
  path.join(dir, "STATE.json"),
  JSON.stringify({
    schemaVersion: 1,
    project: "bench",
    createdAt: now,
    updatedAt: now,
    phases,
    artifacts: { imageTag: "1.0.0-abc", endpointName: "bench-async" },
    history: Array.from({ length: 200 }, () => ({ at: now, event: "phase-passed", phase: 1 })),
  }),
);

function time(args) {
  const samples = [];
  for (let i = 0; i < runs + 2; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, {
      cwd: dir,
      stdio: "ignore",
      env: { ...process.env, CI: "true" },
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}`);
    if (i >= 2) samples.push(ms); // two warm-up runs fill the page cache
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

const baseline = time(["-e", ""]);
const rows = [
  ["node -e ''", baseline],
  ["gen3d --help", time([bin, "--help"])],
  ["gen3d status", time([bin, "status"])],
  ["gen3d status --json", time([bin, "status", "--json"])],
];
console.log(`runs: ${runs} each, median (p90) wall ms, ratio to node -e '' (goal ≤ 2.0)`);
for (const [name, t] of rows) {
  console.log(
    `${name.padEnd(22)} ${t.median.toFixed(1).padStart(7)} (${t.p90.toFixed(1)})  ${(t.median / baseline.median).toFixed(2)}×`,
  );
}
