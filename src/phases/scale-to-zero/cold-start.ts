import {
  asyncJobRecord,
  isSubmitted,
  type SubmittedJob,
  sha256Hex,
  submitRecorded,
} from "../../adapters/async-invoke.js";
import { waitForJob } from "../../adapters/async-wait.js";
import { emulatorEndpoint } from "../../adapters/emulator.js";
import { createS3 } from "../../adapters/s3.js";
import { ExternalError, UserError } from "../../engine/errors.js";
import { formatDuration } from "../../engine/progress.js";
import type { PhaseContext } from "../phase.js";

export interface ScaleToZeroEvidence {
  endpointName: string;
  observedZeroAt: string;
  waitedSeconds: number;
  polls: number;
  coldStart?: ColdStartEvidence;
}

export interface ColdStartEvidence {
  inferenceId: string;
  inputLocation: string;
  outputLocation: string;
  /** Request → the output object (poll-granular). */
  seconds: number;
  /** Request → the first poll that saw an instance running. */
  firstInstanceSeconds?: number;
  instancesAtSubmit?: number;
  submittedAt: string;
  /** The job was found in STATE.json after a stop and polled, not submitted again. */
  resumed: boolean;
  /** The local emulator's own timeline of this cold start (alarm, provisioning, pull, load), when local. */
  breakdown?: unknown;
}

/** The cold-start job, in STATE.json's artifacts from before it is submitted until its result. */
export const COLD_START_JOB_KEY = "coldStartJob";

/**
 * What to submit at zero: an explicit s3:// request (option or GEN3D_COLD_START_INPUT), else, with
 * scaleToZero.coldStart, the request phase 9 sent for segment (or its first task).
 */
export function coldStartInput(
  ctx: PhaseContext,
  explicit: string | undefined,
  integrationRequest: string | undefined,
): string | undefined {
  const given = explicit ?? ctx.env.GEN3D_COLD_START_INPUT;
  if (given) return given;
  if (!ctx.config.scaleToZero.coldStart) return undefined;
  if (integrationRequest === undefined) {
    throw new UserError(
      "COLD_START_INPUT_MISSING",
      "scaleToZero.coldStart is on, but phase 9 recorded no request to submit",
      {
        hint: "Run phase 9 first (`gen3d deploy --from 9`), or set GEN3D_COLD_START_INPUT to an s3:// request.",
      },
    );
  }
  return integrationRequest;
}

/** The emulator's most recent cold start of this endpoint, when the local SageMaker answers. */
async function emulatorBreakdown(ctx: PhaseContext, endpointName: string): Promise<unknown> {
  const view = await emulatorEndpoint(ctx.aws.endpoint, endpointName, ctx.signal);
  return view?.coldStarts?.at(-1);
}

export async function measureColdStart(
  ctx: PhaseContext,
  endpointName: string,
  inputLocation: string,
): Promise<ColdStartEvidence> {
  const sagemaker = await ctx.aws.sagemaker();
  const recorded = asyncJobRecord.safeParse(ctx.state.state.artifacts[COLD_START_JOB_KEY]);
  const previous =
    recorded.success &&
    recorded.data.inputLocation === inputLocation &&
    recorded.data.endpointName === endpointName
      ? recorded.data
      : undefined;
  let job: SubmittedJob;
  const resumed = previous !== undefined && isSubmitted(previous);
  if (previous && isSubmitted(previous)) {
    job = previous;
    ctx.progress(`cold start: polling ${job.inferenceId}, submitted by an earlier run`);
  } else {
    const now = ctx.clock.now();
    const inferenceId =
      previous?.inferenceId ??
      `gen3d-cold-${now.getTime().toString(36)}-${sha256Hex(inputLocation).slice(0, 6)}`;
    ctx.progress(`cold start: submitting ${inputLocation} to ${endpointName} at zero instances`);
    job = await submitRecorded(
      { runtime: await ctx.aws.sagemakerRuntime(), sagemaker, clock: ctx.clock, signal: ctx.signal },
      { task: "cold-start", inferenceId, inputLocation, endpointName },
      ctx.config.timeouts.invocationSeconds,
      (record) => ctx.state.setArtifacts({ [COLD_START_JOB_KEY]: record }),
    );
  }
  const waited = await waitForJob(
    {
      s3: createS3({ aws: ctx.aws, signal: ctx.signal }),
      sagemaker,
      clock: ctx.clock,
      signal: ctx.signal,
      onPoll: (p) =>
        ctx.progress(
          `cold start: ${p.instances?.current ?? "?"} instance(s) (desired ${p.instances?.desired ?? "?"}) · ` +
            `${formatDuration(p.elapsedMs / 1000)} since the request · ${formatDuration(p.leftMs / 1000)} left`,
        ),
    },
    job,
    { timeoutSeconds: ctx.config.timeouts.invocationSeconds },
  );
  await ctx.state.setArtifacts({ [COLD_START_JOB_KEY]: undefined });
  const { outcome } = waited;
  if (outcome.type === "failure") {
    throw new ExternalError(
      "COLD_START_FAILED",
      `the cold-start job ${job.inferenceId} failed: see ${job.failureLocation}`,
      {
        details: outcome.body.split("\n").slice(0, 20),
        hint: "Read the failure object above; `gen3d logs` shows what the container logged.",
      },
    );
  }
  if (outcome.type === "timeout") {
    const neverScaled = (waited.maxInstances ?? 0) === 0;
    throw new ExternalError(
      "COLD_START_TIMEOUT",
      `no output at ${job.outputLocation} after ${ctx.config.timeouts.invocationSeconds} s${neverScaled ? ": the endpoint stayed at 0 instances" : ""}`,
      {
        hint: neverScaled
          ? "Scaling out from zero needs the step-scaling policy fired by the HasBacklogWithoutCapacity alarm (phase 8; target tracking alone never leaves 0): check `gen3d verify --phase 8`."
          : "Scaling out from zero takes the alarm's 2 minutes plus instance startup, image pull and model load: raise timeouts.invocationSeconds.",
      },
    );
  }
  const breakdown = await emulatorBreakdown(ctx, endpointName);
  return {
    inferenceId: job.inferenceId,
    inputLocation,
    outputLocation: job.outputLocation,
    seconds: Math.round(outcome.seconds * 1000) / 1000,
    ...(waited.firstInstanceSeconds === undefined
      ? {}
      : { firstInstanceSeconds: waited.firstInstanceSeconds }),
    ...(job.instancesAtSubmit === undefined ? {} : { instancesAtSubmit: job.instancesAtSubmit }),
    submittedAt: job.submittedAt,
    resumed,
    ...(breakdown === undefined ? {} : { breakdown }),
  };
}
