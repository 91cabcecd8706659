/**
 * Skipping checks reality, `plan` shows drift, `verify` reads fresh evidence — against moto, with
 * resources deleted or changed behind gen3d's back through the SDK (as a console user would).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CreateEndpointConfigCommand,
  DeleteEndpointCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli-in-process.js";
import { useMoto } from "../support/use-moto.js";
import {
  createTestContext,
  phases5To8,
  runThrough,
  type TestContext,
  testConfig,
} from "./support/context.js";

const moto = useMoto();
const PHASES_5_TO_8 = phases5To8();
/** A secret-named variable the model's environment carries (from localTest.environment). */
const SECRET = "sentinel-9c41d7e2-not-for-output";

async function deployedProject(): Promise<TestContext> {
  const config = testConfig(moto.endpoint, (raw) => {
    raw.localTest = { environment: { HF_TOKEN: SECRET, MODEL_API_KEY: `${SECRET}-2`, LOG_LEVEL: "info" } };
  });
  const ctx = await createTestContext({ endpoint: moto.endpoint, config });
  const outcomes = await runThrough(ctx, PHASES_5_TO_8);
  expect([...outcomes.values()].map((o) => o.type)).toEqual(["passed", "passed", "passed", "passed"]);
  await writeFile(path.join(ctx.loaded.baseDir, "gen3d.config.json"), JSON.stringify(ctx.config, null, 2));
  return ctx;
}

const cli = (dir: string, argv: string[]) => runCli(dir, argv);

describe("a passed phase is skipped only when what it produced is still there", () => {
  it("after the endpoint and model are deleted behind gen3d's back, deploy re-runs phases 5 and 7 with the reason and the endpoint exists again", async () => {
    const ctx = await deployedProject();
    const sagemaker = await ctx.aws.sagemaker();
    const { modelName, endpointName } = ctx.state.state.artifacts;

    // Nothing changed: every phase is skipped after one read each, and nothing is mutated.
    const mark = ctx.log.mark();
    const again = await runThrough(ctx, PHASES_5_TO_8);
    expect([...again.values()].map((o) => o.type)).toEqual(["skipped", "skipped", "skipped", "skipped"]);
    expect(ctx.log.mutatingSince(mark)).toEqual([]);
    expect(again.get(7)).toMatchObject({
      reason: expect.stringContaining("is InService on gen3d-test-cfg-"),
    });

    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
    await sagemaker.send(new DeleteModelCommand({ ModelName: modelName }));
    await expect(
      sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })),
    ).rejects.toThrow();

    const after = await runThrough(ctx, PHASES_5_TO_8);
    expect([...after.values()].map((o) => [o.id, o.type])).toEqual([
      [5, "passed"],
      [6, "passed"],
      [7, "passed"],
      [8, "passed"],
    ]);
    expect(after.get(5)).toMatchObject({ reason: `model ${modelName} no longer exists`, outcome: "created" });
    expect(after.get(7)).toMatchObject({ outcome: "created" });
    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    expect(endpoint.EndpointStatus).toBe("InService");
    expect(endpoint.EndpointConfigName).toBe(ctx.state.state.artifacts.endpointConfigName);
  });

  it("the endpoint alone deleted: phase 7 re-runs saying so, 5 and 6 stay skipped", async () => {
    const ctx = await deployedProject();
    const sagemaker = await ctx.aws.sagemaker();
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: "gen3d-test-async" }));
    const after = await runThrough(ctx, PHASES_5_TO_8);
    expect([...after.values()].map((o) => o.type)).toEqual(["skipped", "skipped", "passed", "passed"]);
    expect(after.get(7)).toMatchObject({ reason: "endpoint gen3d-test-async no longer exists" });
    expect(ctx.state.phase(7).note).toBe("created");
  });
});

