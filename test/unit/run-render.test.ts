import { describe, expect, it } from "vitest";
import { RepeatThrottle } from "../../src/engine/progress.js";
import { gate, type Phase } from "../../src/phases/phase.js";
import { runPhases } from "../../src/phases/runner.js";
import { createTestContext } from "../support/context.js";
import { fakeClock } from "../support/fakes.js";

/** Two phases; phase 2 polls 60 times a second apart, as phase 3 waits for /ping. */
function pollingPhases(options: { fail?: boolean } = {}): Phase[] {
  return [1, 2].map((id) => ({
    id,
    name: `p${id}`,
    title: `Phase ${id}`,
    inputs: async () => ({ id }),
    run: async (ctx) => {
      if (id === 2) {
        for (let s = 0; s < 60; s++) {
          ctx.progress(`waiting for /ping (elapsed ${s} s / limit 60 s)`);
          await ctx.clock.sleep(1000, ctx.signal);
        }
        ctx.progress("container answered /ping");
      }
      return { evidence: {}, outcome: "created" };
    },
    verify: async () => [gate(`p${id}.ok`, "ok", options.fail ? "fail" : "pass", "fine")],
  }));
}

describe("plain run lines (no terminal, or --json)", () => {
  it("one line per phase start, finish and skip; polling progress at most one line per interval", async () => {
    const ctx = await createTestContext();
    const first = await runPhases(ctx, pollingPhases(), {});
    expect(first.status).toBe("passed");
    const out = ctx.output.stderr;
    expect(out).not.toMatch(/\[(STARTED|SKIPPED|OUTPUT|COMPLETED)\]/);
    expect(out).toContain("phase 1 p1: started — never run\n");
    expect(out).toMatch(/^phase 2 p2: passed in 1m00s — created$/m);
    const waits = out.split("\n").filter((l) => l.includes("waiting for /ping"));
    // 60 polls over 60 s at the default 10 s: 6 lines, not 60.
    expect(waits.length).toBeLessThanOrEqual(7);
    expect(waits.length).toBeGreaterThanOrEqual(5);
    expect(out).toContain("phase 2 p2: container answered /ping\n");

    ctx.output.stderr = "";
    await runPhases(ctx, pollingPhases(), {});
    expect(ctx.output.stderr).toMatch(/^phase 1 p1: skipped — passed \S+, inputs unchanged/m);
    expect(ctx.output.stderr.split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("--json runs print the same lines on stderr, and stdout stays empty", async () => {
    const ctx = await createTestContext();
    const json = { ...ctx, io: { ...ctx.io, json: true, isTTY: true } };
    const report = await runPhases(json, pollingPhases({ fail: true }), {});
    expect(report.status).toBe("failed");
    expect(ctx.output.stderr).toContain("phase 1 p1: started — never run\n");
    expect(ctx.output.stderr).toContain("phase 1 p1: failed\n");
    expect(ctx.output.stdout).toBe("");
  });

  it("plan prints nothing while it walks", async () => {
    const ctx = await createTestContext();
    await runPhases(ctx, pollingPhases(), { dryRun: true });
    expect(ctx.output.stderr).toBe("");
  });

  it("RepeatThrottle shows a new kind of line at once and holds repeats back until the interval", () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const throttle = new RepeatThrottle((l) => lines.push(l), clock, 10_000);
    throttle.offer("waiting 1 s");
    clock.advance(1000);
    throttle.offer("waiting 2 s");
    throttle.offer("pushing layer 3f2a91c0 of 4");
    throttle.offer("waiting 3 s");
    clock.advance(1000);
    throttle.offer("waiting 4 s");
    throttle.flush();
    expect(lines).toEqual(["waiting 1 s", "pushing layer 3f2a91c0 of 4", "waiting 4 s"]);

    // A poll that alternates two lines: each at most once per interval, not every other line.
    const alternating: string[] = [];
    const poll = new RepeatThrottle((l) => alternating.push(l), clock, 10_000);
    for (let s = 0; s < 30; s++) {
      poll.offer(`polling job ${s}`);
      poll.offer(`1 instance after ${s} s`);
      clock.advance(1000);
    }
    expect(alternating).toHaveLength(6);
  });
});
