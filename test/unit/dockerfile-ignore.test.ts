import { describe, expect, it } from "vitest";
import { ignoreRules } from "../../src/checks/dockerfile/ignore.js";
import { parseDockerfile } from "../../src/checks/dockerfile.js";
import { modelsInImageGate } from "../../src/checks/models.js";
import { parseConfig } from "../../src/config/load.js";
import { dockerfileGatesFor, inputFor } from "../support/dockerfile-gates.js";
import { GOOD_DOCKERFILE, makeProject, validConfig } from "../support/project.js";

describe(".dockerignore as Docker reads it, named as the cause (issue 11 item 5, issue 13 item 7)", () => {
  it("matches character classes, exceptions and ** as moby does, and says which line decides", () => {
    const rules = ignoreRules("# weights\nmodel[0-9]*\n*.tmp\n!keep.tmp\n**/__pycache__\n");
    expect(rules.ignores("model1")).toBe(true);
    expect(rules.ignores("model1/w.bin")).toBe(true);
    expect(rules.ignores("modelx")).toBe(false);
    expect(rules.ignores("keep.tmp")).toBe(false);
    expect(rules.ignores("a/b/__pycache__/x.pyc")).toBe(true);
    expect(rules.cause("model7/w.bin")).toEqual({ pattern: "model[0-9]*", line: 2 });
    expect(rules.cause("keep.tmp")).toBeUndefined();
  });

  it("a COPY source that exists but is ignored names .dockerignore, its line and pattern, and the fix", async () => {
    const gate = (
      await dockerfileGatesFor(GOOD_DOCKERFILE, { "container/.dockerignore": "# big\nmodels/sam[0-9]\n" })
    )["dockerfile.copy-sources"];
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /models\/sam3 \(line 7\) is excluded by .dockerignore \(line 2: `models\/sam\[0-9\]`\)/,
    );
    expect(gate?.hint).toMatch(
      /\.dockerignore leaves it out of the build context: remove or narrow `models\/sam\[0-9\]` \(line 2\), or add `!models\/sam3` after it/,
    );
  });

  it("model files a COPY takes but .dockerignore leaves out name .dockerignore as the cause", async () => {
    const dir = await makeProject({ files: { "container/.dockerignore": "**/*.safetensors\n" } });
    const config = parseConfig(validConfig(), "x");
    const gate = await modelsInImageGate(config, dir, inputFor(dir), parseDockerfile(GOOD_DOCKERFILE));
    expect(gate.status).toBe("fail");
    expect(gate.message).toMatch(
      /sam3: 1 of its 1 file\(s\) excluded by .dockerignore \(line 1: `\*\*\/\*\.safetensors`\): models\/sam3\/model\.safetensors/,
    );
    expect(gate.location).toEqual({ file: "container/.dockerignore", line: 1 });
  });

  it("a FROM built from a build arg names the gen3d config key that sets it", async () => {
    const fromConfig = (await dockerfileGatesFor(GOOD_DOCKERFILE, {}, { BASE_IMAGE: "ubuntu" }))[
      "dockerfile.base-pinned"
    ];
    expect(fromConfig?.status).toBe("fail");
    expect(fromConfig?.message).toMatch(
      /FROM ubuntu \(line 2\) has no tag.*BASE_IMAGE comes from image\.buildArgs\.BASE_IMAGE in the gen3d config/,
    );
    expect(fromConfig?.hint).toMatch(
      /^Set image\.buildArgs\.BASE_IMAGE in the gen3d config to a version tag/,
    );
    const fromDefault = (
      await dockerfileGatesFor(GOOD_DOCKERFILE.replace("2.5.1-cuda12.1-cudnn9-runtime", "latest"))
    )["dockerfile.base-pinned"];
    expect(fromDefault?.message).toMatch(
      /BASE_IMAGE is the ARG default at line 1 \(set image\.buildArgs\.BASE_IMAGE/,
    );
    const unset = (await dockerfileGatesFor(GOOD_DOCKERFILE.replace(/ARG BASE_IMAGE=.*/, "ARG BASE_IMAGE")))[
      "dockerfile.base-pinned"
    ];
    expect(unset?.message).toMatch(
      /FROM at line 2 names no image \(BASE_IMAGE has no default and image\.buildArgs\.BASE_IMAGE is not set/,
    );
  });
});
