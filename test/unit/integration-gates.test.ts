/** Phase 9's gates over recorded evidence: pure, no AWS. */
import { describe, expect, it } from "vitest";
import {
  type IntegrationEvidence,
  type IntegrationTaskEvidence,
  integrationGates,
} from "../../src/checks/integration.js";

const DEPLOYED = { endpointConfigName: "cfg-1", imageDigest: "sha256:aa" };

function task(overrides: Partial<IntegrationTaskEvidence> = {}): IntegrationTaskEvidence {
  return {
    inferenceId: "gen3d-r-x",
    inputLocation: "s3://b/in/x.json",
    outputLocation: "s3://b/out/x.out",
    outcome: "output",
    latencySeconds: 1.5,
    resumed: false,
    endpointConfigName: "cfg-1",
    artifacts: [],
    ...overrides,
  };
}

function evidence(tasks: Record<string, IntegrationTaskEvidence>, extra: Partial<IntegrationEvidence> = {}) {
  return {
    runId: "r",
    endpointName: "ep",
    ...DEPLOYED,
    tasks,
    sharedImage: true,
    ...extra,
  } satisfies IntegrationEvidence;
}

const byId = (gates: ReturnType<typeof integrationGates>) => Object.fromEntries(gates.map((g) => [g.id, g]));

describe("integration gates", () => {
  it("a job that waited at zero instances that never came names phase 8's step policy", () => {
    const gates = byId(
      integrationGates(
        evidence({
          get_embedding: task({
            outcome: "timeout",
            atZero: true,
            problem: "no result after 5m00s: the endpoint was at 0 instances and never scaled out",
          }),
        }),
        ["get_embedding"],
        DEPLOYED,
      ),
    );
    expect(gates["integration.task.get_embedding"]).toMatchObject({
      status: "fail",
      hint: expect.stringMatching(/HasBacklogWithoutCapacity/),
    });
  });

  it("a slow job that had instances suggests a longer timeout instead", () => {
    const gates = byId(
      integrationGates(
        evidence({
          get_embedding: task({
            outcome: "timeout",
            problem: "no result after 5m00s (up to 1 instance(s) running)",
          }),
        }),
        ["get_embedding"],
        DEPLOYED,
      ),
    );
    expect(gates["integration.task.get_embedding"]?.hint).toMatch(/timeouts\.invocationSeconds/);
  });

  it("a failure whose log shows the GPU ran out of memory gets that diagnosis", () => {
    const gates = byId(
      integrationGates(
        evidence({
          segment: task({
            outcome: "failure",
            failure: '{"status":"error"}',
            failureLocation: "s3://b/f/x-error.out",
            logTail: ["torch.OutOfMemoryError: CUDA out of memory"],
          }),
        }),
        ["segment"],
        DEPLOYED,
      ),
    );
    const segment = gates["integration.task.segment"];
    expect(segment?.status).toBe("fail");
    expect(segment?.hint).toMatch(/more GPU memory/);
    expect(segment?.details).toContain("  torch.OutOfMemoryError: CUDA out of memory");
  });

  it("embedding reuse is only judged when both tasks saw the same picture, and a missing task fails", () => {
    const gates = byId(
      integrationGates(
        evidence(
          {
            get_embedding: task({ response: { embedding_shape: [1, 2] } }),
            segment: task({ response: { embedding_cached: false } }),
          },
          { sharedImage: false },
        ),
        ["get_embedding", "segment", "generate_3d"],
        DEPLOYED,
      ),
    );
    expect(gates["integration.embedding-reuse"]?.status).toBe("not-checked");
    expect(gates["integration.task.generate_3d"]).toMatchObject({
      status: "fail",
      message: "generate_3d was not exercised",
    });
  });

  it("a job that ran on another endpoint config than the recorded one fails", () => {
    const gates = byId(
      integrationGates(evidence({ segment: task({ endpointConfigName: "cfg-0" }) }), ["segment"], DEPLOYED),
    );
    expect(gates["integration.endpoint-config"]).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/segment ran on cfg-0, not cfg-1/),
    });
    expect(gates["integration.bound-to-deployment"]?.status).toBe("pass");
  });
});