describe("gen3d plan shows drift", () => {
  it("names a config changed behind gen3d's back, then a deleted endpoint; writes nothing", async () => {
    const ctx = await deployedProject();
    const dir = ctx.loaded.baseDir;
    const sagemaker = await ctx.aws.sagemaker();
    const recordedConfig = ctx.state.state.artifacts.endpointConfigName as string;

    const clean = await cli(dir, ["plan", "--from", "5", "--to", "8"]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).not.toContain("Drift");

    // Someone makes a config with 4 concurrent invocations in the console and switches the endpoint.
    const current = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: recordedConfig }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: "hand-made",
        ProductionVariants: current.ProductionVariants,
        AsyncInferenceConfig: {
          OutputConfig: current.AsyncInferenceConfig?.OutputConfig ?? {},
          ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
        },
      }),
    );
    await sagemaker.send(
      new UpdateEndpointCommand({ EndpointName: "gen3d-test-async", EndpointConfigName: "hand-made" }),
    );
    const stateBefore = await readFile(ctx.state.file, "utf8");
    const changed = await cli(dir, ["plan", "--from", "5", "--to", "8"]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain(
      `7. config changed outside gen3d: endpoint gen3d-test-async runs hand-made, not ${recordedConfig} (MaxConcurrentInvocationsPerInstance 1 → 4)`,
    );
    const json = await cli(dir, ["plan", "--from", "5", "--to", "8", "--json"]);
    const doc = JSON.parse(json.stdout);
    expect(doc.phases.map((p: { status: string }) => p.status)).toEqual([
      "skipped",
      "skipped",
      "would-run",
      "would-run",
    ]);
    expect(doc.phases[2].drift).toMatchObject({
      type: "changed",
      changes: [
        `EndpointConfigName ${recordedConfig} → hand-made`,
        "MaxConcurrentInvocationsPerInstance 1 → 4",
      ],
    });

    // Update settles (the emulator's Updating → InService), then the endpoint goes altogether.
    for (let i = 0; i < 100; i++) {
      const e = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: "gen3d-test-async" }));
      if (e.EndpointStatus === "InService") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: "gen3d-test-async" }));
    const gone = await cli(dir, ["plan", "--from", "5", "--to", "8"]);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain("7. would re-run: endpoint gen3d-test-async no longer exists");
    expect(gone.stdout).toMatch(/run\s+endpoint gen3d-test-async no longer exists/);
    expect(await readFile(ctx.state.file, "utf8")).toBe(stateBefore);
  });
});

describe("gen3d verify reads fresh evidence", () => {
  it("verify --phase 5 --json never prints a secret-named environment value", async () => {
    const ctx = await deployedProject();
    const result = await cli(ctx.loaded.baseDir, ["verify", "--phase", "5", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain(SECRET);
    expect(result.stderr).not.toContain(SECRET);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ ok: true, mode: "fresh", differsFromRecord: [] });
    expect(JSON.stringify(doc.gates)).toContain("LOG_LEVEL");
    const text = await cli(ctx.loaded.baseDir, ["verify", "--phase", "5"]);
    expect(`${text.stdout}${text.stderr}`).not.toContain(SECRET);
  });

  it("fails on what AWS holds now where the record says passed; --recorded labels the record with its date; --update writes it through the lock", async () => {
    const ctx = await deployedProject();
    const dir = ctx.loaded.baseDir;
    const sagemaker = await ctx.aws.sagemaker();
    const recordedAt = ctx.state.phase(7).finishedAt as string;
    const recordedGates = (ctx.state.phase(7).evidence as { gates: { id: string; status: string }[] }).gates;

    const recorded = await cli(dir, ["verify", "--phase", "7", "--recorded", "--json"]);
    expect(recorded.code).toBe(0);
    const recordedDoc = JSON.parse(recorded.stdout);
    expect(recordedDoc).toMatchObject({ ok: true, mode: "recorded", recordedAt });
    expect(recordedDoc.gates.map((g: { id: string; status: string }) => [g.id, g.status])).toEqual(
      recordedGates.map((g) => [g.id, g.status]),
    );
    const recordedText = await cli(dir, ["verify", "--phase", "7", "--recorded"]);
    // The date as a human reads it; the ISO timestamp only with --verbose.
    expect(recordedText.stdout).toMatch(/\(recorded evidence, from (just now|\d+ min ago)\)/);
    expect(recordedText.stdout).not.toContain(recordedAt);
    const verboseText = await cli(dir, ["verify", "--phase", "7", "--recorded", "--verbose"]);
    expect(verboseText.stdout).toContain(`(recorded evidence, from ${recordedAt})`);

    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: "gen3d-test-async" }));
    const stateBefore = await readFile(ctx.state.file, "utf8");
    const fresh = await cli(dir, ["verify", "--phase", "7", "--json"]);
    expect(fresh.code).toBe(1);
    const doc = JSON.parse(fresh.stdout);
    expect(doc).toMatchObject({
      ok: false,
      mode: "fresh",
      recordedAt,
      reality: { type: "gone", reason: "endpoint gen3d-test-async no longer exists" },
      updated: false,
    });
    expect(doc.differsFromRecord.length).toBeGreaterThan(0);
    expect(doc.differsFromRecord[0]).toMatchObject({
      recorded: { status: "pass" },
      fresh: { status: "fail" },
    });
    expect(await readFile(ctx.state.file, "utf8")).toBe(stateBefore);

    const updated = await cli(dir, ["verify", "--phase", "7", "--update"]);
    expect(updated.code).toBe(1);
    const state = JSON.parse(await readFile(ctx.state.file, "utf8"));
    expect(state.phases["7"]).toMatchObject({ status: "failed", error: { code: "VERIFY_FAILED" } });
    expect(state.history.at(-1)).toMatchObject({ event: "phase-verified", phase: 7, detail: "failed" });

    const both = await cli(dir, ["verify", "--phase", "7", "--recorded", "--update"]);
    expect(both.code).toBe(2);
  });
});
