import path from "node:path";
import { describe, expect, it } from "vitest";
import { dockerfileGates, readDockerfile } from "../../src/checks/dockerfile.js";
import { GOOD_DOCKERFILE, makeProject } from "../support/project.js";

async function gatesFor(dockerfile: string, files: Record<string, string> = {}, withoutModels = false) {
  const dir = await makeProject({ dockerfile, files, withoutModels });
  const input = {
    file: path.join(dir, "container/Dockerfile"),
    contextDir: path.join(dir, "container"),
    buildArgs: {},
    displayFile: "container/Dockerfile",
  };
  const gates = await dockerfileGates(input, await readDockerfile(input));
  return Object.fromEntries(gates.map((g) => [g.id, g]));
}

describe("Dockerfile gates", () => {
  it("pass on the good Dockerfile", async () => {
    const gates = await gatesFor(GOOD_DOCKERFILE);
    for (const g of Object.values(gates)) expect(g.status, `${g.id}: ${g.message}`).toBe("pass");
    expect(gates["dockerfile.entrypoint"]?.message).toMatch(/gen3d_serving.*starts an HTTP server/);
  });

  it("fail the seed's ENTRYPOINT that runs inference.py (issue #7), naming line and fix", async () => {
    const dockerfile = GOOD_DOCKERFILE.replace(
      'ENTRYPOINT ["python3", "-m", "gen3d_serving"]',
      'COPY inference.py /opt/ml/code/inference.py\nENTRYPOINT ["python", "/opt/ml/code/inference.py"]',
    );
    const inference =
      "def model_fn(model_dir):\n    return {}\n\ndef predict_fn(data, models):\n    return {}\n";
    const gate = (await gatesFor(dockerfile, { "container/inference.py": inference }))[
      "dockerfile.entrypoint"
    ];
    expect(gate?.status).toBe("fail");
    expect(gate?.location).toEqual({ file: "container/Dockerfile", line: 11 });
    expect(gate?.message).toMatch(/inference\.py, which starts no HTTP server/);
    expect(gate?.hint).toMatch(/exec-form ENTRYPOINT/);
  });

  it("fail a shell-form ENTRYPOINT and a missing ENTRYPOINT", async () => {
    const shell = (
      await gatesFor(GOOD_DOCKERFILE.replace(/ENTRYPOINT .*/, "ENTRYPOINT python3 -m gen3d_serving"))
    )["dockerfile.entrypoint"];
    expect(shell?.status).toBe("fail");
    expect(shell?.message).toMatch(/shell form/);
    const none = (
      await gatesFor(GOOD_DOCKERFILE.replace(/ENTRYPOINT .*/, 'CMD ["python3", "-m", "gen3d_serving"]'))
    )["dockerfile.entrypoint"];
    expect(none?.status).toBe("fail");
    expect(none?.message).toMatch(/no ENTRYPOINT/);
  });

  it("fail apt-get before DEBIAN_FRONTEND (issue #8), naming the line", async () => {
    const gate = (
      await gatesFor(GOOD_DOCKERFILE.replace("ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC\n", ""))
    )["dockerfile.noninteractive"];
    expect(gate?.status).toBe("fail");
    expect(gate?.location?.line).toBe(3);
    expect(gate?.hint).toMatch(/ENV DEBIAN_FRONTEND=noninteractive/);
  });

  it("accept DEBIAN_FRONTEND as an ARG or inline", async () => {
    const asArg = GOOD_DOCKERFILE.replace(
      "ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC",
      "ARG DEBIAN_FRONTEND=noninteractive",
    );
    expect((await gatesFor(asArg))["dockerfile.noninteractive"]?.status).toBe("pass");
    const inline = GOOD_DOCKERFILE.replace("ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC\n", "").replace(
      "apt-get update && apt-get install",
      "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install",
    );
    expect((await gatesFor(inline))["dockerfile.noninteractive"]?.status).toBe("pass");
  });

  it("fail a COPY of a models directory that is not there (issues #2, #22)", async () => {
    const gate = (await gatesFor(GOOD_DOCKERFILE, {}, true))["dockerfile.copy-sources"];
    expect(gate?.status).toBe("fail");
    expect(gate?.location?.line).toBe(7);
    expect(gate?.message).toMatch(/models\/sam3 \(line 7\) does not exist/);
    expect(gate?.hint).toMatch(/model weights/);
  });

  it("fail a COPY source excluded by .dockerignore", async () => {
    const gate = (await gatesFor(GOOD_DOCKERFILE, { "container/.dockerignore": "models\n" }))[
      "dockerfile.copy-sources"
    ];
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(/excluded by .dockerignore/);
  });

  it("fail a latest or untagged base image, resolving ARG defaults", async () => {
    const latest = (await gatesFor(GOOD_DOCKERFILE.replace("2.5.1-cuda12.1-cudnn9-runtime", "latest")))[
      "dockerfile.base-pinned"
    ];
    expect(latest?.status).toBe("fail");
    expect(latest?.message).toMatch(/pytorch\/pytorch:latest.*`latest` tag/);
    const untagged = (await gatesFor(GOOD_DOCKERFILE.replace(/ARG BASE_IMAGE=.*/, "ARG BASE_IMAGE=ubuntu")))[
      "dockerfile.base-pinned"
    ];
    expect(untagged?.status).toBe("fail");
    expect(untagged?.message).toMatch(/no tag/);
    const digest = (
      await gatesFor(
        GOOD_DOCKERFILE.replace(/ARG BASE_IMAGE=.*/, `ARG BASE_IMAGE=ubuntu@sha256:${"a".repeat(64)}`),
      )
    )["dockerfile.base-pinned"];
    expect(digest?.status).toBe("pass");
  });

  it("reports a missing Dockerfile", async () => {
    const dir = await makeProject();
    const input = {
      file: path.join(dir, "nope/Dockerfile"),
      contextDir: dir,
      buildArgs: {},
      displayFile: "nope/Dockerfile",
    };
    const gates = await dockerfileGates(input, await readDockerfile(input));
    expect(gates).toHaveLength(1);
    expect(gates[0]?.status).toBe("fail");
  });
});

describe("requirements gate", () => {
  it("passes exact pins and fails loose ones (seed issues #12, #25), naming each", async () => {
    const { requirementsGate, unpinned } = await import("../../src/checks/requirements.js");
    const { parseDockerfile } = await import("../../src/checks/dockerfile.js");
    expect(
      unpinned(
        "flask==3.1.3\n# comment\n-r other.txt\nnumpy>=1.24\ntransformers\ntorch==2.5.1 ; python_version>'3'\n",
      ),
    ).toEqual(["numpy>=1.24", "transformers"]);
    const dir = await makeProject({ files: { "container/requirements.txt": "flask==3.1.3\ndiffusers\n" } });
    const input = {
      file: path.join(dir, "container/Dockerfile"),
      contextDir: path.join(dir, "container"),
      buildArgs: {},
      displayFile: "container/Dockerfile",
    };
    const gate = await requirementsGate(input, parseDockerfile(GOOD_DOCKERFILE));
    expect(gate.status).toBe("fail");
    expect(gate.message).toContain("requirements.txt: diffusers");
    const good = await makeProject();
    const pass = await requirementsGate(
      { ...input, contextDir: path.join(good, "container") },
      parseDockerfile(GOOD_DOCKERFILE),
    );
    expect(pass.status).toBe("pass");
  });
});
