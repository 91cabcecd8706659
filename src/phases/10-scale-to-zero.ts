import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { InvokeEndpointAsyncCommand } from "@aws-sdk/client-sagemaker-runtime";
import { awsFailure, isNotFound } from "../adapters/aws-errors.js";
import { describeEndpoint, formatDuration, variantCounts } from "../adapters/sagemaker-endpoint.js";
import { endpointNameFor, VARIANT_NAME } from "../adapters/sagemaker-spec.js";
import { ExternalError, UserError } from "../engine/errors.js";
import { type GateResult, gate, type Phase, type PhaseContext } from "../engine/phase.js";

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
  coldStart?: { inputLocation: string; outputLocation: string; seconds: number };
}

/** Where the wait started, kept in STATE.json so a resumed run continues the same countdown. */
const WAIT_KEY = "scaleToZeroWaitSince";
/** When zero was last observed; verify reads it once a cold start (or real work) scaled out again. */
const OBSERVED_KEY = "scaleToZeroObservedAt";

function upstreamEndpoint(ctx: PhaseContext): string {
  const name = ctx.state.state.artifacts.endpointName;
  if (typeof name !== "string" || name === "") {
    throw new UserError(
      "UPSTREAM_MISSING",
      "STATE.json has no artifacts.endpointName: phase 7 (deploy) has not run",
      {
        hint: "Run phases 7 and 8 first: `gen3d deploy --from 7`.",
      },
    );
  }
  return name;
}

function s3Parts(uri: string): { Bucket: string; Key: string } {
  const rest = uri.replace(/^s3:\/\//, "");
  const slash = rest.indexOf("/");
  return { Bucket: rest.slice(0, slash), Key: rest.slice(slash + 1) };
}

async function objectExists(ctx: PhaseContext, uri: string): Promise<boolean> {
  const s3 = await ctx.aws.s3();
  try {
    await s3.send(new HeadObjectCommand(s3Parts(uri)), { abortSignal: ctx.signal });
    return true;
  } catch (error) {
    if (
      isNotFound(error) ||
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
    ) {
      return false;
    }
    throw awsFailure(error, `HeadObject ${uri}`, "s3:GetObject");
  }
}

async function measureColdStart(
  ctx: PhaseContext,
  endpointName: string,
  inputLocation: string,
  pollMs: number,
) {
  const runtime = await ctx.aws.sagemakerRuntime();
  const started = ctx.clock.now().getTime();
  ctx.progress(`cold start: submitting ${inputLocation} to ${endpointName} at zero instances`);
  let out: { OutputLocation?: string; FailureLocation?: string };
  try {
    out = await runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: endpointName,
        InputLocation: inputLocation,
        ContentType: "application/json",
      }),
      { abortSignal: ctx.signal },
    );
  } catch (error) {
    throw awsFailure(error, `InvokeEndpointAsync ${endpointName}`, "sagemaker:InvokeEndpointAsync");
  }
  const output = out.OutputLocation;
  if (!output) throw new ExternalError("AWS_UNEXPECTED", "InvokeEndpointAsync returned no OutputLocation");
  const deadline = started + ctx.config.timeouts.invocationSeconds * 1000;
  for (;;) {
    if (await objectExists(ctx, output)) {
      return { inputLocation, outputLocation: output, seconds: (ctx.clock.now().getTime() - started) / 1000 };
    }
    if (out.FailureLocation && (await objectExists(ctx, out.FailureLocation))) {
      throw new ExternalError("COLD_START_FAILED", `the cold-start job failed: see ${out.FailureLocation}`, {
        hint: "Read the failure object; `gen3d logs` shows what the container logged.",
      });
    }
    if (ctx.clock.now().getTime() >= deadline) {
      throw new ExternalError(
        "COLD_START_TIMEOUT",
        `no output at ${output} after ${ctx.config.timeouts.invocationSeconds} s`,
        {
          hint: "Scaling out from zero needs the HasBacklogWithoutCapacity alarm (2 minutes) plus instance startup: check `gen3d verify --phase 8`, or raise timeouts.invocationSeconds.",
        },
      );
    }
    ctx.progress(
      `cold start: waiting for output · ${formatDuration(ctx.clock.now().getTime() - started)} elapsed`,
    );
    await ctx.clock.sleep(pollMs, ctx.signal);
  }
}

export function createScaleToZeroPhase(options: ScaleToZeroOptions = { pollSeconds: 30 }): Phase {
  const coldStartInput = (ctx: PhaseContext) => options.coldStartInput ?? ctx.env.GEN3D_COLD_START_INPUT;

  return {
    id: 10,
    name: "scale-to-zero",
    title: "Wait for scale to zero",

    async inputs(ctx) {
      return { endpointName: endpointNameFor(ctx.config), coldStart: coldStartInput(ctx) ?? null };
    },

    async run(ctx) {
      const endpointName = upstreamEndpoint(ctx);
      const sagemaker = await ctx.aws.sagemaker();
      const recorded = ctx.state.state.artifacts[WAIT_KEY];
      const since =
        typeof recorded === "string" && !Number.isNaN(Date.parse(recorded))
          ? new Date(recorded)
          : ctx.clock.now();
      if (recorded === undefined) await ctx.state.setArtifacts({ [WAIT_KEY]: since.toISOString() });
      const deadline = since.getTime() + ctx.config.timeouts.scaleToZeroSeconds * 1000;
      const pollMs = options.pollSeconds * 1000;
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
          const input = coldStartInput(ctx);
          if (input) evidence.coldStart = await measureColdStart(ctx, endpointName, input, pollMs);
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

    async verify(ctx) {
      const endpointName = upstreamEndpoint(ctx);
      const endpoint = await describeEndpoint(await ctx.aws.sagemaker(), endpointName, ctx.signal);
      const recorded = ctx.state.phase(10).evidence as { run?: Partial<ScaleToZeroEvidence> } | undefined;
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
              `${evidence.coldStart.seconds.toFixed(1)} s to output`,
              {
                evidence: evidence.coldStart,
              },
            )
          : gate(
              "scale-to-zero.cold-start",
              "cold start from zero",
              "not-checked",
              "not measured (set GEN3D_COLD_START_INPUT)",
            ),
      );
      return gates;
    },
  };
}

/** Phase 10: wait, resumably, until the endpoint runs zero instances; optionally time a cold start. */
export const scaleToZeroPhase: Phase = createScaleToZeroPhase();
