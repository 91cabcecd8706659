import { createSageMakerApi, variantCounts } from "../../adapters/sagemaker.js";
import { VARIANT_NAME } from "../../spec/sagemaker.js";
import { runOf } from "../contract.js";
import { type GateResult, gate, type PhaseContext, type PhaseRunResult } from "../phase.js";
import type { ScaleToZeroEvidence } from "./cold-start.js";

/** When zero was last observed; verify reads it once a cold start (or real work) scaled out again. */
export const OBSERVED_KEY = "scaleToZeroObservedAt";

/** Phase 10's gates: zero instances now (or observed), and the cold start when one was measured. */
export async function verifyScaleToZero(
  ctx: PhaseContext,
  endpointName: string,
  fresh?: PhaseRunResult,
): Promise<GateResult[]> {
  const endpoint = await createSageMakerApi(ctx).describeEndpoint(endpointName);
  // Right after run(), its evidence is not in STATE.json yet: judge what this run measured.
  const recorded = (fresh?.evidence ?? runOf(ctx.state.phase(10).evidence)) as
    | Partial<ScaleToZeroEvidence>
    | undefined;
  const observedAt = ctx.state.state.artifacts[OBSERVED_KEY];
  const evidence: Partial<ScaleToZeroEvidence> = {
    ...recorded,
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
}
