import { spawnSync } from "node:child_process";
import http from "node:http";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/adapters/aws.js";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL } from "../../src/adapters/container-owner.js";
import type { DockerExecOptions } from "../../src/adapters/docker.js";
import { systemClock } from "../../src/app/runtime.js";
import { localTestEvidence, localTestGates, localTestPhase } from "../../src/phases/03-local-test.js";
import { allPhases } from "../../src/phases/index.js";
import { runPhases } from "../../src/phases/runner.js";
import { seedAccount } from "../support/aws-account.js";
import { containersNamed } from "../support/cli-process.js";
import { createTestContext, withProgress } from "../support/context.js";
import {
  BASE_IMAGE,
  containerProject,
  LOCAL_REGISTRY,
  localConfig,
  recordingDocker,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

/**
 * Phase 3 runs the image as a single-container SageMaker endpoint runs it: nothing tells the
 * server its port (it must listen on 8080), and the AWS credentials reach it through a loopback
 * credentials endpoint, never as environment values that `docker inspect` would show.
 */
const SENTINEL = `sentinel-secret-${Math.random().toString(36).slice(2, 12)}`;
const SILENT_IMAGE = "gen3d-it-silent:local";
const NO_ENTRY_IMAGE = "gen3d-it-no-entry:local";

function buildImage(tag: string, entrypoint: string[]): void {
  const dockerfile = `FROM ${BASE_IMAGE}\nENTRYPOINT ${JSON.stringify(entrypoint)}\n`;
  const built = spawnSync("docker", ["build", "--tag", tag, "-"], { input: dockerfile, encoding: "utf8" });
  if (built.status !== 0) throw new Error(built.stderr);
}

function imageId(ref: string): string {
  return spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], {
    encoding: "utf8",
  }).stdout.trim();
}

