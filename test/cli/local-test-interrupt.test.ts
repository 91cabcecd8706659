import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAccount } from "../support/aws-account.js";
import { containersNamed, phaseStatus, spawnCli, waitFor } from "../support/cli-process.js";
import {
  configuredProject,
  LOCAL_REGISTRY,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

/**
 * Ctrl-C during phase 3, through the real CLI on the local stack: SIGINT goes to the CLI's whole
 * process group (as a terminal sends it, so `docker run` gets it too) at several moments, from
 * "phase 3 just started" to "the container is being probed". Whenever it lands, the run exits
 * 130 and leaves no local-test container behind.
 */
const PROJECT = "gen3d-sigint";
const CONTAINER = `gen3d-local-test-${PROJECT}`;

describe("Ctrl-C during phase 3 leaves no container", { timeout: 300_000 }, () => {
  let moto: MotoServer;
  let dir: string;
  let env: Record<string, string>;
  const repository = `gen3d-sigint-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto();
    await seedAccount(moto);
    dir = await configuredProject({ endpoint: moto.endpoint, repository, name: PROJECT });
    env = moto.env;
    const built = await spawnCli(dir, ["deploy", "--to", "2"], env).output;
    expect(built.code, built.stderr.slice(-3000)).toBe(0);
  });

  afterAll(async () => {
    spawnSync("docker", ["rm", "--force", CONTAINER]);
    await moto?.stop();
    removeImages((r) => r.startsWith(`${LOCAL_REGISTRY}/${repository}`) || r.startsWith("gen3d-it:"));
  });

  // Each moment is a condition the test polls for, then signals at once.
  const moments: [string, () => Promise<boolean> | boolean][] = [
    ["phase 3 has just started", async () => (await phaseStatus(dir, 3)) === "running"],
    ["the container first shows up in `docker ps --all`", () => containersNamed(CONTAINER).length > 0],
    ["the container is running", () => containersNamed(CONTAINER).some((line) => line.endsWith(" running"))],
  ];

  for (const [moment, ready] of moments) {
    it(`SIGINT when ${moment}: exit 130, phase 3 interrupted, no container left`, async () => {
      expect(containersNamed(CONTAINER)).toEqual([]);
      const child = spawnCli(dir, ["deploy", "--to", "3"], env);
      await waitFor(moment, ready, 120_000);
      child.ctrlC();
      const result = await child.output;
      expect(result.code, result.stderr.slice(-2000)).toBe(130);
      expect(await phaseStatus(dir, 3)).toBe("interrupted");
      // Give a daemon-side create that was still in flight the time to surface.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(containersNamed(CONTAINER)).toEqual([]);
    });
  }

  it("SIGINT at random moments over the container's first second: never a container left", async () => {
    for (const delayMs of [0, 50, 150, 300, 600]) {
      const child = spawnCli(dir, ["deploy", "--to", "3"], env);
      await waitFor("phase 3 to start", async () => (await phaseStatus(dir, 3)) === "running", 120_000);
      await new Promise((r) => setTimeout(r, delayMs));
      child.ctrlC();
      const result = await child.output;
      expect(result.code, `after ${delayMs} ms: ${result.stderr.slice(-1500)}`).toBe(130);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(containersNamed(CONTAINER), `after ${delayMs} ms`).toEqual([]);
    }
  });
});
