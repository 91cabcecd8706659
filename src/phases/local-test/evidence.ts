import { z } from "zod";
import type { LocalTestRecord } from "../../spec/local-test.js";

/**
 * What phase 3 records. Phase 4 reads `imageId` (the pushed image must be the tested one) and
 * phase 6 reads `startup.secondsToHealthy`; fields added later are optional, so a record written
 * by an earlier gen3d still parses.
 */
const taskEvidence = z.object({
  ok: z.boolean(),
  ms: z.number(),
  status: z.number().optional(),
  problem: z.string().optional(),
  response: z.unknown().optional(),
  artifacts: z
    .array(z.object({ key: z.string(), kind: z.string(), ok: z.boolean(), detail: z.string() }))
    .default([]),
});
export type TaskEvidence = z.infer<typeof taskEvidence>;

export const localTestEvidence = z.object({
  imageId: z.string(),
  image: z.string(),
  boundTo: z.string(),
  startup: z.object({
    healthy: z.boolean(),
    secondsToHealthy: z.number().optional(),
    budgetSeconds: z.number(),
    exitedEarly: z.boolean(),
    exitCode: z.number().optional(),
    /** The container port /ping was sent to: 8080, as on SageMaker. */
    probedPort: z.number().optional(),
    /** What the log says the server listens on, when it says so (gunicorn, uvicorn, Flask…). */
    listening: z.array(z.object({ port: z.number(), line: z.string() })).optional(),
    /** `docker run` itself failed: the container never started (its stderr). */
    runError: z.string().optional(),
    /** This host port already answered before the container started (not a gen3d local test). */
    portInUse: z.number().optional(),
  }),
  pings: z.object({ count: z.number(), maxMs: z.number(), slow: z.number(), failed: z.number() }),
  tasks: z.record(z.string(), taskEvidence),
  alive: z
    .object({ afterSeconds: z.number(), running: z.boolean(), pingStatus: z.number().optional() })
    .optional(),
  logs: z.object({ problems: z.array(z.string()), tail: z.array(z.string()) }),
  stop: z.object({ seconds: z.number(), exitCode: z.number().optional() }).optional(),
  /** How the container got AWS credentials: never as environment values. */
  credentials: z
    .object({ via: z.enum(["endpoint", "file", "none"]), requests: z.number().optional() })
    .optional(),
});
export type LocalTestEvidence = z.infer<typeof localTestEvidence>;

/** What later phases read of this run (spec/local-test.ts); nothing when it never got healthy. */
export function handOver(evidence: LocalTestEvidence): LocalTestRecord | undefined {
  const seconds = evidence.startup.secondsToHealthy;
  if (!evidence.startup.healthy || seconds === undefined) return undefined;
  const shape = (evidence.tasks.get_embedding?.response as { embedding_shape?: unknown } | undefined)
    ?.embedding_shape;
  const embeddingShape =
    Array.isArray(shape) && shape.every((n) => typeof n === "number") ? (shape as number[]) : undefined;
  return {
    testedImageId: evidence.imageId,
    secondsToHealthy: seconds,
    ...(embeddingShape ? { embeddingShape } : {}),
  };
}