describe("phase 3 runs the image exactly as SageMaker does", { timeout: 240_000 }, () => {
  let moto: MotoServer;
  let dir: string;
  let modelBytes: { sam3: number; sam3d: number };
  let built: { localImage: string; imageId: string };
  const repository = `gen3d-it-contract-${Math.random().toString(36).slice(2, 8)}`;
  const previousSecret = process.env.AWS_SECRET_ACCESS_KEY;

  beforeAll(async () => {
    requireLocalStack();
    // The CLI's own credentials carry the sentinel: moto accepts any key.
    process.env.AWS_SECRET_ACCESS_KEY = SENTINEL;
    moto = await startMoto();
    await seedAccount(moto);
    ({ dir, modelBytes } = await containerProject());
    const ctx = await context();
    const report = await runPhases(withProgress(ctx), allPhases(), { to: 2 });
    expect(report.error?.message, report.error?.details.join("\n")).toBeUndefined();
    const { localImage, imageId } = ctx.state.state.artifacts as { localImage: string; imageId: string };
    built = { localImage, imageId };
    // A script that prints like a server and serves nothing (the seed's inference.py), and an
    // entry point that does not exist in the image.
    buildImage(SILENT_IMAGE, ["python3", "-u", "-c", "import time; print('model loaded'); time.sleep(600)"]);
    buildImage(NO_ENTRY_IMAGE, ["/opt/no-such-server"]);
  }, 600_000);

  afterAll(async () => {
    process.env.AWS_SECRET_ACCESS_KEY = previousSecret;
    await moto?.stop();
    removeImages(
      (r) => r.startsWith("gen3d-it:") || r.startsWith(`${LOCAL_REGISTRY}/${repository}`),
      [SILENT_IMAGE, NO_ENTRY_IMAGE],
    );
  });

  // The build's project folder for the first context; a fresh one (its own STATE.json) after.
  async function context(options: { environment?: Record<string, string>; project?: string } = {}) {
    const config = localConfig({
      endpoint: moto.endpoint,
      repository,
      modelBytes,
      environment: options.environment,
    });
    config.timeouts.startupSeconds = 30;
    if (options.project) config.project.name = options.project;
    const docker = recordingDocker();
    // `docker inspect` of the container right after `docker run` created it: what anyone with the
    // socket can read for as long as it exists.
    const inspected: string[] = [];
    const exec = docker.exec.bind(docker);
    docker.exec = async (args: readonly string[], opts?: DockerExecOptions) => {
      const result = await exec(args, opts);
      if (args[0] === "run" && result.exitCode === 0) {
        const name = args[args.indexOf("--name") + 1] as string;
        inspected.push(spawnSync("docker", ["inspect", name], { encoding: "utf8" }).stdout);
      }
      return result;
    };
    const ctx = await createTestContext({
      dir: built ? undefined : dir,
      config,
      docker,
      aws: createAwsClients(config.aws),
      clock: systemClock,
      env: { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT },
    });
    return Object.assign(ctx, { calls: docker.calls, inspected });
  }

  async function localTest(ctx: Awaited<ReturnType<typeof context>>, image = built) {
    await ctx.state.setArtifacts({ localImage: image.localImage, imageId: image.imageId } as never);
    const progress: string[] = [];
    const run = await localTestPhase.run(withProgress(ctx, progress));
    const evidence = localTestEvidence.parse(run.evidence);
    const gates = localTestGates(evidence, ["get_embedding", "segment", "generate_3d"], image.imageId);
    return { evidence, gates, progress, failed: gates.filter((g) => g.status === "fail") };
  }

  it("no SAGEMAKER_BIND_TO_PORT: the model's environment only, /ping and every task on 8080", async () => {
    const ctx = await context();
    const { evidence, failed } = await localTest(ctx);
    const run = ctx.calls.find((c) => c[0] === "run") ?? [];
    expect(run.join(" ")).not.toContain("SAGEMAKER_BIND_TO_PORT");
    const env =
      (JSON.parse(ctx.inspected[0] ?? "[]") as { Config: { Env: string[] } }[])[0]?.Config.Env ?? [];
    expect(env.some((e) => e.startsWith("SAGEMAKER_BIND_TO_PORT="))).toBe(false);
    // The one deviation from SageMaker: loopback only on host networking.
    expect(env).toContain("GEN3D_BIND_HOST=127.0.0.1");
    expect(env).toContain("GEN3D_SAM3_DIR=/opt/gen3d/models/sam3");

    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(evidence.boundTo).toBe("http://127.0.0.1:8080");
    expect(evidence.startup.probedPort).toBe(8080);
    expect(evidence.startup.listening?.map((l) => l.port) ?? [8080]).not.toContain(18081);
    expect(run).toEqual(expect.arrayContaining(["--network", "host"]));
    expect(containersNamed("gen3d-local-test-gen3d-it")).toEqual([]);
  });

  it("the CLI's secret key is not in docker inspect (nor argv); S3 works through the loopback credentials endpoint, gone after the test", async () => {
    const ctx = await context();
    const { evidence, failed } = await localTest(ctx);
    expect(ctx.inspected).toHaveLength(1);
    const inspect = ctx.inspected[0] as string;
    expect(inspect).not.toContain(SENTINEL);
    const env = (JSON.parse(inspect) as { Config: { Env: string[] } }[])[0]?.Config.Env ?? [];
    expect(env.some((e) => e.startsWith("AWS_SECRET_ACCESS_KEY="))).toBe(false);
    expect(env.some((e) => e.startsWith("AWS_ACCESS_KEY_ID="))).toBe(false);
    const run = ctx.calls.find((c) => c[0] === "run") ?? [];
    expect(run.join(" ")).not.toContain(SENTINEL);
    expect(run).toContain("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    expect(run.join(" ")).not.toMatch(/AWS_CONTAINER_AUTHORIZATION_TOKEN=/);
    const uri = env.find((e) => e.startsWith("AWS_CONTAINER_CREDENTIALS_FULL_URI="))?.split("=")[1] ?? "";
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    // Every task read and wrote S3 with credentials that came from the endpoint, and the
    // endpoint is gone with the test.
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    for (const task of Object.values(evidence.tasks)) expect(task.ok, task.problem).toBe(true);
    expect(evidence.credentials?.via).toBe("endpoint");
    expect(evidence.credentials?.requests).toBeGreaterThan(0);
    await expect(fetch(uri, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });

  it("a server listening on another port fails phase 3 naming the port probed and the port its log shows, without waiting out the budget", async () => {
    // The image accepts SAGEMAKER_BIND_TO_PORT; the model's environment sets another port.
    const ctx = await context({ environment: { SAGEMAKER_BIND_TO_PORT: "18081" } });
    const started = Date.now();
    const { failed, evidence } = await localTest(ctx);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(failed[0]?.id).toBe("local.startup");
    expect(failed[0]?.message).toMatch(/\/ping on port 8080 got no answer: the server listens on port 18081/);
    expect(failed[0]?.message).toMatch(/Listening at: http:\/\/127\.0\.0\.1:18081/);
    expect(failed[0]?.hint).toMatch(/listen on 0\.0\.0\.0:8080/);
    expect(evidence.startup.listening?.map((l) => l.port)).toContain(18081);
    expect(containersNamed("gen3d-local-test-gen3d-it")).toEqual([]);
  });

  it("an image that starts no HTTP server fails in phase 3, which says it is where that is decided, with the log tail", async () => {
    const ctx = await context();
    ctx.config.timeouts.startupSeconds = 4;
    const { failed } = await localTest(ctx, { localImage: SILENT_IMAGE, imageId: imageId(SILENT_IMAGE) });
    expect(failed[0]?.id).toBe("local.startup");
    expect(failed[0]?.message).toMatch(/`docker run IMAGE serve` started no HTTP server/);
    expect(failed[0]?.message).toMatch(/phase 3 decides "starts an HTTP server"/);
    expect(failed[0]?.details).toEqual(["container log (last lines):", "  model loaded"]);
    expect(containersNamed("gen3d-local-test-gen3d-it")).toEqual([]);
  });

  it("a container docker cannot start fails the startup gate with docker's words and is removed, not left `Created`", async () => {
    const ctx = await context();
    const { failed, evidence } = await localTest(ctx, {
      localImage: NO_ENTRY_IMAGE,
      imageId: imageId(NO_ENTRY_IMAGE),
    });
    expect(evidence.startup.runError).toMatch(/no-such-server/);
    expect(failed[0]?.message).toMatch(
      /`docker run IMAGE serve` failed before the container started: .*no-such-server/,
    );
    expect(containersNamed("gen3d-local-test-gen3d-it")).toEqual([]);
  });

  it("two local tests on one host take turns on 8080; the one that waits names the holder", async () => {
    const first = await context({ project: "gen3d-it-first" });
    const second = await context({ project: "gen3d-it-second" });
    const [a, b] = await Promise.all([
      localTest(first),
      new Promise((r) => setTimeout(r, 300)).then(() => localTest(second)),
    ]);
    expect(a.failed, JSON.stringify(a.failed)).toEqual([]);
    expect(b.failed, JSON.stringify(b.failed)).toEqual([]);
    expect(b.progress.join("\n")).toMatch(
      new RegExp(
        `waiting for port 8080: it is held by the local test of project gen3d-it-first \\(.*pid ${process.pid}`,
      ),
    );
  });

  it("two local tests of the same project (two checkouts) take turns: the waiting one does not remove the other's container", async () => {
    const first = await context({ project: "gen3d-it-same" });
    const second = await context({ project: "gen3d-it-same" });
    const [a, b] = await Promise.all([
      localTest(first),
      new Promise((r) => setTimeout(r, 300)).then(() => localTest(second)),
    ]);
    expect(a.failed, JSON.stringify(a.failed)).toEqual([]);
    expect(b.failed, JSON.stringify(b.failed)).toEqual([]);
  });

  it("something else answering on 8080 fails the startup gate naming the port and how to free it; no container is started", async () => {
    const server = http.createServer((_, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(8080, "127.0.0.1", resolve));
    try {
      const ctx = await context();
      const { failed, evidence } = await localTest(ctx);
      expect(evidence.startup.portInUse).toBe(8080);
      expect(failed[0]?.message).toMatch(
        /port 8080 on 127\.0\.0\.1 already answered before the container started/,
      );
      expect(failed[0]?.hint).toMatch(/ss -ltnp 'sport = :8080'/);
      expect(ctx.calls.some((c) => c[0] === "run")).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a local-test container of another project whose run was killed, still holding 8080, is removed", async () => {
    const stray = "gen3d-local-test-gen3d-it-killed";
    const dead = Number(spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim());
    spawnSync("docker", ["rm", "--force", stray]);
    const started = spawnSync("docker", [
      "run",
      "--detach",
      "--name",
      stray,
      "--label",
      "gen3d.local-test=gen3d-it-killed",
      "--label",
      `${OWNER_PID_LABEL}=${dead}`,
      "--label",
      `${OWNER_HOST_LABEL}=${os.hostname()}`,
      "--network",
      "host",
      "--entrypoint",
      "python3",
      BASE_IMAGE,
      "-m",
      "http.server",
      "--bind",
      "127.0.0.1",
      "8080",
    ]);
    expect(started.status, String(started.stderr)).toBe(0);
    try {
      const ctx = await context();
      const { failed, progress } = await localTest(ctx);
      expect(failed, JSON.stringify(failed)).toEqual([]);
      expect(progress.join("\n")).toContain(`removed local-test container(s) a killed run left: ${stray}`);
      expect(containersNamed(stray)).toEqual([]);
    } finally {
      spawnSync("docker", ["rm", "--force", stray]);
    }
  });
});
