/**
 * Phase 9 (and phase 10's cold start) against moto: InvokeEndpointAsync writes the results queued
 * with `moto.queueAsyncResults` to the endpoint's S3OutputPath/S3FailurePath, and the test puts the
 * artifacts those results name (mask PNG, embedding, .ply/.glb) where the container would.
 */

import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { parseS3Uri } from "../../src/adapters/s3.js";
import { syntheticPng } from "../../src/checks/artifacts.js";
import type { IntegrationEvidence } from "../../src/checks/integration.js";
import {
  INTEGRATION_JOBS_KEY,
  INTEGRATION_REQUEST_KEY,
  integrationPhase,
} from "../../src/phases/09-integration.js";
import { createScaleToZeroPhase } from "../../src/phases/10-scale-to-zero.js";
import type { AsyncResult } from "../support/moto/moto.js";
import { useMoto } from "../support/use-moto.js";
import {
  createTestContext,
  phases5To8,
  runThrough,
  type TestContext,
  testConfig,
} from "./support/context.js";

const moto = useMoto();
const BUCKET = "gen3d-test-bucket";
const ENDPOINT = "gen3d-test-async";
const PHASES_5_TO_8 = phases5To8();

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

const PLY = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n0\n1\n2\n";

/** What the container answers for each task (container/gen3d_serving/service.py). */
function responses(overrides: { maskCached?: boolean; embeddingShape?: number[] } = {}) {
  return {
    get_embedding: {
      status: "success",
      task: "get_embedding",
      session_id: "it",
      bucket: BUCKET,
      embedding_s3_key: KEYS.embedding,
      embedding_shape: overrides.embeddingShape ?? [256, 64, 64],
      cached: false,
    },
    segment: {
      status: "success",
      task: "segment",
      session_id: "it",
      bucket: BUCKET,
      mask_s3_key: KEYS.mask,
      mask_size: [64, 96],
      confidence_score: 0.91,
      embedding_cached: overrides.maskCached ?? true,
    },
    generate_3d: {
      status: "success",
      task: "generate_3d",
      session_id: "it",
      bucket: BUCKET,
      mask_s3_key: KEYS.mask,
      asset_s3_keys: { ply: KEYS.ply, glb: KEYS.glb },
    },
  };
}

const ok = (body: unknown): AsyncResult => ({ data: JSON.stringify(body) });

