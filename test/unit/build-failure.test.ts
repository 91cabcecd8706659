import { describe, expect, it } from "vitest";
import { classifyBuildFailure } from "../../src/checks/build-failure.js";
import { ExternalError } from "../../src/engine/errors.js";

function failure(message: string, details: string[]) {
  return classifyBuildFailure(new ExternalError("DOCKER_FAILED", message, { details })) as ExternalError;
}

describe("a failed build names its cause", () => {
  it("a FROM image that cannot be pulled is named, with the local base image as the way out", () => {
    const error = failure(
      'docker build failed: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
      ["Step 1/14 : ARG BASE_IMAGE=pytorch/pytorch:2.5.1", "Step 2/14 : FROM pytorch/pytorch:2.5.1"],
    );
    expect(error.message).toMatch(/the base image pytorch\/pytorch:2\.5\.1 could not be pulled/);
    expect(error.hint).toMatch(/image\.buildArgs\.BASE_IMAGE/);
    expect(error.hint).not.toMatch(/layers already pushed/);
  });

  it("a network failure in a RUN step is not blamed on the base image", () => {
    const error = failure('docker build failed: Get "https://pypi.org/simple/torch/": no such host', [
      "Step 2/14 : FROM gen3d-base:local",
      "Step 9/14 : RUN pip install -r requirements.txt",
    ]);
    expect(error.message).not.toMatch(/could not be pulled/);
  });

  it("BuildKit without buildx says how to build without it", () => {
    const error = failure(
      "docker build failed: ERROR: BuildKit is enabled but the buildx component is missing or broken.",
      [],
    );
    expect(error.hint).toMatch(/DOCKER_BUILDKIT=0/);
  });
});
