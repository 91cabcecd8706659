import { z } from "zod";
import {
  type AsyncJobRecord,
  isSubmitted,
  type SubmittedJob,
  sha256Hex,
  submitRecorded,
  uploadOnce,
} from "../adapters/async-invoke.js";
import { waitForJob } from "../adapters/async-wait.js";
import { createS3, s3Uri } from "../adapters/s3.js";
import { imageSize } from "../checks/image-size.js";
import {
  type IntegrationEvidence,
  type IntegrationTaskEvidence,
  integrationEvidence,
  integrationGates,
} from "../checks/integration.js";
import { endpointStillThere } from "../checks/reality-endpoint.js";
import { smokeImage, taskPayload, tasksUnderTest } from "../checks/task-results.js";
import type { TaskName } from "../config/schema.js";
import { hashValue } from "../engine/fingerprint.js";
import { formatDuration } from "../engine/progress.js";
import { localTestRecord } from "../spec/local-test.js";
import { asyncOutputPaths } from "../spec/sagemaker.js";
import { type ContractContext, definePhase, recordedRun } from "./contract.js";
import { judgeResult } from "./integration/judge.js";
import { INTEGRATION_JOBS_KEY, INTEGRATION_REQUEST_KEY, openLedger } from "./integration/ledger.js";
import { removeS3Prefixes } from "./integration/teardown.js";
import { gate, type Phase, type PhaseContext } from "./phase.js";

export { INTEGRATION_JOBS_KEY, INTEGRATION_REQUEST_KEY } from "./integration/ledger.js";

const PHASE_ID = 9;

/** What phase 9 reads from phase 7 (the endpoint) and, to name what it tested, phases 4 and 6. */
const needs = {
  endpointName: z.string().min(1),
  endpointConfigName: z.string().optional(),
  imageDigest: z.string().optional(),
  /** The embedding shape get_embedding answered in phase 3, when it ran. */
  localTest: localTestRecord.optional(),
};

