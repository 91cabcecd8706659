import { z } from "zod";
import {
  asyncJobRecord,
  emulatorEndpoint,
  isSubmitted,
  type SubmittedJob,
  sha256Hex,
  submitRecorded,
  waitForJob,
} from "../adapters/async-invoke.js";
import { describeEndpoint, formatDuration, variantCounts } from "../adapters/sagemaker-endpoint.js";
import { endpointStillThere } from "../checks/reality-endpoint.js";
import { ExternalError, UserError } from "../engine/errors.js";
import { endpointNameFor, VARIANT_NAME } from "../spec/sagemaker.js";
import { definePhase } from "./contract.js";
import { type GateResult, gate, type Phase, type PhaseContext } from "./phase.js";

export interface ScaleToZeroOptions {
  /** Seconds between DescribeEndpoint polls. */
  pollSeconds: number;
  /**
   * An s3:// payload to submit once the endpoint is at zero, timing the job to its output (a cold
   * start). Also taken from GEN3D_COLD_START_INPUT in the environment. Off when neither is set.
   */
  coldStartInput?: string;
}

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

/** Where the wait started, kept in STATE.json so a resumed run continues the same countdown. */
const WAIT_KEY = "scaleToZeroWaitSince";
/** When zero was last observed; verify reads it once a cold start (or real work) scaled out again. */
const OBSERVED_KEY = "scaleToZeroObservedAt";

/** The cold-start job, in STATE.json's artifacts from before it is submitted until its result. */
export const COLD_START_JOB_KEY = "coldStartJob";

/**
 * What to submit at zero: an explicit s3:// request (option or GEN3D_COLD_START_INPUT), else, with
 * scaleToZero.coldStart, the request phase 9 sent for segment (or its first task).
 */
function coldStartInput(ctx: PhaseContext, explicit: string | undefined): string | undefined {
  const given = explicit ?? ctx.env.GEN3D_COLD_START_INPUT;
  if (given) return given;
  if (!ctx.config.scaleToZero.coldStart) return undefined;
  const run = (
    ctx.state.phase(9).evidence as { run?: { tasks?: Record<string, { inputLocation?: unknown }> } }
  )?.run;
  const tasks = run?.tasks ?? {};
  const location = tasks.segment?.inputLocation ?? Object.values(tasks)[0]?.inputLocation;
  if (typeof location !== "string") {
    throw new UserError(
      "COLD_START_INPUT_MISSING",
      "scaleToZero.coldStart is on, but phase 9 recorded no request to submit",
      {
        hint: "Run phase 9 first (`gen3d deploy --from 9`), or set GEN3D_COLD_START_INPUT to an s3:// request.",
      },
    );
  }
  return location;
}

/** The emulator's most recent cold start of this endpoint, when the local SageMaker answers. */
async function emulatorBreakdown(ctx: PhaseContext, endpointName: string): Promise<unknown> {
  const view = await emulatorEndpoint(ctx.aws.endpoint, endpointName, ctx.signal);
  return view?.coldStarts?.at(-1);
}

