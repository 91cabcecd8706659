import { describe, expect, it } from "vitest";
import { modelDirInImageGate } from "../../src/checks/dockerfile.js";
import { buildPhase } from "../../src/phases/02-build.js";
import { createTestContext, withProgress } from "../support/context.js";
import { dockerfileGatesFor } from "../support/dockerfile-gates.js";
import { fakeDocker } from "../support/fakes.js";
import { GOOD_DOCKERFILE, makeProject, validConfig } from "../support/project.js";

const modelDirGate = async (dockerfile: string, files: Record<string, string> = {}) =>
  (await dockerfileGatesFor(dockerfile, files))["dockerfile.model-dir"];

/** The seed's Solution 2: weights baked where SageMaker mounts model data. */
const SEED_LAYOUT = GOOD_DOCKERFILE.replace(
  "COPY models/sam3 /opt/gen3d/models/sam3",
  "RUN mkdir -p /opt/ml/model/sam3\nCOPY models/sam3/ /opt/ml/model/sam3/\nRUN ls -lh /opt/ml/model/sam3/",
);

describe("weights baked under /opt/ml/model (issue 13 item 5)", () => {
  it("fails the seed's layout, naming each line and the bytes of the build context that would be dead weight", async () => {
    const gate = await modelDirGate(SEED_LAYOUT, {
      "container/models/sam3/extra.bin": "y".repeat(2048),
      "container/models/sam3/notes.tmp": "z".repeat(5000),
      "container/.dockerignore": "**/*.tmp\n",
    });
    expect(gate?.status).toBe("fail");
    expect(gate?.location).toEqual({ file: "container/Dockerfile", line: 7 });
    expect(gate?.message).toMatch(
      /^line 7: RUN mkdir -p \/opt\/ml\/model\/sam3; line 8: COPY models\/sam3\/ \/opt\/ml\/model\/sam3\/ \(3\.0 KiB\)/,
    );
    expect(gate?.message).not.toMatch(/line 9/); // ls only reads
    expect(gate?.message).toMatch(
      /3\.0 KiB of the build context baked under \/opt\/ml\/model: SageMaker mounts model data/,
    );
    expect(gate?.evidence).toMatchObject({ bytes: 1000 + 2048 });
    expect(gate?.hint).toMatch(/\/opt\/gen3d\/models\/sam3/);
  });

  it("resolves relative destinations against WORKDIR and sees RUN lines that download or redirect there", async () => {
    const viaWorkdir = await modelDirGate(
      GOOD_DOCKERFILE.replace(
        "COPY models/sam3 /opt/gen3d/models/sam3",
        "WORKDIR /opt/ml\nCOPY models/sam3 model/sam3",
      ),
    );
    expect(viaWorkdir?.status).toBe("fail");
    expect(viaWorkdir?.message).toMatch(/COPY models\/sam3 model\/sam3 \(1000 B\)/);
    for (const run of [
      "RUN curl -fsSL -o /opt/ml/model/sam3.pt https://example.invalid/sam3.pt",
      "RUN echo ok > /opt/ml/model/READY",
      "RUN python3 download.py --out /opt/ml/model/sam3",
    ]) {
      const gate = await modelDirGate(
        GOOD_DOCKERFILE.replace("WORKDIR /opt/gen3d", `${run}\nWORKDIR /opt/gen3d`),
      );
      expect(gate?.status, run).toBe("fail");
      expect(gate?.message).toMatch(/^line 9: RUN /);
    }
  });

  it("an ADD from a URL is flagged without a made-up size", async () => {
    const gate = await modelDirGate(
      GOOD_DOCKERFILE.replace(
        "WORKDIR /opt/gen3d",
        "ADD https://example.invalid/sam3.pt /opt/ml/model/\nWORKDIR /opt/gen3d",
      ),
    );
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /^line 9: ADD https:\/\/example\.invalid\/sam3\.pt \/opt\/ml\/model\/ — files baked under/,
    );
  });

  it("passes the good layout", async () => {
    expect((await modelDirGate(GOOD_DOCKERFILE))?.status).toBe("pass");
  });

  it("phase 2 lists /opt/ml/model in the built image and fails on what it finds there", async () => {
    expect(modelDirInImageGate([])).toMatchObject({ status: "pass" });
    expect(modelDirInImageGate({ error: "exec format error" })).toMatchObject({ status: "not-checked" });
    const dir = await makeProject();
    const docker = fakeDocker({
      "image inspect": () => ({
        stdout: JSON.stringify({
          Id: `sha256:${"a".repeat(64)}`,
          RepoTags: [],
          RepoDigests: [],
          Os: "linux",
          Architecture: "amd64",
          Size: 1000,
          Config: { Labels: {}, Env: [] },
        }),
        stderr: "",
        exitCode: 0,
      }),
      "run --rm --network none --entrypoint find": (args) => ({
        stdout: args.includes("/opt/ml/model")
          ? "3000\tsam3/model.safetensors\n10\tsam3/config.json\n"
          : "1000\tmodel.safetensors\n",
        stderr: "",
        exitCode: 0,
      }),
    });
    const ctx = await createTestContext({ dir, config: validConfig(), docker });
    const gates = await buildPhase.verify(withProgress(ctx));
    const gate = gates.find((g) => g.id === "image.model-dir");
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /the image holds 2 file\(s\), 2\.9 KiB, under \/opt\/ml\/model \(sam3\/model\.safetensors, sam3\/config\.json\)/,
    );
  });
});
