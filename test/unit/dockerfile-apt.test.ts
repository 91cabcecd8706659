import { describe, expect, it } from "vitest";
import { dockerfileGatesFor } from "../support/dockerfile-gates.js";
import { GOOD_DOCKERFILE } from "../support/project.js";

/** GOOD_DOCKERFILE without its ENV line, with `run` as line 3. */
const withRun = (run: string) =>
  GOOD_DOCKERFILE.replace("ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC\n", "").replace(
    /RUN apt-get .*\n/,
    `${run}\n`,
  );
const aptGate = async (dockerfile: string) =>
  (await dockerfileGatesFor(dockerfile))["dockerfile.noninteractive"];

describe("apt-get read as the shell runs it (issue 13 item 3)", () => {
  it("accepts DEBIAN_FRONTEND=noninteractive in any position among the leading assignments", async () => {
    for (const run of [
      "RUN DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC apt-get install -y tzdata",
      "RUN TZ=Etc/UTC DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata",
      'RUN apt-get update && DEBIAN_FRONTEND="noninteractive" TZ=Etc/UTC apt-get install -y tzdata',
      "RUN env DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata",
    ]) {
      const gate = await aptGate(withRun(run));
      expect(gate?.status, `${run}: ${gate?.message}`).toBe("pass");
    }
  });

  it("accepts `export DEBIAN_FRONTEND=noninteractive &&` and ENV/ARG earlier in the stage or its parent stage", async () => {
    expect(
      (await aptGate(withRun("RUN export DEBIAN_FRONTEND=noninteractive && apt-get install -y tzdata")))
        ?.status,
    ).toBe("pass");
    expect(
      (await aptGate(withRun("ARG DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y tzdata")))?.status,
    ).toBe("pass");
    const parent = `FROM pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime AS base\nENV DEBIAN_FRONTEND=noninteractive\nFROM base\nRUN apt-get install -y tzdata\nENTRYPOINT ["python3", "-m", "gen3d_serving"]\n`;
    expect((await aptGate(parent))?.status).toBe("pass");
  });

  it("flags an install that runs before the inline assignment in the same RUN, naming its line", async () => {
    const gate = await aptGate(
      withRun(
        "RUN apt-get update \\\n    # tzdata first\n    && apt-get install -y tzdata \\\n    && DEBIAN_FRONTEND=noninteractive apt-get install -y curl",
      ),
    );
    expect(gate?.status).toBe("fail");
    expect(gate?.location?.line).toBe(5);
    expect(gate?.message).toMatch(
      /apt-get install at line 5 runs before the DEBIAN_FRONTEND=noninteractive at line 6 of the same RUN/,
    );
  });

  it("flags a DEBIAN_FRONTEND that is set but never exported", async () => {
    const gate = await aptGate(withRun("RUN DEBIAN_FRONTEND=noninteractive; apt-get install -y tzdata"));
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(/is a shell variable that apt-get never sees — it is not exported/);
  });

  it("flags apt-get install without -y, and accepts -y, --yes, --assume-yes, -qq and -qy", async () => {
    const gate = await aptGate(
      GOOD_DOCKERFILE.replace("apt-get install -y --no-install-recommends", "apt-get install"),
    );
    expect(gate?.status).toBe("fail");
    expect(gate?.location).toEqual({ file: "container/Dockerfile", line: 4 });
    expect(gate?.message).toMatch(/apt-get install at line 4 has no -y/);
    expect(gate?.hint).toMatch(/Add -y to apt-get install at line 4/);
    for (const yes of ["-y", "--yes", "--assume-yes", "-qq", "-qy", "-o APT::Get::Assume-Yes=true"]) {
      const ok = await aptGate(GOOD_DOCKERFILE.replace("apt-get install -y", `apt-get install ${yes}`));
      expect(ok?.status, `${yes}: ${ok?.message}`).toBe("pass");
    }
  });

  it("reads RUN lines with flags and heredocs at their own Dockerfile lines", async () => {
    const mount = await aptGate(
      withRun(
        "RUN --mount=type=cache,target=/var/cache/apt \\\n    apt-get update && apt-get install -y tzdata",
      ),
    );
    expect(mount?.location?.line).toBe(4);
    const heredoc = await aptGate(
      withRun("RUN <<EOF\nset -e\napt-get update\napt-get install -y tzdata\nEOF"),
    );
    expect(heredoc?.status).toBe("fail");
    expect(heredoc?.message).toMatch(/apt-get install runs at line 6 before DEBIAN_FRONTEND/);
  });

  it("checks exec-form RUN lines, and says so when a RUN is not valid sh", async () => {
    const exec = await aptGate(withRun('RUN ["apt-get", "install", "-y", "tzdata"]'));
    expect(exec?.status).toBe("fail");
    expect(exec?.message).toMatch(/line 3 before DEBIAN_FRONTEND=noninteractive is set/);
    const broken = await aptGate(GOOD_DOCKERFILE.replace("RUN apt-get", "RUN if then apt-get"));
    expect(broken?.status).toBe("warn");
    expect(broken?.message).toMatch(/RUN at line 4 is not valid sh/);
  });
});