/** Uploads, submits (or finds in STATE.json) and waits for each task's job, in chain order. */
async function exercise(ctx: ContractContext<typeof needs>): Promise<IntegrationEvidence> {
  const { endpointName, endpointConfigName, imageDigest } = ctx.upstream;
  const { config } = ctx;
  const tasks = tasksUnderTest(config);
  const images = new Map<TaskName, Awaited<ReturnType<typeof smokeImage>>>();
  for (const task of tasks) images.set(task, await smokeImage(ctx, task));
  const requests = hashValue({
    tasks,
    images: [...images.values()].map((i) => sha256Hex(i.bytes)),
    smokeTests: config.smokeTests,
  });
  const ledger = openLedger(ctx, { endpointName, endpointConfigName, imageDigest, requests });
  // One atomic write: the ledger resume reads, and the jobs submitted so far in phase 9's own
  // record, so `gen3d status --json` shows what is in flight while the phase runs.
  const save = async () =>
    ctx.state.update((draft) => {
      draft.artifacts[INTEGRATION_JOBS_KEY] = structuredClone(ledger);
      const record = draft.phases[String(PHASE_ID)];
      if (record)
        record.evidence = { inFlight: { runId: ledger.runId, jobs: ledger.jobs.filter(isSubmitted) } };
    });
  await save();

  const embeddingImage = images.get("get_embedding");
  const segmentImage = images.get("segment");
  const evidence: IntegrationEvidence = {
    runId: ledger.runId,
    endpointName,
    ...(endpointConfigName ? { endpointConfigName } : {}),
    ...(imageDigest ? { imageDigest } : {}),
    tasks: {},
    sharedImage:
      embeddingImage !== undefined &&
      segmentImage !== undefined &&
      sha256Hex(embeddingImage.bytes) === sha256Hex(segmentImage.bytes),
  };
  const localShape = ctx.upstream.localTest?.embeddingShape;
  if (localShape) evidence.localEmbeddingShape = localShape;

  const s3 = createS3({ aws: ctx.aws, signal: ctx.signal });
  const sagemaker = await ctx.aws.sagemaker();
  const runtime = await ctx.aws.sagemakerRuntime();
  const prefix = `${config.s3.prefixes.input}/${ledger.runId}`.replace(/^\//, "");
  const sessionId = `gen3d-it-${ledger.runId}`;
  let maskKey: string | undefined;
  let stop: string | undefined;

  for (const task of tasks) {
    const inferenceId = `gen3d-${ledger.runId}-${task}`;
    const requestKey = `${prefix}/${task}.json`;
    const notRun = (problem: string): IntegrationTaskEvidence => ({
      inferenceId,
      inputLocation: s3Uri(config.s3.bucket, requestKey),
      outcome: "not-run",
      resumed: false,
      problem,
      artifacts: [],
    });
    if (stop) {
      evidence.tasks[task] = notRun(stop);
      continue;
    }
    if (task === "generate_3d" && !maskKey) {
      evidence.tasks[task] = notRun("no mask to reconstruct from: segment did not succeed");
      continue;
    }
    const image = images.get(task) as Awaited<ReturnType<typeof smokeImage>>;
    const size = imageSize(image.bytes);
    let job: AsyncJobRecord | undefined = ledger.jobs.find((j) => j.task === task);
    const resumed = job !== undefined && isSubmitted(job);
    let inputUploaded: boolean | undefined;
    if (!job || !isSubmitted(job)) {
      // Content-addressed: get_embedding and segment share one upload of the same picture.
      const imageKey = `${prefix}/images/${sha256Hex(image.bytes).slice(0, 16)}-${image.name}`;
      await uploadOnce(
        s3,
        { bucket: config.s3.bucket, key: imageKey },
        image.bytes,
        "application/octet-stream",
      );
      const payload = taskPayload(task, {
        bucket: config.s3.bucket,
        imageKey,
        sessionId,
        image: size,
        maskKey,
        overrides: config.smokeTests[task]?.payload,
      });
      const body = Buffer.from(JSON.stringify(payload));
      inputUploaded = (
        await uploadOnce(s3, { bucket: config.s3.bucket, key: requestKey }, body, "application/json")
      ).uploaded;
      ctx.progress(`${task}: submitting ${inferenceId}`);
      job = await submitRecorded(
        { runtime, sagemaker, clock: ctx.clock, signal: ctx.signal },
        { task, inferenceId, inputLocation: s3Uri(config.s3.bucket, requestKey), endpointName },
        config.timeouts.invocationSeconds,
        async (record) => {
          ledger.jobs = [...ledger.jobs.filter((j) => j.task !== task), record];
          await save();
        },
      );
    } else {
      ctx.progress(`${task}: polling ${job.inferenceId}, submitted by an earlier run`);
    }
    const submitted = job as SubmittedJob;
    const waited = await waitForJob(
      {
        s3,
        sagemaker,
        clock: ctx.clock,
        signal: ctx.signal,
        onPoll: (p) =>
          ctx.progress(
            `${task}: waiting for ${submitted.inferenceId} · ${formatDuration(p.elapsedMs / 1000)} · ` +
              `${p.instances?.current ?? "?"} instance(s) (desired ${p.instances?.desired ?? "?"}) · ${formatDuration(p.leftMs / 1000)} left`,
          ),
      },
      submitted,
      { timeoutSeconds: config.timeouts.invocationSeconds },
    );
    const result = await judgeResult(ctx, task, submitted, waited, size, {
      inferenceId: submitted.inferenceId,
      inputLocation: submitted.inputLocation,
      outputLocation: submitted.outputLocation,
      ...(submitted.failureLocation ? { failureLocation: submitted.failureLocation } : {}),
      outcome: "output",
      submittedAt: submitted.submittedAt,
      ...(submitted.instancesAtSubmit === undefined
        ? {}
        : { instancesAtSubmit: submitted.instancesAtSubmit, atZero: submitted.instancesAtSubmit === 0 }),
      ...(submitted.endpointConfigName ? { endpointConfigName: submitted.endpointConfigName } : {}),
      resumed,
      ...(inputUploaded === undefined ? {} : { inputUploaded }),
      artifacts: [],
    });
    evidence.tasks[task] = result;
    if (result.outcome === "timeout") stop = `not submitted: ${task} timed out first`;
    if (task === "segment" && result.outcome === "output" && !result.problem) {
      maskKey = String((result.response as { mask_s3_key: string }).mask_s3_key);
    }
  }
  // Every job has its result (or timed out): the next run starts afresh.
  await ctx.state.setArtifacts({ [INTEGRATION_JOBS_KEY]: undefined });
  return evidence;
}

function recordedEvidence(ctx: PhaseContext): IntegrationEvidence | undefined {
  return recordedRun(ctx, 9, integrationEvidence);
}

/** Phase 9: every enabled task through the deployed async endpoint, results parsed. */
export const integrationPhase: Phase = definePhase({
  id: PHASE_ID,
  name: "integration",
  title: "Integration test through the endpoint",
  needs,
  produces: z.object({ [INTEGRATION_REQUEST_KEY]: z.string().min(1).optional() }),

  async inputs(ctx) {
    const { endpointName, endpointConfigName, imageDigest } = ctx.state.state.artifacts;
    const fixtures = Object.fromEntries(
      await Promise.all(
        tasksUnderTest(ctx.config).map(
          async (t) => [t, hashValue((await smokeImage(ctx, t)).bytes.toString("base64"))] as const,
        ),
      ),
    );
    return {
      endpointName: endpointName ?? null,
      endpointConfigName: endpointConfigName ?? null,
      imageDigest: imageDigest ?? null,
      fixtures,
      smokeTests: ctx.config.smokeTests,
      invocationSeconds: ctx.config.timeouts.invocationSeconds,
    };
  },

  async run(ctx) {
    const evidence = await exercise(ctx);
    const all = Object.values(evidence.tasks);
    const good = all.filter((t) => t.outcome === "output" && !t.problem).length;
    const request = (evidence.tasks.segment ?? all[0])?.inputLocation;
    return {
      evidence,
      outcome: `${good} of ${all.length} task(s) answered`,
      ...(request ? { artifacts: { [INTEGRATION_REQUEST_KEY]: request } } : {}),
    };
  },

  async verify(ctx, fresh) {
    const evidence = fresh ? integrationEvidence.parse(fresh.evidence) : recordedEvidence(ctx);
    if (!evidence) {
      return [
        gate(
          "integration.evidence",
          "integration evidence recorded",
          "fail",
          "phase 9 has no recorded evidence",
          {
            hint: "Run it: `gen3d deploy --from 9`.",
          },
        ),
      ];
    }
    const { endpointConfigName, imageDigest } = ctx.upstream;
    return integrationGates(evidence, tasksUnderTest(ctx.config), { endpointConfigName, imageDigest });
  },

  /** The endpoint the jobs went through still exists. */
  async reality(ctx) {
    return endpointStillThere(ctx, ctx.upstream.endpointName);
  },

  /** With --delete-s3: gen3d's prefixes that hold async output, failures and embeddings. */
  async teardown(ctx, options) {
    if (!options.deleteS3) return [];
    const paths = asyncOutputPaths(ctx.config);
    const embeddings = `s3://${ctx.config.s3.bucket}/${ctx.config.s3.prefixes.embeddings}`;
    return removeS3Prefixes(createS3({ aws: ctx.aws, signal: ctx.signal }), [
      paths.output,
      paths.failure,
      embeddings,
    ]);
  },
});