async function deployed(
  options: { config?: Parameters<typeof testConfig>[1]; mask?: Buffer } = {},
): Promise<TestContext> {
  const ctx = await createTestContext({
    endpoint: moto.endpoint,
    ...(options.config ? { config: testConfig(moto.endpoint, options.config) } : {}),
  });
  await runThrough(ctx, PHASES_5_TO_8);
  const s3 = await ctx.aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const put = (Key: string, Body: Uint8Array | string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  await put(KEYS.embedding, Buffer.alloc(4096, 1));
  await put(KEYS.mask, options.mask ?? syntheticPng(96, 64));
  await put(KEYS.ply, PLY);
  await put(KEYS.glb, glb());
  return ctx;
}

interface InvokeInput {
  EndpointName: string;
  InputLocation: string;
  InferenceId: string;
  ContentType: string;
  InvocationTimeoutSeconds: number;
}

/**
 * Watches InvokeEndpointAsync on the context's runtime client: records each request, and lets a
 * test act before the call is sent or after its answer (a crash, a lost output object).
 */
async function watchInvokes(
  ctx: TestContext,
  hooks: {
    before?: (input: InvokeInput, n: number) => Promise<void> | void;
    after?: (output: { OutputLocation: string; FailureLocation?: string }, n: number) => Promise<void> | void;
  } = {},
) {
  const sent: InvokeInput[] = [];
  const runtime = (await ctx.aws.sagemakerRuntime()) as unknown as {
    middlewareStack: { add(mw: unknown, options: { step: string; name: string }): void };
  };
  runtime.middlewareStack.add(
    (next: (args: unknown) => Promise<{ output: unknown }>, context: { commandName?: string }) =>
      async (args: unknown) => {
        if (context.commandName !== "InvokeEndpointAsyncCommand") return next(args);
        const input = (args as { input: InvokeInput }).input;
        await hooks.before?.(input, sent.length);
        sent.push(input);
        const result = await next(args);
        await hooks.after?.(result.output as { OutputLocation: string }, sent.length - 1);
        return result;
      },
    { step: "initialize", name: `watchInvokes${Math.random()}` },
  );
  return sent;
}

const crash = (ctx: TestContext) => {
  ctx.abort.abort();
};

function evidenceOf(ctx: TestContext): IntegrationEvidence {
  return (ctx.state.phase(9).evidence as { run: IntegrationEvidence }).run;
}

function gatesOf(ctx: TestContext): Array<[string, string]> {
  return (ctx.state.phase(9).evidence as { gates: { id: string; status: string }[] }).gates.map((g) => [
    g.id,
    g.status,
  ]);
}

async function readJson(ctx: TestContext, uri: string) {
  const { bucket, key } = parseS3Uri(uri);
  const out = await (await ctx.aws.s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await (out.Body?.transformToString() ?? Promise.resolve("null")));
}

describe("phase 9: integration through the async endpoint (moto)", () => {
  it("submits every task once, waits for its output and parses it and the artifacts it names", async () => {
    const ctx = await deployed();
    const r = responses();
    await moto.queueAsyncResults([ok(r.get_embedding), ok(r.segment), ok(r.generate_3d)]);
    const sent = await watchInvokes(ctx);

    const outcomes = await runThrough(ctx, [integrationPhase]);
    expect(outcomes.get(9)).toMatchObject({ type: "passed", outcome: "3 of 3 task(s) answered" });

    const evidence = evidenceOf(ctx);
    const { runId } = evidence;
    expect(runId).toMatch(/^\d{8}t\d{6}z-[0-9a-f]{4}$/);
    expect(sent.map((s) => [s.EndpointName, s.InferenceId, s.InputLocation, s.ContentType])).toEqual(
      ["get_embedding", "segment", "generate_3d"].map((task) => [
        ENDPOINT,
        `gen3d-${runId}-${task}`,
        `s3://${BUCKET}/gen3d/input/${runId}/${task}.json`,
        "application/json",
      ]),
    );
    expect(sent[0]?.InvocationTimeoutSeconds).toBe(900);

    // The request bodies are what the container's /invocations takes; segment's mask feeds generate_3d.
    const embedRequest = await readJson(ctx, sent[0]?.InputLocation ?? "");
    const segmentRequest = await readJson(ctx, sent[1]?.InputLocation ?? "");
    const generateRequest = await readJson(ctx, sent[2]?.InputLocation ?? "");
    expect(segmentRequest).toMatchObject({
      task: "segment",
      bucket: BUCKET,
      prompt_type: "point",
      point: [48, 32],
      point_label: 1,
      session_id: `gen3d-it-${runId}`,
    });
    expect(segmentRequest.image_s3_key).toBe(embedRequest.image_s3_key);
    expect(embedRequest.image_s3_key).toMatch(
      new RegExp(`^gen3d/input/${runId}/images/[0-9a-f]{16}-synthetic\\.png$`),
    );
    expect(generateRequest).toMatchObject({ task: "generate_3d", mask_s3_key: KEYS.mask });

    for (const task of ["get_embedding", "segment", "generate_3d"]) {
      const t = evidence.tasks[task];
      expect(t).toMatchObject({
        outcome: "output",
        resumed: false,
        atZero: false,
        instancesAtSubmit: 1,
        endpointConfigName: ctx.state.state.artifacts.endpointConfigName,
      });
      expect(t?.outputLocation).toMatch(new RegExp(`^s3://${BUCKET}/gen3d/output/.+\\.out$`));
      expect(t?.latencySeconds).toBeGreaterThanOrEqual(0);
      expect(t?.problem).toBeUndefined();
    }
    expect(evidence.tasks.segment?.artifacts).toEqual([
      { key: KEYS.mask, kind: "mask", ok: true, detail: "PNG 96×64 for a 96×64 image" },
    ]);
    expect(evidence.tasks.generate_3d?.artifacts.map((a) => a.detail)).toEqual([
      "PLY ascii, 3 vertices",
      "glTF 2, 20 bytes",
    ]);
    expect(evidence.imageDigest).toBe(ctx.state.state.artifacts.imageDigest);
    expect(evidence.sharedImage).toBe(true);
    expect(gatesOf(ctx)).toEqual([
      ["integration.bound-to-deployment", "pass"],
      ["integration.task.get_embedding", "pass"],
      ["integration.task.segment", "pass"],
      ["integration.task.generate_3d", "pass"],
      ["integration.embedding-shape", "not-checked"],
      ["integration.embedding-reuse", "pass"],
    ]);
    // Every job has its result: nothing is left for a resume to poll.
    expect(ctx.state.state.artifacts[INTEGRATION_JOBS_KEY]).toBeUndefined();

    // `gen3d verify --phase 9` reads the recorded evidence; a redeployed config makes it stale.
    expect((await integrationPhase.verify(ctx)).every((g) => g.status !== "fail")).toBe(true);
    await ctx.state.setArtifacts({ endpointConfigName: "gen3d-test-cfg-000000000000" });
    const stale = await integrationPhase.verify(ctx);
    expect(stale.find((g) => g.id === "integration.bound-to-deployment")).toMatchObject({
      status: "fail",
      hint: expect.stringMatching(/--from 9/),
    });
  });

  it("ends with the failure object's content, the endpoint's log tail and a hint when the container errors", async () => {
    const ctx = await deployed();
    const r = responses();
    const failure = {
      status: "error",
      error: { code: "internal_error", message: "decoder exploded", error_id: "e-1234" },
    };
    await moto.queueAsyncResults([ok(r.get_embedding), { data: JSON.stringify(failure), isFailure: true }]);
    const logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint });
    const group = `/aws/sagemaker/Endpoints/${ENDPOINT}`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "AllTraffic/i-1" }));
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: "AllTraffic/i-1",
        logEvents: [{ timestamp: Date.now(), message: '{"level": "ERROR", "error_id": "e-1234"}' }],
      }),
    );
    const sent = await watchInvokes(ctx);

    await expect(runThrough(ctx, [integrationPhase])).rejects.toMatchObject({
      code: "GATE_INTEGRATION_TASK_SEGMENT",
    });
    // generate_3d has no mask to work from: not submitted.
    expect(sent).toHaveLength(2);
    const record = ctx.state.phase(9);
    expect(record.status).toBe("failed");
    expect(record.error?.message).toMatch(
      /segment failed \(gen3d-.+-segment\): the container answered internal_error: decoder exploded/,
    );
    const details = record.error?.details?.join("\n") ?? "";
    expect(details).toMatch(/failure object s3:\/\/gen3d-test-bucket\/gen3d\/failures\/.+-error\.out/);
    expect(details).toMatch(/"error_id": "e-1234"/);
    expect(details).toMatch(/endpoint log \(last lines\):[\s\S]*\[i-1\] \{"level": "ERROR"/);
    expect(record.error?.hint).toMatch(/error id .* failure object/);
    const evidence = evidenceOf(ctx);
    expect(evidence.tasks.segment).toMatchObject({ outcome: "failure" });
    expect(evidence.tasks.generate_3d).toMatchObject({ outcome: "not-run" });
    expect(gatesOf(ctx)).toContainEqual(["integration.task.get_embedding", "pass"]);
    expect(ctx.state.state.artifacts[INTEGRATION_JOBS_KEY]).toBeUndefined();
  });

  it("reads the results it gets: a mask of the wrong size, an embedding not reused, another embedding shape", async () => {
    const ctx = await deployed({ mask: syntheticPng(10, 10) });
    // Phase 3 saw another shape from the same image.
    await ctx.state.setArtifacts({
      localTest: { testedImageId: "sha256:tested", secondsToHealthy: 3, embeddingShape: [256, 32, 32] },
    });
    const r = responses({ maskCached: false });
    await moto.queueAsyncResults([
      ok(r.get_embedding),
      ok(r.segment),
      ok({ status: "success", task: "generate_3d" }),
    ]);

    await expect(runThrough(ctx, [integrationPhase])).rejects.toMatchObject({
      code: "GATE_INTEGRATION_TASK_SEGMENT",
    });
    const record = ctx.state.phase(9);
    expect(record.error?.message).toMatch(
      /mask gen3d\/output\/it\/synthetic-mask\.png: PNG 10×10 for a 96×64 image/,
    );
    expect(gatesOf(ctx)).toEqual([
      ["integration.bound-to-deployment", "pass"],
      ["integration.task.get_embedding", "pass"],
      ["integration.task.segment", "fail"],
      ["integration.task.generate_3d", "fail"],
      ["integration.embedding-shape", "fail"],
      ["integration.embedding-reuse", "fail"],
    ]);
    expect(evidenceOf(ctx).tasks.generate_3d?.problem).toMatch(/segment did not succeed/);
    expect(record.error?.details?.join("\n")).toMatch(
      /shape \[256, 64, 64\] on the endpoint, \[256, 32, 32\] in the local test/,
    );
  });

  it("an output that breaks the contract fails with the field that is wrong", async () => {
    const ctx = await deployed({
      config: (raw) => {
        (raw.models as { enabled?: boolean }[])[1] = {
          ...(raw.models as object[])[1],
          enabled: false,
        } as never;
      },
    });
    await moto.queueAsyncResults([
      ok({ status: "success", task: "get_embedding", session_id: "it" }),
      ok(responses().segment),
    ]);
    await expect(runThrough(ctx, [integrationPhase])).rejects.toMatchObject({
      code: "GATE_INTEGRATION_TASK_GET_EMBEDDING",
    });
    expect(ctx.state.phase(9).error?.message).toMatch(
      /does not match the get_embedding contract: embedding_s3_key/,
    );
    expect(Object.keys(evidenceOf(ctx).tasks)).toEqual(["get_embedding", "segment"]);
  });

  it("times out with the cause when the endpoint is at zero and never scales out", async () => {
    const ctx = await deployed({
      config: (raw) => Object.assign(raw, { timeouts: { invocationSeconds: 120 } }),
    });
    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 0, desiredInstanceCount: 0 });
    const s3 = await ctx.aws.s3();
    // Nothing processes the job: its output never appears.
    const sent = await watchInvokes(ctx, {
      after: async (out) => {
        const { bucket, key } = parseS3Uri(out.OutputLocation);
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      },
    });
    await moto.queueAsyncResults([ok(responses().get_embedding)]);

    await expect(runThrough(ctx, [integrationPhase])).rejects.toMatchObject({
      code: "GATE_INTEGRATION_TASK_GET_EMBEDDING",
    });
    expect(sent).toHaveLength(1);
    const record = ctx.state.phase(9);
    expect(record.error?.message).toMatch(
      /no result after 2m0\ds: the endpoint was at 0 instances and never scaled out/,
    );
    expect(record.error?.hint).toMatch(/HasBacklogWithoutCapacity.*phase 8/);
    const evidence = evidenceOf(ctx);
    expect(evidence.tasks.get_embedding).toMatchObject({ outcome: "timeout", atZero: true, maxInstances: 0 });
    expect(evidence.tasks.segment).toMatchObject({
      outcome: "not-run",
      problem: expect.stringMatching(/timed out first/),
    });
    // The wait polled with a backoff, not a busy loop.
    expect(ctx.clock.slept.length).toBeLessThan(40);
    expect(
      ctx.progressLines.some((l) =>
        /get_embedding: waiting for gen3d-.* · 0 instance\(s\) \(desired 0\)/.test(l),
      ),
    ).toBe(true);
  });

  it("after a crash while waiting, resume polls the recorded job: no second submission, no second upload", async () => {
    const ctx = await deployed();
    const r = responses();
    await moto.queueAsyncResults([ok(r.get_embedding), ok(r.segment), ok(r.generate_3d)]);
    const mark = ctx.log.mark();
    // Killed right after InvokeEndpointAsync answered, before any wait.
    const first = await watchInvokes(ctx, { after: () => crash(ctx) });
    await expect(runThrough(ctx, [integrationPhase])).rejects.toThrow(/interrupted/);
    expect(first).toHaveLength(1);
    expect(ctx.state.phase(9).status).toBe("interrupted");
    const ledger = ctx.state.state.artifacts[INTEGRATION_JOBS_KEY] as {
      runId: string;
      jobs: { task: string; inferenceId: string; outputLocation?: string }[];
    };
    expect(ledger.jobs).toEqual([
      expect.objectContaining({
        task: "get_embedding",
        inferenceId: first[0]?.InferenceId,
        outputLocation: expect.stringMatching(/\.out$/),
      }),
    ]);
    // Phase 9's own record shows the job in flight, too.
    expect(ctx.state.phase(9).evidence).toEqual({
      inFlight: {
        runId: ledger.runId,
        jobs: [expect.objectContaining({ inferenceId: first[0]?.InferenceId })],
      },
    });
    const putsBefore = ctx.log.since(mark).filter((c) => c === "S3:PutObject").length;

    // `gen3d resume`: a new process on the same STATE.json.
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
    });
    const second = await watchInvokes(resumed);
    await runThrough(resumed, [integrationPhase]);
    expect(resumed.state.phase(9).status).toBe("passed");
    expect(second.map((s) => s.InferenceId)).toEqual([
      `gen3d-${ledger.runId}-segment`,
      `gen3d-${ledger.runId}-generate_3d`,
    ]);
    const evidence = evidenceOf(resumed);
    expect(evidence.runId).toBe(ledger.runId);
    expect(evidence.tasks.get_embedding).toMatchObject({ resumed: true, inferenceId: first[0]?.InferenceId });
    expect(evidence.tasks.segment).toMatchObject({ resumed: false, inputUploaded: true });
    // The picture was uploaded by the first run; the resumed one uploads only the two new requests.
    expect(putsBefore).toBe(2);
    expect(resumed.log.calls.filter((c) => c === "S3:PutObject")).toHaveLength(2);
    expect(resumed.log.calls.filter((c) => c === "SageMakerRuntime:InvokeEndpointAsync")).toHaveLength(2);
  });

  it("does not resume jobs made for other requests: a changed smoke test starts a new run", async () => {
    const ctx = await deployed();
    const r = responses();
    await moto.queueAsyncResults([
      ok(r.get_embedding),
      ok(r.get_embedding),
      ok(r.segment),
      ok(r.generate_3d),
    ]);
    await watchInvokes(ctx, { after: () => crash(ctx) });
    await expect(runThrough(ctx, [integrationPhase])).rejects.toThrow(/interrupted/);
    const before = (ctx.state.state.artifacts[INTEGRATION_JOBS_KEY] as { runId: string }).runId;

    await writeFile(path.join(ctx.loaded.baseDir, "other.png"), syntheticPng(96, 64));
    const config = testConfig(moto.endpoint, (raw) =>
      Object.assign(raw, { smokeTests: { segment: { image: "other.png", payload: { point: [5, 5] } } } }),
    );
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
      config,
    });
    const sent = await watchInvokes(resumed);
    await runThrough(resumed, [integrationPhase]);
    const evidence = evidenceOf(resumed);
    expect(evidence.runId).not.toBe(before);
    expect(sent.map((s) => s.InferenceId)).toEqual(
      ["get_embedding", "segment", "generate_3d"].map((t) => `gen3d-${evidence.runId}-${t}`),
    );
    expect(evidence.tasks.get_embedding?.resumed).toBe(false);
    expect(await readJson(resumed, sent[1]?.InputLocation ?? "")).toMatchObject({ point: [5, 5] });
  });

  it("a crash in the middle of InvokeEndpointAsync resubmits with the same InferenceId", async () => {
    const ctx = await deployed();
    const r = responses();
    await moto.queueAsyncResults([ok(r.get_embedding), ok(r.segment), ok(r.generate_3d)]);
    await watchInvokes(ctx, {
      before: () => {
        crash(ctx);
        throw Object.assign(new Error("killed"), { name: "AbortError" });
      },
    });
    await expect(runThrough(ctx, [integrationPhase])).rejects.toThrow(/interrupted/);
    const ledger = ctx.state.state.artifacts[INTEGRATION_JOBS_KEY] as {
      jobs: { inferenceId: string; outputLocation?: string }[];
    };
    expect(ledger.jobs).toHaveLength(1);
    expect(ledger.jobs[0]?.outputLocation).toBeUndefined();

    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
    });
    const sent = await watchInvokes(resumed);
    await runThrough(resumed, [integrationPhase]);
    expect(sent[0]?.InferenceId).toBe(ledger.jobs[0]?.inferenceId);
    expect(resumed.state.phase(9).status).toBe("passed");
  });
});

