import { describe, expect, it } from "vitest";
import {
  cudaFromDockerfile,
  cudaFromImageConfig,
  cudaFromImageRef,
  driverPlan,
  gpuDriverGate,
} from "../../src/catalog/gpu-driver.js";
import { finalBaseImage, parseDockerfile } from "../../src/checks/dockerfile.js";
import { imageCuda } from "../../src/phases/02-build.js";
import { GOOD_DOCKERFILE } from "../support/project.js";

function dockerfileCuda(text: string, buildArgs: Record<string, string> = {}) {
  const instructions = parseDockerfile(text);
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf("FROM");
  const finalStage = instructions.slice(lastFrom + 1).map((i) => ({
    keyword: i.getKeyword(),
    content: i.getArgumentsContent() ?? "",
    line: i.getRange().start.line + 1,
  }));
  return cudaFromDockerfile(finalStage, finalBaseImage(instructions, buildArgs));
}

describe("the image's CUDA version", () => {
  it("is read from the base image tag before the build", () => {
    expect(dockerfileCuda(GOOD_DOCKERFILE)).toEqual({
      version: "12.1",
      source: "Dockerfile base image pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime",
    });
    expect(cudaFromImageRef("nvidia/cuda:12.4.1-runtime-ubuntu22.04")).toEqual({ major: 12, minor: 4 });
    expect(cudaFromImageRef("example.com/torch:2.1-cu118-py310")).toEqual({ major: 11, minor: 8 });
    expect(cudaFromImageRef("gen3d-base:local")).toBeUndefined();
  });

  it("follows build args, stage aliases and the final stage's own ENV", () => {
    const multi = `ARG BASE_IMAGE=python:3.11-slim
FROM \${BASE_IMAGE} AS deps
FROM deps
ENV CUDA_VERSION=12.6.2
`;
    expect(dockerfileCuda(multi)?.version).toBe("12.6");
    const aliased = `ARG BASE_IMAGE=python:3.11-slim
FROM \${BASE_IMAGE} AS deps
FROM deps
`;
    expect(dockerfileCuda(aliased, { BASE_IMAGE: "nvidia/cuda:12.8.0-base" })?.version).toBe("12.8");
    expect(dockerfileCuda(aliased)).toBeUndefined();
  });

  it("is read from docker inspect after the build: env CUDA_VERSION, a label, NVIDIA_REQUIRE_CUDA", () => {
    expect(cudaFromImageConfig(["PATH=/usr/bin", "CUDA_VERSION=12.1.1"], {})?.version).toBe("12.1");
    expect(cudaFromImageConfig([], { "com.nvidia.cuda.version": "12.4.131" })?.version).toBe("12.4");
    expect(cudaFromImageConfig(["NVIDIA_REQUIRE_CUDA=cuda>=11.8 brand=tesla"], {})?.version).toBe("11.8");
    expect(
      imageCuda({
        Id: `sha256:${"a".repeat(64)}`,
        RepoTags: [],
        RepoDigests: [],
        Os: "linux",
        Architecture: "amd64",
        Size: 1,
        Config: { Labels: {}, Env: ["CUDA_VERSION=12.1.0"] },
      }),
    ).toEqual({ version: "12.1", source: "image env CUDA_VERSION=12.1.0" });
  });
});

describe("the host driver for an instance family", () => {
  it("keeps the default driver when it runs the image", () => {
    expect(driverPlan("ml.g6e.xlarge", { major: 12, minor: 1 }).type).toBe("default");
    expect(driverPlan("ml.g5.xlarge", { major: 11, minor: 4 }).type).toBe("default");
  });

  it("picks the lowest-driver AMI that allows the family when the default (470 / CUDA 11.4) cannot", () => {
    const plan = driverPlan("ml.g5.2xlarge", { major: 12, minor: 1 });
    expect(plan).toMatchObject({ type: "ami", ami: { version: "al2-ami-sagemaker-inference-gpu-2" } });
    const newer = driverPlan("ml.g4dn.xlarge", { major: 12, minor: 4 });
    expect(newer).toMatchObject({ type: "ami", ami: { version: "al2-ami-sagemaker-inference-gpu-3-1" } });
  });

  it("preflight fails naming the families that fit when nothing allowed for the family runs the image", () => {
    const result = gpuDriverGate("ml.p3.2xlarge", { version: "12.6", source: "Dockerfile base image x" });
    expect(result.status).toBe("fail");
    expect(result.message).toMatch(/default NVIDIA 470 \(CUDA 11\.4\)/);
    expect(result.hint).toContain("ml.g5.*");
    expect(result.hint).toContain("ml.p5.*");
    expect(result.hint).not.toContain("ml.p3.*");
  });

  it("preflight passes the seed's config (CUDA 12.1 on ml.g5.2xlarge) by naming the AMI it will set", () => {
    const result = gpuDriverGate("ml.g5.2xlarge", dockerfileCuda(GOOD_DOCKERFILE));
    expect(result.status).toBe("pass");
    expect(result.message).toMatch(
      /cannot run CUDA 12\.1.*InferenceAmiVersion al2-ami-sagemaker-inference-gpu-2/,
    );
  });

  it("says plainly when the CUDA version is unknown", () => {
    expect(gpuDriverGate("ml.g5.2xlarge", undefined).status).toBe("not-checked");
  });
});
