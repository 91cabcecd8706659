import { z } from "zod";
import { asyncJobRecord, sha256Hex } from "../../adapters/async-invoke.js";
import type { PhaseContext } from "../phase.js";

/**
 * Where phase 9 keeps the jobs it submitted, in STATE.json's artifacts, from before it waits
 * until it has every result: a killed run's `resume` polls these instead of submitting again.
 */
export const INTEGRATION_JOBS_KEY = "integrationJobs";

/**
 * The s3:// request phase 9 sent for segment (or its first task): what phase 10 submits at zero
 * to time a cold start (scaleToZero.coldStart).
 */
export const INTEGRATION_REQUEST_KEY = "integrationRequest";

export const ledgerSchema = z.object({
  runId: z.string(),
  endpointName: z.string(),
  endpointConfigName: z.string().optional(),
  imageDigest: z.string().optional(),
  /** The requests' recipe (tasks, pictures, smokeTests): jobs for another recipe are not resumed. */
  requests: z.string(),
  jobs: z.array(asyncJobRecord),
});
export type Ledger = z.infer<typeof ledgerSchema>;

export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "z")
    .toLowerCase();
  return `${stamp}-${sha256Hex(`${now.getTime()}${Math.random()}`).slice(0, 4)}`;
}

/** The ledger in STATE.json when it was kept for these very requests; else a new, empty one. */
export function openLedger(ctx: PhaseContext, current: Omit<Ledger, "runId" | "jobs">): Ledger {
  const parsed = ledgerSchema.safeParse(ctx.state.state.artifacts[INTEGRATION_JOBS_KEY]);
  const recorded = parsed.success ? parsed.data : undefined;
  if (
    recorded &&
    recorded.endpointName === current.endpointName &&
    recorded.endpointConfigName === current.endpointConfigName &&
    recorded.imageDigest === current.imageDigest &&
    recorded.requests === current.requests
  )
    return recorded;
  return { runId: newRunId(ctx.clock.now()), ...current, jobs: [] };
}
