import { DescribeEndpointConfigCommand } from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { modelPhase } from "../../src/phases/05-model.js";
import { endpointConfigPhase } from "../../src/phases/06-endpoint-config.js";
import { useMoto } from "../support/use-moto.js";
import { createTestContext, runThrough, testConfig } from "./support/context.js";

const moto = useMoto();

/** Phase 2 recorded the built image's CUDA version; phase 6 picks the host driver from it. */
async function contextFor(instanceType: string, cuda: string) {
  const config = testConfig(moto.endpoint, (raw) => {
    raw.instance = { type: instanceType, initialCount: 1, minCount: 0, maxCount: 2 };
  });
  const ctx = await createTestContext({ endpoint: moto.endpoint, config });
  await ctx.state.setArtifacts({ imageCuda: { version: cuda, source: `image env CUDA_VERSION=${cuda}.1` } });
  return ctx;
}

describe("the endpoint's GPU driver runs the image's CUDA (InferenceAmiVersion)", () => {
  it("a CUDA 12.1 image on ml.g5 (default driver 470 / CUDA 11.4) gets an AMI with driver 535", async () => {
    const ctx = await contextFor("ml.g5.2xlarge", "12.1");
    await runThrough(ctx, [modelPhase, endpointConfigPhase]);
    expect(ctx.state.phase(6).status).toBe("passed");
    const sagemaker = await ctx.aws.sagemaker();
    const described = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: ctx.state.state.artifacts.endpointConfigName }),
    );
    // moto stores ProductionVariants as sent, so the gates compare the field like any other.
    expect(described.ProductionVariants?.[0]?.InferenceAmiVersion).toBe("al2-ami-sagemaker-inference-gpu-2");
    const gates = (ctx.state.phase(6).evidence as { gates: { status: string }[] }).gates;
    expect(gates.every((g) => g.status === "pass")).toBe(true);
  });

  it("a CUDA 12.1 image on ml.g6e (default driver 535 / CUDA 12.2) needs no AMI override", async () => {
    const ctx = await contextFor("ml.g6e.xlarge", "12.1");
    await runThrough(ctx, [modelPhase, endpointConfigPhase]);
    const sagemaker = await ctx.aws.sagemaker();
    const described = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: ctx.state.state.artifacts.endpointConfigName }),
    );
    expect(described.ProductionVariants?.[0]?.InferenceAmiVersion).toBeUndefined();
  });

  it("a CUDA 12.6 image on ml.p3 (no AMI with a new enough driver allows p3) fails naming the families that fit", async () => {
    const ctx = await contextFor("ml.p3.2xlarge", "12.6");
    await expect(runThrough(ctx, [modelPhase, endpointConfigPhase])).rejects.toMatchObject({
      code: "GPU_DRIVER_MISMATCH",
    });
    const error = ctx.state.phase(6).error;
    expect(error?.message).toMatch(
      /ml\.p3\.2xlarge: no driver SageMaker offers for p3 runs the image's CUDA 12\.6/,
    );
    expect(error?.hint).toMatch(/ml\.g5\.\*.*ml\.g6e\.\*.*ml\.p5\.\*/);
    expect(error?.hint).not.toMatch(/ml\.p3\./);
  });
});
