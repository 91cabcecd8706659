import { spawn } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { requireLocalStack } from "../support/local-stack.js";

/**
 * The bounded share of test/chaos/harness.mjs that CI runs: a fixed seed, a few draws of
 * `gen3d deploy` 1 → 10 on the local SageMaker with its data plane, each SIGKILLed at a seeded
 * moment and resumed; the harness checks STATE.json, AWS (SDK and aws CLI), containers, the
 * registry's tags and the emulator's per-InferenceId ledger after each draw. Draw 1 changes the
 * model's environment (phases 3, 5–10 re-run), draw 2 the container code (2–10). A fixed kill
 * window skips the calibration deploy to keep it to minutes; the long run is in bench/README.md.
 * GEN3D_CHAOS_BIN runs another build of the CLI (default: this checkout's bin/gen3d.js).
 */
const DRAWS = 2;

interface Report {
  error?: string;
  violations: string[];
  results: { killed: boolean; resumes: number; phase: number | string; kind: string }[];
  summary: { killsByPhase: Record<string, number> };
}

it(`${DRAWS} random kills over deploy 1 → 10, each resumed: no invariant broken`, {
  timeout: 600_000,
}, async () => {
  requireLocalStack();
  const child = spawn(
    process.execPath,
    [
      path.resolve("test/chaos/harness.mjs"),
      "--draws",
      String(DRAWS),
      "--seed",
      "14",
      "--code-every",
      "2",
      "--kill-window",
      "90",
      "--time-scale",
      "300",
      "--json",
      ...(process.env.GEN3D_CHAOS_BIN ? ["--bin", process.env.GEN3D_CHAOS_BIN] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const report = JSON.parse(stdout || "{}") as Report;
  expect(report.error, stderr.slice(-4000)).toBeUndefined();
  expect(report.violations, stderr.slice(-4000)).toEqual([]);
  expect(code).toBe(0);
  expect(report.results).toHaveLength(DRAWS);
  expect(report.results.map((r) => r.kind)).toEqual(["env", "code"]);
  // The kills landed (a draw whose deploy finished first proves nothing), and each resume passed.
  expect(report.results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(1);
  for (const r of report.results) expect(r.resumes).toBeGreaterThanOrEqual(1);
});
