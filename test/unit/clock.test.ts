import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/engine/clock.js";

describe("systemClock.sleep", () => {
  it("waits the time asked", async () => {
    const started = Date.now();
    await systemClock.sleep(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("an abort ends it at once with the signal's own reason, not Node's AbortError", async () => {
    const stop = new AbortController();
    const reason = new Error("interrupted");
    setTimeout(() => stop.abort(reason), 10);
    const started = Date.now();
    await expect(systemClock.sleep(10_000, stop.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("an already aborted signal rejects without waiting", async () => {
    const stop = new AbortController();
    stop.abort(new Error("already"));
    await expect(systemClock.sleep(10_000, stop.signal)).rejects.toThrow("already");
  });
});
