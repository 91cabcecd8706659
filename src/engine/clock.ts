import { setTimeout as delay } from "node:timers/promises";

/** Time as phases see it: tests pass a fake one. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  /** Rejects with the signal's own reason when aborted (an InterruptedError on Ctrl-C), not Node's AbortError. */
  async sleep(ms, signal) {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
  },
};
