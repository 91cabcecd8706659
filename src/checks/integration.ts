import { z } from "zod";
import { asyncJobRecord } from "../adapters/async-invoke.js";
import type { TaskName } from "../config/schema.js";
import { type GateResult, gate } from "../engine/gate.js";
import { classifyEndpointFailure } from "./endpoint-failure.js";

/** Phase 9's evidence (one job per task through the async endpoint) and the gates that read it. */

const artifactCheck = z.object({ key: z.string(), kind: z.string(), ok: z.boolean(), detail: z.string() });

/** One task's job as phase 9 submitted it (the ledger's record), with what came of it. */
export const integrationTaskEvidence = asyncJobRecord
  .pick({
    inferenceId: true,
    inputLocation: true,
    outputLocation: true,
    failureLocation: true,
    submittedAt: true,
    instancesAtSubmit: true,
    endpointConfigName: true,
  })
  .extend({
    /** output: the output object came; failure: the failure object did; timeout: neither in time. */
    outcome: z.enum(["output", "failure", "timeout", "not-run"]),
    /** Submission → the poll that saw the result object. */
    latencySeconds: z.number().optional(),
    /** Whether the endpoint ran zero instances when the job was submitted (undefined: unknown). */
    atZero: z.boolean().optional(),
    maxInstances: z.number().optional(),
    /** The job was found in STATE.json and polled, not submitted again. */
    resumed: z.boolean(),
    /** The request body was uploaded by this run (false: the same bytes were already there). */
    inputUploaded: z.boolean().optional(),
    response: z.unknown().optional(),
    problem: z.string().optional(),
    /** The failure object's content (truncated). */
    failure: z.string().optional(),
    logTail: z.array(z.string()).optional(),
    artifacts: z.array(artifactCheck).default([]),
  });
export type IntegrationTaskEvidence = z.infer<typeof integrationTaskEvidence>;

export const integrationEvidence = z.object({
  runId: z.string(),
  endpointName: z.string(),
  endpointConfigName: z.string().optional(),
  imageDigest: z.string().optional(),
  tasks: z.record(z.string(), integrationTaskEvidence),
  /** get_embedding and segment were sent the same picture, so segment must reuse the embedding. */
  sharedImage: z.boolean(),
  /** The embedding shape phase 3 saw from the same image, when it recorded one. */
  localEmbeddingShape: z.array(z.number()).optional(),
});
export type IntegrationEvidence = z.infer<typeof integrationEvidence>;

function taskSummary(t: IntegrationTaskEvidence): string {
  const zero = t.atZero === undefined ? "" : t.atZero ? ", submitted at 0 instances" : "";
  const files = t.artifacts.map((a) => `${a.kind} ${a.detail}`).join(", ");
  return `${t.latencySeconds?.toFixed(1) ?? "?"} s submit→result${zero}${t.resumed ? " (resumed)" : ""}${files ? `; ${files}` : ""}`;
}

