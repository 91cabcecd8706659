import { z } from "zod";
import { asyncJobRecord, isSubmitted } from "../adapters/async-invoke.js";
import { createSageMakerApi, variantCounts } from "../adapters/sagemaker.js";
import { endpointStillThere } from "../checks/reality-endpoint.js";
import { ExternalError } from "../engine/errors.js";
import { formatDuration } from "../engine/progress.js";
import { endpointNameFor, VARIANT_NAME } from "../spec/sagemaker.js";
import { definePhase } from "./contract.js";
import { INTEGRATION_REQUEST_KEY } from "./integration/ledger.js";
import type { Phase } from "./phase.js";
import {
  COLD_START_JOB_KEY,
  coldStartInput,
  measureColdStart,
  type ScaleToZeroEvidence,
} from "./scale-to-zero/cold-start.js";
import { OBSERVED_KEY, verifyScaleToZero } from "./scale-to-zero/verify.js";

export {
  COLD_START_JOB_KEY,
  type ColdStartEvidence,
  type ScaleToZeroEvidence,
} from "./scale-to-zero/cold-start.js";

export interface ScaleToZeroOptions {
  /** Seconds between DescribeEndpoint polls. */
  pollSeconds: number;
  /**
   * An s3:// payload to submit once the endpoint is at zero, timing the job to its output (a cold
   * start). Also taken from GEN3D_COLD_START_INPUT in the environment. Off when neither is set.
   */
  coldStartInput?: string;
}

/** Where the wait started, kept in STATE.json so a resumed run continues the same countdown. */
const WAIT_KEY = "scaleToZeroWaitSince";

export function createScaleToZeroPhase(options: ScaleToZeroOptions = { pollSeconds: 30 }): Phase {
  return definePhase({
    id: 10,
    name: "scale-to-zero",
    title: "Wait for scale to zero",
    needs: {
      endpointName: z.string().min(1),
      /** Phase 9's request, submitted at zero when scaleToZero.coldStart asks for a cold start. */
      [INTEGRATION_REQUEST_KEY]: z.string().min(1).optional(),
    },

    async inputs(ctx) {
      return {
        endpointName: endpointNameFor(ctx.config),
        coldStart:
          options.coldStartInput ?? ctx.env.GEN3D_COLD_START_INPUT ?? ctx.config.scaleToZero.coldStart,
      };
    },

    async run(ctx) {
      const endpointName = ctx.upstream.endpointName;
      const sagemaker = createSageMakerApi(ctx);
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
      const input = coldStartInput(ctx, options.coldStartInput, ctx.upstream[INTEGRATION_REQUEST_KEY]);
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
        const endpoint = await sagemaker.describeEndpoint(endpointName);
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
          ctx.progress(
            `${VARIANT_NAME}: 0 instances after ${formatDuration((now - since.getTime()) / 1000)}`,
          );
          await ctx.state.setArtifacts({ [OBSERVED_KEY]: evidence.observedZeroAt });
          if (input) evidence.coldStart = await measureColdStart(ctx, endpointName, input);
          await ctx.state.setArtifacts({ [WAIT_KEY]: undefined });
          return { outcome: "scaled-to-zero", evidence };
        }
        if (now >= deadline) {
          await ctx.state.setArtifacts({ [WAIT_KEY]: undefined });
          throw new ExternalError(
            "SCALE_TO_ZERO_TIMEOUT",
            `endpoint ${endpointName} still runs ${counts.current ?? "?"} instance(s) after ${formatDuration((now - since.getTime()) / 1000)}`,
            {
              hint:
                "Scale-in needs an empty backlog for about 15 minutes plus the scale-in cooldown: check no jobs are queued, " +
                "that `gen3d verify --phase 8` passes and instance.minCount is 0; `gen3d resume` starts a new wait.",
            },
          );
        }
        ctx.progress(
          `${VARIANT_NAME}: ${counts.current ?? "?"} instance(s) (desired ${counts.desired ?? "?"}) · waiting for scale-in · ` +
            `${formatDuration((deadline - now) / 1000)} left · Ctrl-C is safe, \`gen3d resume\` keeps waiting`,
        );
        await ctx.clock.sleep(pollMs, ctx.signal);
      }
    },

    async verify(ctx, fresh) {
      return verifyScaleToZero(ctx, ctx.upstream.endpointName, fresh);
    },

    /** The endpoint that scaled to zero still exists. */
    async reality(ctx) {
      return endpointStillThere(ctx, ctx.upstream.endpointName);
    },
  });
}

/** Phase 10: wait, resumably, until the endpoint runs zero instances; optionally time a cold start. */
export const scaleToZeroPhase: Phase = createScaleToZeroPhase();
