import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/adapters/aws.js";
import { readRemoteImage } from "../../src/adapters/registry.js";
import { systemClock } from "../../src/app/runtime.js";
import { allPhases } from "../../src/phases/index.js";
import { runPhases } from "../../src/phases/runner.js";
import { seedAccount } from "../support/aws-account.js";
import { createTestContext } from "../support/context.js";
import {
  containerProject,
  LOCAL_REGISTRY,
  localConfig,
  recordingDocker,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

interface Transfer {
  layers: number;
  pushedLayers: number;
  alreadyPresent: number;
  mounted: number;
  pushedBytes: number;
}

/**
 * Build and push through the Engine API's progress stream, against the real local registry: the
 * second push of a one-line code change uploads one small layer and says the rest were there.
 */
describe("build and push progress on the local stack", { timeout: 300_000 }, () => {
  let moto: MotoServer;
  const phases = allPhases();

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto();
    await seedAccount(moto);
  });
  afterAll(async () => {
    await moto?.stop();
    removeImages((r) => r.startsWith("gen3d-it:") || r.startsWith(`${LOCAL_REGISTRY}/gen3d-it-progress-`));
  });

  it("a code change pushes kilobytes and reports the other layers as already present", async () => {
    const { dir, modelBytes } = await containerProject();
    const repository = `gen3d-it-progress-${Math.random().toString(36).slice(2, 8)}`;
    const config = localConfig({ endpoint: moto.endpoint, repository, modelBytes });
    const docker = recordingDocker();
    const ctx = await createTestContext({
      dir,
      config,
      docker,
      aws: createAwsClients(config.aws),
      clock: systemClock,
      // Not a terminal: progress lines every second here (10 s by default).
      env: { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT, GEN3D_PROGRESS_SECONDS: "1" },
    });
    const transferOf = () => (ctx.state.phase(4).evidence as { run: { transfer?: Transfer } }).run.transfer;

    const first = await runPhases(ctx, phases, { to: 4 });
    expect(first.error?.message, JSON.stringify(first.error?.details)).toBeUndefined();
    // Both long operations went through the Engine API, not the CLI.
    expect(docker.calls.some((c) => c[0] === "build" && c.includes("linux/amd64"))).toBe(true);
    expect((ctx.state.phase(2).evidence as { run: { via: string } }).run.via).toBe("engine-api");
    const initial = transferOf();
    expect(initial?.pushedLayers).toBeGreaterThan(0);
    expect(initial?.pushedBytes).toBeGreaterThan(0);

    await writeFile(path.join(dir, "container/gen3d_serving/__init__.py"), "# a one-line change\n", {
      flag: "a",
    });
    ctx.output.stderr = "";
    const second = await runPhases(ctx, phases, { to: 4 });
    expect(second.error?.message, JSON.stringify(second.error?.details)).toBeUndefined();
    expect(second.phases.map((p) => p.type)).toEqual(["passed", "passed", "passed", "passed"]);

    // Only the code layer is new: a few kilobytes pushed, every other layer already there.
    const again = transferOf() as Transfer;
    expect(again.pushedLayers).toBe(1);
    expect(again.pushedBytes).toBeGreaterThan(0);
    expect(again.pushedBytes).toBeLessThan(1_000_000);
    expect(again.alreadyPresent + again.mounted).toBe(again.layers - 1);
    expect(again.alreadyPresent).toBeGreaterThan(3);

    // What the user reads: build steps with elapsed / limit, and the push's closing line.
    const log = ctx.output.stderr;
    expect(log).toMatch(/step \d+\/\d+ .* · elapsed [^·]+ \/ limit 10m00s/);
    expect(log).toMatch(
      new RegExp(
        `pushed \\d+(\\.\\d)? [KB]+ in [^,]+ \\(1 layer\\), ${again.alreadyPresent} layers already present`,
      ),
    );
    // The phase's outcome carries the same sentence into the summary.
    expect(second.phases[3]).toMatchObject({ outcome: expect.stringContaining("layers already present") });
    // Not a flood: far fewer lines than the stream had events.
    expect(log.split("\n").filter((l) => l.includes("layers:")).length).toBeLessThan(20);

    // The gates are unchanged: the registry holds a Docker v2 manifest whose digest is the local RepoDigest.
    const gates = await phases[3]?.verify({ ...ctx, progress: () => {} });
    expect(gates?.filter((g) => g.status !== "pass")).toEqual([]);
    const artifacts = ctx.state.state.artifacts as { imageTag: string; imageDigest: string };
    const remote = await readRemoteImage({ host: LOCAL_REGISTRY, repository }, artifacts.imageTag);
    expect(remote?.manifestDigest).toBe(artifacts.imageDigest);
  });
});