async function measureColdStart(
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
      s3: await ctx.aws.s3(),
      sagemaker,
      clock: ctx.clock,
      signal: ctx.signal,
      onPoll: (p) =>
        ctx.progress(
          `cold start: ${p.instances?.current ?? "?"} instance(s) (desired ${p.instances?.desired ?? "?"}) · ` +
            `${formatDuration(p.elapsedMs)} since the request · ${formatDuration(p.leftMs)} left`,
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

export function createScaleToZeroPhase(options: ScaleToZeroOptions = { pollSeconds: 30 }): Phase {
  return definePhase({
    id: 10,
    name: "scale-to-zero",
    title: "Wait for scale to zero",
    needs: { endpointName: z.string().min(1) },

    async inputs(ctx) {
      return {
        endpointName: endpointNameFor(ctx.config),
        coldStart:
          options.coldStartInput ?? ctx.env.GEN3D_COLD_START_INPUT ?? ctx.config.scaleToZero.coldStart,
      };
    },

    async run(ctx) {
      const endpointName = ctx.upstream.endpointName;
      const sagemaker = await ctx.aws.sagemaker();
      const recorded = ctx.state.state.artifacts[WAIT_KEY];
      const since =
        typeof recorded === "string" && !Number.isNaN(Date.parse(recorded))
          ? new Date(recorded)
          : ctx.clock.now();
      if (recorded === undefined) await ctx.state.setArtifacts({ [WAIT_KEY]: since.toISOString() });
      const deadline = since.getTime() + ctx.config.timeouts.scaleToZeroSeconds * 1000;
      const pollMs = options.pollSeconds * 1000;
      const pending = asyncJobRecord.safeParse(ctx.state.state.artifacts[COLD_START_JOB_KEY]);
      const observedAt = ctx.state.state.artifacts[OBSERVED_KEY];
      const input = coldStartInput(ctx, options.coldStartInput);
      if (
        input &&
        pending.success &&
        isSubmitted(pending.data) &&
        pending.data.inputLocation === input &&
        typeof observedAt === "string"
      ) {
        // A run stopped after submitting its cold-start job at zero: that job has probably scaled
        // the endpoint out by now, so waiting for zero again would be wrong. Poll the job.
        const evidence: ScaleToZeroEvidence = {
          endpointName,
          observedZeroAt: observedAt,
          waitedSeconds: Math.max(0, Math.round((Date.parse(observedAt) - since.getTime()) / 1000)),
          polls: 0,
          coldStart: await measureColdStart(ctx, endpointName, input),
        };
        await ctx.state.setArtifacts({ [WAIT_KEY]: undefined });
        return { outcome: "scaled-to-zero", evidence };
      }
      let polls = 0;
      for (;;) {
        const endpoint = await describeEndpoint(sagemaker, endpointName, ctx.signal);
        polls += 1;
        if (endpoint === undefined) {
          throw new ExternalError("ENDPOINT_VANISHED", `endpoint ${endpointName} no longer exists`, {
            hint: "Run `gen3d deploy --from 7` to deploy it again.",
          });
        }
        const counts = variantCounts(endpoint, VARIANT_NAME);
        const now = ctx.clock.now().getTime();
        if (counts.current === 0) {
          const evidence: ScaleToZeroEvidence = {
            endpointName,
            observedZeroAt: new Date(now).toISOString(),
            waitedSeconds: Math.round((now - since.getTime()) / 1000),
            polls,
          };
          ctx.progress(`${VARIANT_NAME}: 0 instances after ${formatDuration(now - since.getTime())}`);
          await ctx.state.setArtifacts({ [OBSERVED_KEY]: evidence.observedZeroAt });
          if (input) evidence.coldStart = await measureColdStart(ctx, endpointName, input);
          await ctx.state.setArtifacts({ [WAIT_KEY]: undefined });
          return { outcome: "scaled-to-zero", evidence };
        }
        if (now >= deadline) {
          await ctx.state.setArtifacts({ [WAIT_KEY]: undefined });
          throw new ExternalError(
            "SCALE_TO_ZERO_TIMEOUT",
            `endpoint ${endpointName} still runs ${counts.current ?? "?"} instance(s) after ${formatDuration(now - since.getTime())}`,
            {
              hint:
                "Scale-in needs an empty backlog for about 15 minutes plus the scale-in cooldown: check no jobs are queued, " +
                "that `gen3d verify --phase 8` passes and instance.minCount is 0; `gen3d resume` starts a new wait.",
            },
          );
        }
        ctx.progress(
          `${VARIANT_NAME}: ${counts.current ?? "?"} instance(s) (desired ${counts.desired ?? "?"}) · waiting for scale-in · ` +
            `${formatDuration(deadline - now)} left · Ctrl-C is safe, \`gen3d resume\` keeps waiting`,
        );
        await ctx.clock.sleep(pollMs, ctx.signal);
      }
    },

    async verify(ctx, fresh) {
      const endpointName = ctx.upstream.endpointName;
      const endpoint = await describeEndpoint(await ctx.aws.sagemaker(), endpointName, ctx.signal);
      // Right after run(), its evidence is not in STATE.json yet: judge what this run measured.
      const recorded = (
        fresh?.evidence !== undefined ? { run: fresh.evidence } : ctx.state.phase(10).evidence
      ) as { run?: Partial<ScaleToZeroEvidence> } | undefined;
      const observedAt = ctx.state.state.artifacts[OBSERVED_KEY];
      const evidence: Partial<ScaleToZeroEvidence> = {
        ...recorded?.run,
        ...(typeof observedAt === "string" ? { observedZeroAt: observedAt } : {}),
      };
      const gates: GateResult[] = [];
      if (endpoint === undefined) {
        gates.push(
          gate("scale-to-zero.count", "instance count 0", "fail", `endpoint ${endpointName} does not exist`),
        );
        return gates;
      }
      const { current } = variantCounts(endpoint, VARIANT_NAME);
      if (current === 0) {
        gates.push(
          gate("scale-to-zero.count", "instance count 0", "pass", "0 instances now", {
            evidence: { current },
          }),
        );
      } else if (evidence.observedZeroAt) {
        gates.push(
          gate(
            "scale-to-zero.count",
            "instance count 0",
            "warn",
            `${current ?? "?"} instance(s) now; 0 was observed at ${evidence.observedZeroAt} (scaled out for work since?)`,
          ),
        );
      } else {
        gates.push(
          gate(
            "scale-to-zero.count",
            "instance count 0",
            "fail",
            `${current ?? "?"} instance(s); zero never observed`,
            {
              hint: "Run `gen3d resume` to wait for scale-in.",
            },
          ),
        );
      }
      gates.push(
        evidence.coldStart
          ? gate(
              "scale-to-zero.cold-start",
              "cold start from zero",
              "pass",
              `${evidence.coldStart.seconds.toFixed(1)} s from request to output${
                evidence.coldStart.firstInstanceSeconds === undefined
                  ? ""
                  : `, first instance after ${evidence.coldStart.firstInstanceSeconds.toFixed(1)} s`
              }`,
              {
                evidence: evidence.coldStart,
              },
            )
          : gate(
              "scale-to-zero.cold-start",
              "cold start from zero",
              "not-checked",
              "not measured (set scaleToZero.coldStart: true in the config)",
            ),
      );
      return gates;
    },

    /** The endpoint that scaled to zero still exists. */
    async reality(ctx) {
      return endpointStillThere(ctx, ctx.upstream.endpointName);
    },
  });
}

/** Phase 10: wait, resumably, until the endpoint runs zero instances; optionally time a cold start. */
export const scaleToZeroPhase: Phase = createScaleToZeroPhase();
