import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DockerCli } from "../../src/adapters/docker.js";
import { systemClock } from "../../src/app/runtime.js";
import { renderArtifacts, renderRunResult } from "../../src/commands/render.js";
import { statusCommand } from "../../src/commands/status.js";
import { createIo } from "../../src/engine/output.js";
import { isSecretName } from "../../src/engine/secret-names.js";
import { localTestPhase } from "../../src/phases/03-local-test.js";
import { containersNamed } from "../support/cli-process.js";
import { createTestContext, withProgress } from "../support/context.js";
import { testRuntime } from "../support/fakes.js";
import { BASE_IMAGE, recordingDocker, requireLocalStack } from "../support/local-stack.js";
import { validConfig } from "../support/project.js";

/** A value that must appear in no argv and no output. */
const SENTINEL = `sentinel-${Math.random().toString(36).slice(2, 10)}`;

describe("secret-named localTest.environment values stay out of argv and output", {
  timeout: 120_000,
}, () => {
  beforeAll(() => requireLocalStack());

  it("names like a token, secret, password or key are secret; ordinary settings are not", () => {
    for (const name of [
      "HF_TOKEN",
      "OPENAI_API_KEY",
      "DB_PASSWORD",
      "AWS_SECRET_ACCESS_KEY",
      "STRIPE_KEY",
      "githubToken",
    ])
      expect(isSecretName(name), name).toBe(true);
    for (const name of ["GEN3D_LOG_LEVEL", "GEN3D_KEY_PREFIX", "mask_s3_key", "imageKey", "GEN3D_BACKEND"])
      expect(isSecretName(name), name).toBe(false);
  });

  it("phase 3 passes them as `--env NAME` (the value through docker's own environment), never NAME=value", async () => {
    const docker = recordingDocker();
    const imageId = execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE], {
      encoding: "utf8",
    }).trim();
    const ctx = await createTestContext({
      config: validConfig({
        project: { name: "gen3d-secret-env" },
        aws: { region: "us-east-1", endpoint: "http://127.0.0.1:1" },
        localTest: {
          aliveAfterSeconds: 0,
          environment: { HF_TOKEN: SENTINEL, OPENAI_API_KEY: SENTINEL, GEN3D_BACKEND: "test" },
        },
        timeouts: { startupSeconds: 5 },
      }),
      docker,
      clock: systemClock,
    });
    await ctx.state.setArtifacts({ localImage: BASE_IMAGE, imageId } as never);
    // The base image has no `serve`: docker run fails, which is all this test needs (the argv);
    // the container it created is removed all the same.
    await localTestPhase.run(withProgress(ctx)).catch(() => undefined);
    expect(containersNamed("gen3d-local-test-gen3d-secret-env")).toEqual([]);
    const run = docker.calls.find((c) => c[0] === "run");
    expect(run).toBeDefined();
    expect(run?.join(" ")).not.toContain(SENTINEL);
    const named = (run ?? []).flatMap((arg, i) =>
      ["-e", "--env"].includes(run?.[i - 1] ?? "") ? [arg] : [],
    );
    expect(named).toContain("HF_TOKEN");
    expect(named).toContain("OPENAI_API_KEY");
    expect(named).toContain("GEN3D_BACKEND=test");
  });

  it("a `--env NAME` flag does carry the value into the container", async () => {
    const result = await new DockerCli().exec(
      [
        "run",
        "--rm",
        "--network",
        "none",
        "--env",
        "HF_TOKEN",
        "--entrypoint",
        "printenv",
        BASE_IMAGE,
        "HF_TOKEN",
      ],
      { env: { HF_TOKEN: SENTINEL }, timeoutMs: 60_000 },
    );
    expect(result.stdout.trim()).toBe(SENTINEL);
  });

  it("`status` (human and --json) and deploy's summary never print a secret-named value", async () => {
    const ctx = await createTestContext({ config: validConfig() });
    await ctx.state.setPhase(5, {
      status: "passed",
      attempts: 1,
      note: `created with HF_TOKEN=${SENTINEL}`,
      evidence: { run: { Environment: { OPENAI_API_KEY: SENTINEL, GEN3D_LOG_LEVEL: "INFO" } } },
    });
    await ctx.state.setArtifacts({ modelEnvironment: { STRIPE_KEY: SENTINEL } } as never);
    const dir = path.dirname(ctx.state.file);
    await writeFile(path.join(dir, "marker"), "");
    for (const json of [false, true]) {
      const runtime = testRuntime(dir);
      expect(await statusCommand({ state: ctx.state.file, json }, runtime)).toBe(0);
      expect(runtime.out.stdout, json ? "status --json" : "status").not.toContain(SENTINEL);
      expect(runtime.out.stdout).toContain(json ? "GEN3D_LOG_LEVEL" : "STRIPE_KEY");
    }
    const io = createIo({ env: { CI: "true" } });
    const summary = renderRunResult(io, {
      status: "passed",
      phases: [{ id: 5, type: "passed", reason: "x", durationMs: 1, outcome: `HF_TOKEN=${SENTINEL}` }],
    });
    expect(summary).toContain("HF_TOKEN=");
    expect(summary).not.toContain(SENTINEL);
    expect(renderArtifacts(io, ctx.state.state.artifacts, ctx.state.state.phases)).not.toContain(SENTINEL);
  });
});
