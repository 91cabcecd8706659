import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readState } from "../../src/engine/state.js";
import { checkNeeds, definePhase } from "../../src/phases/contract.js";
import { allPhases } from "../../src/phases/index.js";
import { gate, type Phase } from "../../src/phases/phase.js";
import { runPhases } from "../../src/phases/runner.js";
import { createTestContext } from "../support/context.js";

const pass = async () => [gate("ok", "ok", "pass", "fine")];

/** Phase 1 records a config name; phase 2 reads it through `needs`. */
function twoPhases(options: { produced?: Record<string, unknown>; seen?: unknown[] } = {}): Phase[] {
  const producer = definePhase({
    id: 1,
    name: "maker",
    title: "Make",
    produces: z.object({ configName: z.string().min(1) }),
    inputs: async () => ({}),
    run: async () => ({ artifacts: options.produced ?? { configName: "cfg-1" } }),
    verify: pass,
  });
  const consumer = definePhase({
    id: 2,
    name: "user",
    title: "Use",
    needs: { configName: z.string().min(1) },
    inputs: async () => ({}),
    run: async (ctx) => {
      // Typed: a string, not unknown (this line would not compile otherwise).
      const name: string = ctx.upstream.configName;
      options.seen?.push(name);
      return {};
    },
    verify: pass,
  });
  return [producer, consumer];
}

describe("phase contract", () => {
  it("hands the phase its needs, parsed and typed, as ctx.upstream", async () => {
    const ctx = await createTestContext();
    const seen: unknown[] = [];
    const report = await runPhases(ctx, twoPhases({ seen }), {});
    expect(report.status).toBe("passed");
    expect(seen).toEqual(["cfg-1"]);
  });

  it("stops a phase whose need is missing, naming the key and the phase that records it", async () => {
    const ctx = await createTestContext();
    const phases = twoPhases();
    await runPhases(ctx, phases, { to: 1 });
    await ctx.state.update((draft) => {
      delete draft.artifacts.configName;
    });
    const report = await runPhases(ctx, phases, { only: 2 });
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({
      code: "UPSTREAM_MISSING",
      message:
        "phase 2 needs configName: STATE.json has no artifacts.configName, which phase 1 (maker) records",
      hint: "Run phase 1 first: `gen3d deploy --from 1` (or `gen3d resume`).",
    });
    const onDisk = await readState(ctx.state.file);
    expect(onDisk?.phases["2"]).toMatchObject({ status: "failed", error: { code: "UPSTREAM_MISSING" } });
  });

  it("checks needs before run, even ones run would read only later", async () => {
    const ctx = await createTestContext();
    let ran = false;
    const lazy = definePhase({
      id: 1,
      name: "lazy",
      title: "Lazy",
      needs: { configName: z.string() },
      inputs: async () => ({}),
      run: async () => {
        ran = true;
        return {};
      },
      verify: pass,
    });
    const report = await runPhases(ctx, [lazy], {});
    expect(report.error).toMatchObject({ code: "UPSTREAM_MISSING" });
    expect(ran).toBe(false);
  });

  it("treats a need of the wrong shape as missing, and says it is not valid", () => {
    const [, consumer] = twoPhases();
    expect(() => checkNeeds(consumer as Phase, { configName: 7 }, twoPhases())).toThrow(
      "STATE.json has no valid artifacts.configName",
    );
  });

  it("fails a phase that passes without the artifacts it declares, as a bug in gen3d", async () => {
    const ctx = await createTestContext();
    const report = await runPhases(ctx, twoPhases({ produced: { configName: 42 } }), {});
    expect(report.status).toBe("failed");
    expect(report.phases[0]).toMatchObject({ type: "failed" });
    expect(report.error).toMatchObject({ code: "INTERNAL", exitCode: 70 });
    expect(report.error?.message).toContain(
      "phase 1 (maker) passed without the artifacts it declares: configName",
    );
    expect(report.phases[1]).toMatchObject({ type: "not-reached" });
  });

  it("every need of a real phase is produced by an earlier one", () => {
    const phases = allPhases();
    for (const phase of phases) {
      for (const key of Object.keys(phase.needs ?? {})) {
        const producer = phases.find((p) => p.id < phase.id && p.produces && key in p.produces.shape);
        expect(producer, `phase ${phase.id} needs ${key}`).toBeDefined();
      }
    }
  });
});