describe("phase 10: the cold start asked by the config", () => {
  const scaleToZero = createScaleToZeroPhase({ pollSeconds: 30 });

  it("submits phase 9's segment request at zero and records request → result", async () => {
    const ctx = await deployed({ config: (raw) => Object.assign(raw, { scaleToZero: { coldStart: true } }) });
    const r = responses();
    await moto.queueAsyncResults([ok(r.get_embedding), ok(r.segment), ok(r.generate_3d)]);
    await runThrough(ctx, [integrationPhase]);
    const segmentRequest = evidenceOf(ctx).tasks.segment?.inputLocation;
    // Handed on as a declared artifact (phase 9 produces it, phase 10 needs it).
    expect(ctx.state.state.artifacts[INTEGRATION_REQUEST_KEY]).toBe(segmentRequest);

    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 0, desiredInstanceCount: 0 });
    const sent = await watchInvokes(ctx);
    await runThrough(ctx, [scaleToZero]);
    expect(sent.map((s) => s.InputLocation)).toEqual([segmentRequest]);
    expect(sent[0]?.InferenceId).toMatch(/^gen3d-cold-/);
    const run = (ctx.state.phase(10).evidence as { run: { coldStart: Record<string, unknown> } }).run;
    expect(run.coldStart).toMatchObject({
      inferenceId: sent[0]?.InferenceId,
      inputLocation: segmentRequest,
      instancesAtSubmit: 0,
      resumed: false,
      outputLocation: expect.stringMatching(/\.out$/),
    });
    // moto has no emulator control API: no breakdown, and no error for its absence.
    expect(run.coldStart.breakdown).toBeUndefined();
    expect(ctx.state.state.artifacts.coldStartJob).toBeUndefined();
  });

  it("after a crash with the cold-start job submitted, resume polls it instead of waiting for zero again", async () => {
    const ctx = await deployed({ config: (raw) => Object.assign(raw, { scaleToZero: { coldStart: true } }) });
    const r = responses();
    await moto.queueAsyncResults([ok(r.get_embedding), ok(r.segment), ok(r.generate_3d)]);
    await runThrough(ctx, [integrationPhase]);
    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 0, desiredInstanceCount: 0 });
    const first = await watchInvokes(ctx, { after: () => crash(ctx) });
    await expect(runThrough(ctx, [scaleToZero])).rejects.toThrow(/interrupted/);
    expect(first).toHaveLength(1);
    expect(ctx.state.state.artifacts.coldStartJob).toMatchObject({
      inferenceId: first[0]?.InferenceId,
      instancesAtSubmit: 0,
      outputLocation: expect.stringMatching(/\.out$/),
    });

    // The job scaled the endpoint out meanwhile.
    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 1, desiredInstanceCount: 1 });
    const resumed = await createTestContext({
      endpoint: moto.endpoint,
      dir: ctx.loaded.baseDir,
      upstream: false,
      config: ctx.config,
    });
    const second = await watchInvokes(resumed);
    await runThrough(resumed, [scaleToZero]);
    expect(second).toEqual([]);
    const run = (
      resumed.state.phase(10).evidence as { run: { coldStart: Record<string, unknown>; polls: number } }
    ).run;
    expect(run.coldStart).toMatchObject({
      inferenceId: first[0]?.InferenceId,
      resumed: true,
      instancesAtSubmit: 0,
    });
    expect(run.polls).toBe(0);
    expect(resumed.state.state.artifacts.coldStartJob).toBeUndefined();
  });

  it("reads the request from the artifact phase 9 leaves, not from phase 9's evidence", async () => {
    const ctx = await deployed({ config: (raw) => Object.assign(raw, { scaleToZero: { coldStart: true } }) });
    const r = responses();
    await moto.queueAsyncResults([ok(r.segment)]);
    const request = "s3://gen3d-test-bucket/gen3d/input/elsewhere/segment.json";
    await ctx.state.setArtifacts({ [INTEGRATION_REQUEST_KEY]: request });
    expect(ctx.state.phase(9).evidence).toBeUndefined();
    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 0, desiredInstanceCount: 0 });
    const sent = await watchInvokes(ctx);
    await runThrough(ctx, [scaleToZero]);
    expect(sent.map((s) => s.InputLocation)).toEqual([request]);
  });

  it("says what to do when the config asks for a cold start but phase 9 recorded no request", async () => {
    const ctx = await deployed({ config: (raw) => Object.assign(raw, { scaleToZero: { coldStart: true } }) });
    await moto.setInstanceCount(ENDPOINT, { currentInstanceCount: 0, desiredInstanceCount: 0 });
    await expect(runThrough(ctx, [scaleToZero])).rejects.toMatchObject({ code: "COLD_START_INPUT_MISSING" });
    expect(ctx.state.phase(10).error?.hint).toMatch(/--from 9/);
  });
});
