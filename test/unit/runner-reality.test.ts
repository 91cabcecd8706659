import { describe, expect, it } from "vitest";
import { ExternalError } from "../../src/engine/errors.js";
import { readState } from "../../src/engine/state.js";
import { gate, type Phase, type Reality } from "../../src/phases/phase.js";
import { runPhases } from "../../src/phases/runner.js";
import { createTestContext } from "../support/context.js";

/** Three phases; phase 2 has a reality read the test controls. */
function phases(read: () => Promise<Reality>) {
  const runs: number[] = [];
  const reads: number[] = [];
  const list: Phase[] = [1, 2, 3].map((id) => ({
    id,
    name: `p${id}`,
    title: `Phase ${id}`,
    inputs: async () => ({ id }),
    run: async () => {
      runs.push(id);
      return { evidence: { ran: id }, outcome: "created" };
    },
    verify: async () => [gate(`p${id}.ok`, "ok", "pass", "fine")],
    ...(id === 2
      ? {
          reality: async () => {
            reads.push(id);
            return read();
          },
        }
      : {}),
  }));
  return { list, runs, reads };
}

describe("a passed phase is skipped only when reality confirms it", () => {
  it("skips with what the read confirmed; re-runs with the reason when the product is gone", async () => {
    const ctx = await createTestContext();
    let reality: Reality = { type: "confirmed", detail: "endpoint gen3d-async is InService" };
    const { list, runs, reads } = phases(async () => reality);
    await runPhases(ctx, list, {});
    expect(reads).toEqual([]); // a phase that runs does not need the read
    const second = await runPhases(ctx, list, {});
    expect(second.phases.map((p) => p.type)).toEqual(["skipped", "skipped", "skipped"]);
    expect(second.phases[1]).toMatchObject({
      reason: expect.stringContaining("endpoint gen3d-async is InService"),
    });

    reality = { type: "gone", reason: "endpoint gen3d-async no longer exists" };
    const third = await runPhases(ctx, list, {});
    expect(third.status).toBe("passed");
    expect(third.phases.map((p) => p.type)).toEqual(["skipped", "passed", "passed"]);
    expect(third.phases[1]).toMatchObject({ reason: "endpoint gen3d-async no longer exists" });
    expect(third.phases[2]).toMatchObject({ reason: "an earlier phase re-ran (phase 2)" });
    expect(runs).toEqual([1, 2, 3, 2, 3]);
    const history = (await readState(ctx.state.file))?.history ?? [];
    expect(history.some((h) => h.phase === 2 && h.detail === "endpoint gen3d-async no longer exists")).toBe(
      true,
    );
  });

  it("plan names the drift and changes nothing; --force does not read", async () => {
    const ctx = await createTestContext();
    let reality: Reality = { type: "confirmed", detail: "ok" };
    const { list, runs, reads } = phases(async () => reality);
    await runPhases(ctx, list, {});
    reality = {
      type: "changed",
      reason: "config changed outside gen3d: MaxConcurrentInvocationsPerInstance 2 → 4",
      changes: ["MaxConcurrentInvocationsPerInstance 2 → 4"],
    };
    const before = await readState(ctx.state.file);
    const plan = await runPhases(ctx, list, { dryRun: true });
    expect(plan.phases.map((p) => p.type)).toEqual(["skipped", "would-run", "would-run"]);
    expect(plan.phases[1]).toMatchObject({
      reason: "config changed outside gen3d: MaxConcurrentInvocationsPerInstance 2 → 4",
      reality: { type: "changed" },
    });
    expect(await readState(ctx.state.file)).toEqual(before);
    expect(runs).toEqual([1, 2, 3]);

    const readsBefore = reads.length;
    await runPhases(ctx, list, { force: true });
    expect(reads.length).toBe(readsBefore);
  });

  it("a read that fails stops the deploy without touching the record; plan goes on", async () => {
    const ctx = await createTestContext();
    let fail = false;
    const { list, runs } = phases(async () => {
      if (fail) throw new ExternalError("AWS_UNREACHABLE", "cannot reach AWS", { hint: "check the network" });
      return { type: "confirmed", detail: "ok" };
    });
    await runPhases(ctx, list, {});
    fail = true;
    const before = await readState(ctx.state.file);
    const report = await runPhases(ctx, list, {});
    expect(report.status).toBe("failed");
    expect(report.error?.code).toBe("AWS_UNREACHABLE");
    expect(report.phases.map((p) => p.type)).toEqual(["skipped", "failed", "not-reached"]);
    expect(runs).toEqual([1, 2, 3]);
    expect((await readState(ctx.state.file))?.phases).toEqual(before?.phases);

    const plan = await runPhases(ctx, list, { dryRun: true });
    expect(plan.status).toBe("passed");
    expect(plan.phases[1]).toMatchObject({
      type: "skipped",
      reason: expect.stringContaining("could not check what it produced (cannot reach AWS)"),
    });
  });
});