/** Gates over phase 9's evidence: every task's parsed result, the embedding's shape and reuse. */
export function integrationGates(
  evidence: IntegrationEvidence,
  expectedTasks: readonly TaskName[],
  current: { endpointConfigName?: string; imageDigest?: string },
): GateResult[] {
  const gates: GateResult[] = [];
  const bound =
    evidence.endpointConfigName === current.endpointConfigName &&
    evidence.imageDigest === current.imageDigest;
  gates.push(
    bound
      ? gate(
          "integration.bound-to-deployment",
          "evidence is for the deployed config and image",
          "pass",
          `${current.endpointConfigName ?? "?"}, ${current.imageDigest?.slice(0, 19) ?? "?"}`,
        )
      : gate(
          "integration.bound-to-deployment",
          "evidence is for the deployed config and image",
          "fail",
          `the jobs ran against ${evidence.endpointConfigName ?? "?"} / ${evidence.imageDigest?.slice(0, 19) ?? "?"}, but the deployment is now ${current.endpointConfigName ?? "?"} / ${current.imageDigest?.slice(0, 19) ?? "?"}`,
          { hint: "Re-run phase 9 on the current deployment: `gen3d deploy --from 9`." },
        ),
  );
  const drifted = Object.entries(evidence.tasks).filter(
    ([, t]) => t.endpointConfigName !== undefined && t.endpointConfigName !== evidence.endpointConfigName,
  );
  if (drifted.length > 0) {
    gates.push(
      gate(
        "integration.endpoint-config",
        "the endpoint ran the recorded config",
        "fail",
        `${drifted.map(([task, t]) => `${task} ran on ${t.endpointConfigName}`).join(", ")}, not ${evidence.endpointConfigName ?? "?"}`,
        {
          hint: "An update was in flight or someone changed the endpoint: `gen3d deploy --from 7`, then phase 9 again.",
        },
      ),
    );
  }
  for (const task of expectedTasks) {
    const t = evidence.tasks[task];
    const id = `integration.task.${task}`;
    const title = `${task} through the async endpoint`;
    if (!t) {
      gates.push(
        gate(id, title, "fail", `${task} was not exercised`, {
          hint: "Run phase 9: `gen3d deploy --from 9`.",
        }),
      );
      continue;
    }
    if (t.outcome === "output" && !t.problem) {
      gates.push(
        gate(id, title, "pass", `${task}: ${taskSummary(t)}`, { evidence: { inferenceId: t.inferenceId } }),
      );
      continue;
    }
    if (t.outcome === "failure") {
      const diagnosis = classifyEndpointFailure(t.failure, t.logTail ?? []);
      gates.push(
        gate(
          id,
          title,
          "fail",
          `${task} failed (${t.inferenceId}): ${t.problem ?? "failure object written"}`,
          {
            details: [
              `failure object ${t.failureLocation ?? ""}:`,
              ...(t.failure ?? "")
                .split("\n")
                .slice(0, 20)
                .map((l) => `  ${l}`),
              ...(t.logTail && t.logTail.length > 0
                ? ["endpoint log (last lines):", ...t.logTail.map((l) => `  ${l}`)]
                : []),
            ],
            hint:
              diagnosis.cause !== "unknown"
                ? diagnosis.hint
                : "The container failed on this request: its error id is in the failure object and the log above. Reproduce it locally with `gen3d deploy --from 3`, fix the handler, then `gen3d deploy --from 2`.",
          },
        ),
      );
      continue;
    }
    if (t.outcome === "timeout") {
      const atZero = /at 0 instances and never scaled out/.test(t.problem ?? "");
      gates.push(
        gate(id, title, "fail", `${task} (${t.inferenceId}): ${t.problem ?? "timed out"}`, {
          hint: atZero
            ? "Target tracking alone never scales out from 0: the step-scaling policy fired by the HasBacklogWithoutCapacity alarm does (phase 8). Check it with `gen3d verify --phase 8`, then `gen3d resume`; the job stays queued until its TTL."
            : "Raise timeouts.invocationSeconds if the job is legitimately slow, read `gen3d logs`, then `gen3d resume`.",
        }),
      );
      continue;
    }
    gates.push(
      gate(id, title, "fail", `${task}: ${t.problem ?? "no valid result"}`, {
        hint:
          t.outcome === "not-run"
            ? "Fix the earlier task's failure first."
            : "The endpoint answered, but not with what the container's contract promises: compare with phase 3's local result for the same image and fix the handler.",
      }),
    );
  }
  const embedding = evidence.tasks.get_embedding;
  const embeddingShape = (embedding?.response as { embedding_shape?: number[] } | undefined)?.embedding_shape;
  if (embedding?.outcome === "output" && embeddingShape) {
    if (!evidence.localEmbeddingShape) {
      gates.push(
        gate(
          "integration.embedding-shape",
          "embedding has the model's shape",
          "not-checked",
          `shape [${embeddingShape.join(", ")}]; phase 3 recorded none to compare with`,
        ),
      );
    } else {
      const same = JSON.stringify(evidence.localEmbeddingShape) === JSON.stringify(embeddingShape);
      gates.push(
        gate(
          "integration.embedding-shape",
          "embedding has the model's shape",
          same ? "pass" : "fail",
          same
            ? `shape [${embeddingShape.join(", ")}], as in the local test`
            : `shape [${embeddingShape.join(", ")}] on the endpoint, [${evidence.localEmbeddingShape.join(", ")}] in the local test`,
          same
            ? {}
            : {
                hint: "The endpoint runs another model or config than the image phase 3 tested: check GEN3D_* environment and the model data, then redeploy.",
              },
        ),
      );
    }
  }
  const segment = evidence.tasks.segment;
  if (embedding?.outcome === "output" && segment?.outcome === "output") {
    const cached = (segment.response as { embedding_cached?: unknown } | undefined)?.embedding_cached;
    if (!evidence.sharedImage) {
      gates.push(
        gate(
          "integration.embedding-reuse",
          "segment reuses get_embedding's embedding",
          "not-checked",
          "get_embedding and segment were given different pictures",
        ),
      );
    } else {
      gates.push(
        cached === true
          ? gate(
              "integration.embedding-reuse",
              "segment reuses get_embedding's embedding",
              "pass",
              "segment reported embedding_cached: true",
            )
          : gate(
              "integration.embedding-reuse",
              "segment reuses get_embedding's embedding",
              "fail",
              `segment reported embedding_cached: ${JSON.stringify(cached)} for the picture get_embedding had just encoded`,
              {
                hint: "The container could not read back the embedding it wrote: check the execution role's s3:GetObject on the embeddings prefix and GEN3D_EMBEDDINGS_PREFIX.",
              },
            ),
      );
    }
  }
  return gates;
}
