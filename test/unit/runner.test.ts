import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { NotImplementedError } from "../../src/engine/errors.js";
import { readState } from "../../src/engine/state.js";
import { gate, type Phase, type PhaseContext } from "../../src/phases/phase.js";
import { runPhases } from "../../src/phases/runner.js";
import { createTestContext } from "../support/context.js";

interface FakePhaseOptions {
  input?: () => unknown;
  /** What the run says it did; "checked" (nothing made anew) unless given. */
  outcome?: () => string;
  fail?: () => boolean;
  run?: (ctx: PhaseContext) => Promise<void>;
}

function fakePhases(count: number, options: Record<number, FakePhaseOptions> = {}) {
  const runs: number[] = [];
  const phases: Phase[] = Array.from({ length: count }, (_, i) => {
    const id = i + 1;
    const o = options[id] ?? {};
    return {
      id,
      name: `p${id}`,
      title: `Phase ${id}`,
      inputs: async () => o.input?.() ?? { id },
      run: async (ctx) => {
        runs.push(id);
        await o.run?.(ctx);
        return {
          evidence: { ran: id },
          artifacts: id === 2 ? { imageTag: "1.0.0-abc" } : {},
          outcome: o.outcome?.() ?? "checked",
        };
      },
      verify: async () => [
        gate(
          `p${id}.ok`,
          "ok",
          o.fail?.() ? "fail" : "pass",
          o.fail?.() ? `phase ${id} gate says no` : "fine",
          {
            hint: "fix it",
          },
        ),
      ],
    };
  });
  return { phases, runs };
}

