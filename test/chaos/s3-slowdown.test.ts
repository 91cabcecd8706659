import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { syntheticPng } from "../../src/checks/artifacts.js";
import { integrationPhase } from "../../src/phases/09-integration.js";
import { createTestContext, phases5To8, runThrough, type TestContext } from "../aws/support/context.js";
import { useMoto } from "../support/use-moto.js";

/**
 * S3 answering SlowDown (503) to phase 9's uploads and reads, injected by the local AWS
 * (POST /local-sagemaker/faults). A burst: phase 9 passes through the SDK's retries, each task
 * submitted once. Longer than the retries: phase 9 fails saying S3 slowed it down and what to do;
 * once S3 recovers the rerun polls the jobs already submitted — no InferenceId is sent twice.
 */
const moto = useMoto();
const BUCKET = "gen3d-test-bucket";
const KEYS = {
  embedding: "gen3d/embeddings/sam3/abc.npy",
  mask: "gen3d/output/it/synthetic-mask.png",
  ply: "gen3d/output/it/synthetic-3d.ply",
  glb: "gen3d/output/it/synthetic-3d.glb",
};

function glb(): Buffer {
  const bytes = Buffer.alloc(20);
  bytes.write("glTF", 0, "ascii");
  bytes.writeUInt32LE(2, 4);
  bytes.writeUInt32LE(20, 8);
  return bytes;
}

/** What the container answers for each task, queued as moto's async results. */
const RESULTS = [
  {
    status: "success",
    task: "get_embedding",
    session_id: "it",
    bucket: BUCKET,
    embedding_s3_key: KEYS.embedding,
    embedding_shape: [256, 64, 64],
    cached: false,
  },
  {
    status: "success",
    task: "segment",
    session_id: "it",
    bucket: BUCKET,
    mask_s3_key: KEYS.mask,
    mask_size: [64, 96],
    confidence_score: 0.91,
    embedding_cached: true,
  },
  {
    status: "success",
    task: "generate_3d",
    session_id: "it",
    bucket: BUCKET,
    mask_s3_key: KEYS.mask,
    asset_s3_keys: { ply: KEYS.ply, glb: KEYS.glb },
  },
].map((body) => ({ data: JSON.stringify(body) }));

async function faults(method: "POST" | "GET" | "DELETE", body?: object) {
  const response = await fetch(`${moto.endpoint}/local-sagemaker/faults`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { injected: { operation: string; error: string }[] };
}

async function deployed(): Promise<TestContext> {
  const ctx = await createTestContext({ endpoint: moto.endpoint });
  await runThrough(ctx, phases5To8());
  const s3 = await ctx.aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const put = (Key: string, Body: Uint8Array | string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  await put(KEYS.embedding, Buffer.alloc(4096, 1));
  await put(KEYS.mask, syntheticPng(96, 64));
  await put(KEYS.ply, "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n0\n1\n2\n");
  await put(KEYS.glb, glb());
  return ctx;
}

/** Every InferenceId phase 9 sends, in order (middleware on its runtime client). */
async function watchSubmissions(ctx: TestContext, afterFirst?: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const runtime = (await ctx.aws.sagemakerRuntime()) as unknown as {
    middlewareStack: { add(mw: unknown, options: { step: string; name: string }): void };
  };
  runtime.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        if (context.commandName !== "InvokeEndpointAsyncCommand") return next(args);
        sent.push((args as { input: { InferenceId: string } }).input.InferenceId);
        const result = await next(args);
        if (sent.length === 1) await afterFirst?.();
        return result;
      },
    { step: "initialize", name: "watchSubmissions" },
  );
  return sent;
}

describe("S3 SlowDown during phase 9", { timeout: 180_000 }, () => {
  it("a burst on uploads and reads: phase 9 passes through the retries, each task submitted once", async () => {
    const ctx = await deployed();
    await moto.queueAsyncResults(RESULTS);
    const sent = await watchSubmissions(ctx);
    await faults("DELETE");
    await faults("POST", { operation: "PutObject", error: "SlowDown", count: 2 });
    await faults("POST", { operation: "GetObject", error: "SlowDown", count: 2 });
    await faults("POST", { operation: "HeadObject", error: "SlowDown", count: 2 });
    const outcomes = await runThrough(ctx, [integrationPhase]);
    expect(outcomes.get(9)).toMatchObject({ type: "passed" });
    const injected = (await faults("GET")).injected.map((i) => i.operation);
    expect(injected.filter((o) => o === "PutObject")).toHaveLength(2);
    expect(injected.filter((o) => o === "GetObject" || o === "HeadObject").length).toBeGreaterThanOrEqual(2);
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(3);
  });

  it("SlowDown on reads beyond the retries fails phase 9 naming it; the rerun polls the same jobs, none sent twice", async () => {
    const ctx = await deployed();
    await moto.queueAsyncResults(RESULTS);
    await faults("DELETE");
    // Reads fail from the moment the first job is submitted: its answer cannot be read.
    const sent = await watchSubmissions(ctx, async () => {
      await faults("POST", { operation: "GetObject", error: "SlowDown", count: -1 });
      await faults("POST", { operation: "HeadObject", error: "SlowDown", count: -1 });
    });
    await expect(runThrough(ctx, [integrationPhase])).rejects.toThrow();
    const phase = ctx.state.phase(9);
    expect(phase.status).toBe("failed");
    const told = `${phase.error?.message} ${phase.error?.hint}`;
    // S3 answers a HEAD with no body, so the 503 is all there is to name.
    expect(told).toMatch(/SlowDown|HTTP 503/);
    expect(phase.error?.hint ?? "", told).toMatch(/run the command again|resume|wait/i);
    const before = [...sent];
    expect(before.length).toBeGreaterThanOrEqual(1);
    await faults("DELETE");
    const outcomes = await runThrough(ctx, [integrationPhase]);
    expect(outcomes.get(9)).toMatchObject({ type: "passed" });
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(3); // the jobs submitted before the failure were polled, not resent
    expect(sent.slice(0, before.length)).toEqual(before);
  });
});
