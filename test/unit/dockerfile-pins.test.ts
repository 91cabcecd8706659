import { describe, expect, it } from "vitest";
import { parseDockerfile } from "../../src/checks/dockerfile.js";
import { requirementsGate, unpinned } from "../../src/checks/requirements.js";
import { inputFor } from "../support/dockerfile-gates.js";
import { GOOD_DOCKERFILE, makeProject } from "../support/project.js";

async function pinsGate(dockerfile: string, files: Record<string, string> = {}) {
  const dir = await makeProject({ dockerfile, files });
  return requirementsGate(inputFor(dir), parseDockerfile(dockerfile));
}

describe("pins everywhere (issue 13 item 4)", () => {
  it("flags `RUN pip install x y` without versions, as the seed's Solution 12 wrote it, naming the line", async () => {
    const gate = await pinsGate(
      GOOD_DOCKERFILE.replace(
        "RUN pip install --no-cache-dir -r /opt/gen3d/requirements.txt",
        "RUN pip install --no-cache-dir \\\n    flask==3.0.0 \\\n    transformers \\\n    diffusers",
      ),
    );
    expect(gate.status).toBe("fail");
    expect(gate.message).toMatch(/2 requirement\(s\) without an exact version/);
    expect(gate.message).toContain("container/Dockerfile:6 pip install transformers");
    expect(gate.message).toContain("container/Dockerfile:6 pip install diffusers");
    expect(gate.message).not.toContain("flask");
    expect(gate.location).toEqual({ file: "container/Dockerfile", line: 6 });
  });

  it("reads python -m pip and pip3 too, skipping options that take values and local paths", async () => {
    const gate = await pinsGate(
      GOOD_DOCKERFILE.replace(
        "RUN pip install --no-cache-dir -r /opt/gen3d/requirements.txt",
        "RUN python3 -m pip install --index-url https://x/simple -t /opt/deps ./wheels/a.whl numpy==1.26.4 && pip3 install torch",
      ),
    );
    expect(gate.status).toBe("fail");
    expect(gate.message).toMatch(/1 requirement\(s\).*pip install torch$/);
  });

  it("flags == wildcards like a missing pin", async () => {
    expect(unpinned("flask==3.*\nnumpy==1.26.4\ntorch===2.5.1\n")).toEqual(["flask==3.*"]);
    const gate = await pinsGate(GOOD_DOCKERFILE.replace("-r /opt/gen3d/requirements.txt", "numpy==1.*"));
    expect(gate.message).toContain("pip install numpy==1.*");
  });

  it("follows -r includes in requirement files, relative to the including file", async () => {
    const gate = await pinsGate(GOOD_DOCKERFILE, {
      "container/requirements.txt": "flask==3.0.3\n-r extra/more.txt\n",
      "container/extra/more.txt": "--requirement=deep.txt\nnumpy==1.26.4\n",
      "container/extra/deep.txt": "pillow>=10\n",
    });
    expect(gate.status).toBe("fail");
    expect(gate.message).toContain("extra/deep.txt: pillow>=10");
    const missing = await pinsGate(GOOD_DOCKERFILE, { "container/requirements.txt": "-r gone.txt\n" });
    expect(missing.message).toContain(
      "gone.txt (included by requirements.txt line 1) is not in the build context",
    );
  });

  it("follows `pip install -r` in a RUN line to the file a COPY put there, whatever its name", async () => {
    const dockerfile = GOOD_DOCKERFILE.replace(
      "COPY requirements.txt /opt/gen3d/requirements.txt\nRUN pip install --no-cache-dir -r /opt/gen3d/requirements.txt",
      "COPY deps/ /opt/gen3d/deps/\nWORKDIR /opt/gen3d\nRUN cd deps && pip install -r base.in",
    );
    const gate = await pinsGate(dockerfile, { "container/deps/base.in": "flask\n" });
    expect(gate.status).toBe("fail");
    expect(gate.message).toContain("deps/base.in: flask");
  });
});