describe("phase runner", () => {
  it("runs every phase once, records evidence, then skips them all with the reason", async () => {
    const ctx = await createTestContext();
    const { phases, runs } = fakePhases(3);
    const first = await runPhases(ctx, phases, {});
    expect(first.status).toBe("passed");
    expect(runs).toEqual([1, 2, 3]);
    const onDisk = await readState(ctx.state.file);
    expect(onDisk?.phases["2"]).toMatchObject({ status: "passed", attempts: 1 });
    expect(onDisk?.phases["2"]?.evidence).toMatchObject({
      run: { ran: 2 },
      gates: [{ id: "p2.ok", status: "pass" }],
    });
    expect(onDisk?.artifacts.imageTag).toBe("1.0.0-abc");

    const second = await runPhases(ctx, phases, {});
    expect(runs).toEqual([1, 2, 3]);
    expect(second.phases.every((p) => p.type === "skipped")).toBe(true);
    expect(second.phases[0]).toMatchObject({
      type: "skipped",
      reason: expect.stringContaining("inputs unchanged"),
    });
  });

  it("re-runs a phase whose inputs changed and every later phase, marking them stale first", async () => {
    const ctx = await createTestContext();
    let version = 1;
    const { phases, runs } = fakePhases(4, { 2: { input: () => ({ version }) } });
    await runPhases(ctx, phases, {});
    version = 2;
    const seen: string[] = [];
    const spy = fakePhases(4, {
      2: { input: () => ({ version }) },
      3: {
        run: async () => {
          seen.push(ctx.state.phase(4).status);
        },
      },
    });
    const report = await runPhases(ctx, spy.phases, {});
    expect(report.phases.map((p) => p.type)).toEqual(["skipped", "passed", "passed", "passed"]);
    expect(report.phases[1]).toMatchObject({ reason: "inputs changed since it passed" });
    expect(report.phases[2]).toMatchObject({ reason: "an earlier phase re-ran (phase 2)" });
    expect(seen).toEqual(["stale"]);
    expect(runs).toEqual([1, 2, 3, 4]);
    expect(spy.runs).toEqual([2, 3, 4]);
  });

  it("honours --from, --to, --only and --force", async () => {
    const ctx = await createTestContext();
    const { phases, runs } = fakePhases(5);
    await runPhases(ctx, phases, { to: 2 });
    expect(runs).toEqual([1, 2]);
    await expect(runPhases(ctx, phases, { from: 4 })).rejects.toMatchObject({
      code: "PREREQUISITE_NOT_PASSED",
    });
    await runPhases(ctx, phases, { from: 3, to: 3 });
    expect(runs).toEqual([1, 2, 3]);
    await runPhases(ctx, phases, { only: 2, force: true });
    expect(runs).toEqual([1, 2, 3, 2]);
    await expect(runPhases(ctx, phases, { only: 2, from: 1 })).rejects.toMatchObject({ code: "BAD_FLAG" });
    await expect(runPhases(ctx, phases, { from: 4, to: 2 })).rejects.toMatchObject({ code: "BAD_FLAG" });
  });

  it("stops at a failing gate, records {code, message, hint}, and runs nothing after it", async () => {
    const ctx = await createTestContext();
    const { phases, runs } = fakePhases(3, { 2: { fail: () => true } });
    const report = await runPhases(ctx, phases, {});
    expect(report.status).toBe("failed");
    expect(report.error?.exitCode).toBe(1);
    expect(runs).toEqual([1, 2]);
    expect(report.phases.map((p) => p.type)).toEqual(["passed", "failed", "not-reached"]);
    const record = (await readState(ctx.state.file))?.phases["2"];
    expect(record).toMatchObject({ status: "failed", error: { code: "GATE_P2_OK", hint: "fix it" } });
    expect(record?.error?.message).toContain("phase 2 gate says no");
  });

  it("a phase that is not implemented fails and never passes", async () => {
    const ctx = await createTestContext();
    const { phases } = fakePhases(1);
    const broken: Phase = {
      ...(phases[0] as Phase),
      run: async () => {
        throw new NotImplementedError("phase 1 (p1)");
      },
    };
    const report = await runPhases(ctx, [broken], {});
    expect(report.status).toBe("failed");
    expect(ctx.state.phase(1)).toMatchObject({ status: "failed", error: { code: "NOT_IMPLEMENTED" } });
  });

  it("dry-run changes nothing and says why each phase would run", async () => {
    const ctx = await createTestContext();
    const { phases, runs } = fakePhases(2);
    const report = await runPhases(ctx, phases, { dryRun: true });
    expect(runs).toEqual([]);
    expect(report.phases).toEqual([
      { id: 1, type: "would-run", reason: "never run" },
      // A phase never run says so, not that an earlier phase would re-run.
      { id: 2, type: "would-run", reason: "never run" },
    ]);
    expect(await readState(ctx.state.file)).toBeUndefined();
  });

  it("an abort marks the running phase interrupted; the next run picks it up", async () => {
    const controller = new AbortController();
    const ctx = await createTestContext({ signal: controller.signal });
    const { phases } = fakePhases(3, {
      2: {
        run: async (c) =>
          new Promise((_resolve, reject) => {
            c.signal.addEventListener("abort", () =>
              reject(Object.assign(new Error("aborted"), { name: "AbortError" })),
            );
            controller.abort();
          }),
      },
    });
    const report = await runPhases(ctx, phases, {});
    expect(report.status).toBe("interrupted");
    expect(report.error?.exitCode).toBe(130);
    expect((await readState(ctx.state.file))?.phases["2"]?.status).toBe("interrupted");

    const resumed = await createTestContext({ dir: ctx.loaded.baseDir });
    const again = fakePhases(3);
    const next = await runPhases(resumed, again.phases, {});
    expect(next.phases.map((p) => p.type)).toEqual(["skipped", "passed", "passed"]);
    expect(next.phases[1]).toMatchObject({ reason: "interrupted last time" });
  });
});

