import { spawn } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { requireLocalStack } from "../support/local-stack.js";

/**
 * The bounded share of bench/reliability.mjs that CI runs: three SIGKILLs at seeded-random moments
 * of `deploy --to 8 --force` on the local stack (moto control plane, dockerd, registry), each
 * followed by `resume`; the bench checks STATE.json, AWS (nothing duplicated or orphaned) and
 * leftovers after each. A fixed kill window skips the calibration deploy to keep this short; the
 * ≥ 100-draw figures are in bench/README.md.
 */
it("3 random kills during deploy --to 8, each resumed: no invariant broken", {
  timeout: 420_000,
}, async () => {
  requireLocalStack();
  const child = spawn(
    process.execPath,
    [path.resolve("bench/reliability.mjs"), "--draws", "3", "--seed", "7", "--kill-window", "36", "--json"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  expect(code, stderr.slice(-4000)).toBe(0);
  const report = JSON.parse(stdout) as {
    violations: string[];
    results: { killed: boolean; resumes: number }[];
  };
  expect(report.violations).toEqual([]);
  expect(report.results).toHaveLength(3);
  expect(report.results.filter((r) => r.killed).length).toBeGreaterThan(0);
  for (const r of report.results) expect(r.resumes).toBe(1);
});
