import os from "node:os";
import { describe, expect, it } from "vitest";
import { modelsInImageGates } from "../../src/checks/image.js";
import { configSchema } from "../../src/config/schema.js";
import { fakeDocker } from "../support/fakes.js";
import { validConfig } from "../support/project.js";

const config = configSchema.parse(validConfig());

function gatesWhenFindAnswers(exitCode: number, stderr: string) {
  const docker = fakeDocker({ run: () => ({ exitCode, stdout: "", stderr }) });
  return modelsInImageGates(docker, "gen3d-test:1", config, os.tmpdir());
}

describe("phase 2's listing of the weights inside the image", () => {
  it("a docker run that could not start says so, and does not call the weights missing", async () => {
    const [result] = await gatesWhenFindAnswers(
      125,
      "docker: Error response from daemon: error waiting for container: unexpected EOF.",
    );
    expect(result?.status).toBe("fail");
    expect(result?.message).toMatch(/could not list .* in the image: docker run failed/);
    expect(result?.message).toContain("unexpected EOF");
    expect(result?.message).not.toMatch(/missing from the image/);
    expect(result?.hint).toMatch(/docker info/);
  });

  it("an image without find is named as such", async () => {
    const [result] = await gatesWhenFindAnswers(127, 'exec: "find": executable file not found in $PATH');
    expect(result?.message).not.toMatch(/missing from the image/);
    expect(result?.hint).toMatch(/find/);
  });

  it("a path find cannot read is still reported missing from the image", async () => {
    const [result] = await gatesWhenFindAnswers(
      1,
      "find: '/opt/gen3d/models/sam3': No such file or directory",
    );
    expect(result?.message).toMatch(/missing from the image/);
    expect(result?.hint).toMatch(/COPY the weights/);
  });
});