describe("a transient failure never invalidates passed work", () => {
  it("a failed preflight (Docker briefly unreachable) leaves later phases passed; plan and the retry skip them", async () => {
    const ctx = await createTestContext();
    let dockerUp = true;
    const { phases, runs } = fakePhases(4, { 1: { fail: () => !dockerUp } });
    await runPhases(ctx, phases, {});
    dockerUp = false;
    const failed = await runPhases(ctx, phases, { only: 1, force: true });
    expect(failed.status).toBe("failed");
    expect([2, 3, 4].map((id) => ctx.state.phase(id).status)).toEqual(["passed", "passed", "passed"]);

    const plan = await runPhases(ctx, phases, { dryRun: true });
    expect(plan.phases.map((p) => p.type)).toEqual(["would-run", "skipped", "skipped", "skipped"]);
    expect(plan.phases[0]).toMatchObject({ reason: "failed last time (GATE_P1_OK)" });

    dockerUp = true;
    const retry = await runPhases(ctx, phases, {});
    expect(retry.phases.map((p) => p.type)).toEqual(["passed", "skipped", "skipped", "skipped"]);
    expect(runs).toEqual([1, 2, 3, 4, 1, 1]);
  });

  it("inputs that read differently while a dependency is down, then come back, re-run only that phase", async () => {
    const ctx = await createTestContext();
    let imageId = "sha256:aaa";
    const { phases, runs } = fakePhases(4, {
      2: { input: () => ({ imageId }), fail: () => imageId === "missing" },
    });
    await runPhases(ctx, phases, {});
    imageId = "missing"; // the engine does not answer: the image looks absent
    expect((await runPhases(ctx, phases, {})).status).toBe("failed");
    expect([3, 4].map((id) => ctx.state.phase(id).status)).toEqual(["passed", "passed"]);
    imageId = "sha256:aaa";
    const back = await runPhases(ctx, phases, {});
    expect(back.phases.map((p) => p.type)).toEqual(["skipped", "passed", "skipped", "skipped"]);
    expect(runs).toEqual([1, 2, 3, 4, 2, 2]);
  });

  it("an interrupted phase that then passes over new inputs still makes the later phases stale", async () => {
    const ctx = await createTestContext();
    let version = 1;
    let interrupt = false;
    const controller = new AbortController();
    const options = {
      2: {
        input: () => ({ version }),
        run: async () => {
          if (interrupt) {
            controller.abort();
            throw Object.assign(new Error("aborted"), { name: "AbortError" });
          }
        },
      },
    };
    const { phases } = fakePhases(4, options);
    await runPhases(ctx, phases, {});
    version = 2;
    interrupt = true;
    const killed = await createTestContext({ dir: ctx.loaded.baseDir, signal: controller.signal });
    expect((await runPhases(killed, phases, {})).status).toBe("interrupted");
    // Nothing later is stale yet: phase 2 has not produced anything new.
    expect(killed.state.phase(3).status).toBe("passed");
    interrupt = false;
    const resumed = await createTestContext({ dir: ctx.loaded.baseDir });
    const report = await runPhases(resumed, phases, {});
    expect(report.phases.map((p) => p.type)).toEqual(["skipped", "passed", "passed", "passed"]);
    expect(report.phases[2]).toMatchObject({ reason: "an earlier phase re-ran (phase 2)" });
  });
});

describe("plan writes nothing", () => {
  it("even when a phase's inputs cannot be read", async () => {
    const ctx = await createTestContext();
    const { phases } = fakePhases(3);
    await runPhases(ctx, phases, {});
    const before = await readFile(ctx.state.file, "utf8");
    const broken = fakePhases(3, {
      2: {
        input: () => {
          throw new Error("docker: Cannot connect to the Docker daemon");
        },
      },
    });
    const plan = await runPhases(ctx, broken.phases, { dryRun: true });
    expect(plan.status).toBe("failed");
    expect(await readFile(ctx.state.file, "utf8")).toBe(before);
  });
});

describe("a retry that makes its product anew", () => {
  it("marks later phases stale even over unchanged inputs (an endpoint re-created after a failure)", async () => {
    const ctx = await createTestContext();
    let failing = false;
    const { phases, runs } = fakePhases(4, {
      2: { fail: () => failing, outcome: () => (failing ? "checked" : "created") },
    });
    await runPhases(ctx, phases, {});
    failing = true;
    expect((await runPhases(ctx, phases, { only: 2, force: true })).status).toBe("failed");
    expect(ctx.state.phase(3).status).toBe("passed");
    failing = false;
    const report = await runPhases(ctx, phases, {});
    expect(report.phases.map((p) => p.type)).toEqual(["skipped", "passed", "passed", "passed"]);
    expect(report.phases[2]).toMatchObject({ reason: "an earlier phase re-ran (phase 2)" });
    expect(runs).toEqual([1, 2, 3, 4, 2, 2, 3, 4]);
  });
});
