import { writeFile } from "node:fs/promises";
import path from "node:path";
import { ListEndpointsCommand, ListModelsCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { afterAll, describe, expect, it } from "vitest";
import { createTestContext, phases5To8, runThrough } from "../aws/support/context.js";
import { runCli } from "../support/cli-in-process.js";
import { freePort } from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

/**
 * The AWS emulator restarted mid-life with its state lost (as a region outage that lost
 * resources, or someone deleting them by hand, would look): everything STATE.json records is gone.
 * `status --live` must say so instead of reporting it deployed, and `deploy` must re-check what it
 * would skip and re-create it.
 */
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const cli = (dir: string, argv: string[]) => runCli(dir, argv);

describe("the local AWS restarted with its state lost", { timeout: 180_000 }, () => {
  it("status --live shows the recorded resources missing; deploy re-creates them", async () => {
    const port = await freePort();
    moto = await startMoto({ port });
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await runThrough(ctx, phases5To8());
    // Phases 1–4 (preflight, build, local test, push) as a real deploy would have left them.
    await ctx.state.setPhase(1, { status: "passed", attempts: 1 });
    await ctx.state.setPhase(2, { status: "passed", attempts: 1 });
    const dir = ctx.loaded.baseDir;
    await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(ctx.config, null, 2));
    const before = JSON.parse((await cli(dir, ["status", "--live", "--json"])).stdout);
    expect(before.drift).toBe(0);

    // The restart: same port, nothing remembered.
    await moto.stop();
    moto = await startMoto({ port });
    const sagemaker = new SageMakerClient({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: moto.credentials,
    });
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);

    const live = await cli(dir, ["status", "--live", "--json"]);
    const doc = JSON.parse(live.stdout) as {
      drift: number;
      rows: { resource: string; actual: string }[];
    };
    const actual = Object.fromEntries(doc.rows.map((r) => [r.resource, r.actual]));
    expect(actual.model, live.stdout).toBe("missing");
    expect(actual.endpoint, live.stdout).toBe("missing");
    expect(actual["endpoint config"], live.stdout).toBe("missing");
    expect(doc.drift, live.stdout).toBeGreaterThan(0);
    const human = await cli(dir, ["status", "--live"]);
    expect(human.stdout).toMatch(/missing/);

    const deploy = await cli(dir, ["deploy", "--from", "5", "--to", "8", "--json"]);
    expect(deploy.code, `${deploy.stdout}\n${deploy.stderr}`).toBe(0);
    const report = JSON.parse(deploy.stdout) as { phases: { id: number; type: string }[] };
    // Nothing skipped on STATE.json's word: every phase whose product was gone ran again.
    for (const id of [5, 6, 7, 8]) expect(report.phases.find((p) => p.id === id)?.type).not.toBe("skipped");
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toHaveLength(1);
    expect((await sagemaker.send(new ListModelsCommand({}))).Models).toHaveLength(1);
    const after = JSON.parse((await cli(dir, ["status", "--live", "--json"])).stdout);
    expect(after.drift).toBe(0);
  });
});
