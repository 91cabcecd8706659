import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/adapters/aws.js";
import { DOCKER_V2_MANIFEST, OCI_MANIFEST, readRemoteImage } from "../../src/adapters/registry.js";
import { systemClock } from "../../src/app/runtime.js";
import { localTestEvidence } from "../../src/phases/03-local-test.js";
import { allPhases } from "../../src/phases/index.js";
import { runPhases } from "../../src/phases/runner.js";
import { seedAccount } from "../support/aws-account.js";
import { createTestContext, withProgress } from "../support/context.js";
import {
  arm64BaseImage,
  containerProject,
  LOCAL_REGISTRY,
  localConfig,
  recordingDocker,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

/**
 * Phases 2–4 on the real local stack: dockerd, the loopback registry, moto. The real
 * container/ is built (offline base image, test backend), run as SageMaker runs it, and pushed.
 */
// Builds and container runs: generous on a cold, two-core machine (no assertion is on time).
describe("phases 1–4 on the local stack", { timeout: 240_000 }, () => {
  let moto: MotoServer;
  const phases = allPhases();

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto();
    await seedAccount(moto);
  });
  afterAll(async () => {
    await moto?.stop();
    // Leave the engine as we found it: every project built and pushed its own content-tagged image.
    removeImages((r) => r.startsWith("gen3d-it:") || r.startsWith(`${LOCAL_REGISTRY}/gen3d-it-`));
  });

  async function project(options: { environment?: Record<string, string>; baseImage?: string } = {}) {
    const { dir, modelBytes } = await containerProject();
    const repository = `gen3d-it-${Math.random().toString(36).slice(2, 8)}`;
    const config = localConfig({
      endpoint: moto.endpoint,
      repository,
      modelBytes,
      ...options,
    });
    const docker = recordingDocker();
    const ctx = await createTestContext({
      dir,
      config,
      docker,
      aws: createAwsClients(config.aws),
      clock: systemClock,
      // Phase 2 picks its build flags from DOCKER_BUILDKIT (env.sh sets the legacy builder).
      env: { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT },
    });
    return { ctx, docker, dir, repository };
  }

  it("build, local test and push pass end to end; what was tested is what was pushed; a rerun does nothing", async () => {
    const { ctx, docker, repository } = await project();
    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.error?.message, JSON.stringify(report.error?.details)).toBeUndefined();
    expect(report.phases.map((p) => p.type)).toEqual(["passed", "passed", "passed", "passed"]);

    const artifacts = ctx.state.state.artifacts as Record<string, string>;
    expect(artifacts.imageTag).toMatch(/^0\.1\.0-[0-9a-f]{12}$/);
    expect(
      docker.calls.some((c) => c[0] === "build" && c.includes("--platform") && c.includes("linux/amd64")),
    ).toBe(true);

    // Phase 3 ran the image with `serve`, exercised every task and checked their S3 artifacts.
    const local = localTestEvidence.parse((ctx.state.phase(3).evidence as { run: unknown }).run);
    expect(
      docker.calls.some(
        (c) => c[0] === "run" && c.at(-1) === "serve" && c.includes("--network") && c.includes("host"),
      ),
    ).toBe(true);
    expect(local.imageId).toBe(artifacts.imageId);
    expect(Object.keys(local.tasks)).toEqual(["get_embedding", "segment", "generate_3d"]);
    for (const task of Object.values(local.tasks) as { ok: boolean }[]) expect(task.ok).toBe(true);
    expect(local.tasks.segment?.artifacts[0]?.detail).toBe("PNG 96×64 for a 96×64 image");
    expect(local.startup.secondsToHealthy).toBeGreaterThan(0);
    expect(local.stop?.seconds).toBeLessThan(30);
    expect(local.logs.problems).toEqual([]);
    expect(docker.calls.some((c) => c[0] === "rm" && c.includes("--force"))).toBe(true);

    // The registry holds exactly the tested image, and the state pins it by digest.
    const remote = await readRemoteImage({ host: LOCAL_REGISTRY, repository }, artifacts.imageTag as string);
    expect(remote?.configDigest).toBe(local.imageId);
    expect(artifacts.imageUri).toBe(`${LOCAL_REGISTRY}/${repository}@${remote?.manifestDigest}`);
    expect(remote?.mediaType).toBe(DOCKER_V2_MANIFEST);
    expect(remote?.isIndex).toBe(false);

    // Read-only verification of each phase passes against reality.
    for (const id of [2, 3, 4]) {
      const gates = await phases[id - 1]?.verify(withProgress(ctx));
      expect(
        gates?.filter((g) => g.status === "fail"),
        `phase ${id}`,
      ).toEqual([]);
    }

    // Nothing changed: every phase is skipped and docker is not asked to build, run or push.
    docker.calls.length = 0;
    const again = await runPhases(ctx, phases, { to: 4 });
    expect(again.phases.map((p) => p.type)).toEqual(["skipped", "skipped", "skipped", "skipped"]);
    expect(docker.calls.filter((c) => ["build", "run", "push"].includes(c[0] as string))).toEqual([]);
  });

  it("a one-line code change makes a new tag and a rebuild", async () => {
    const { ctx, dir } = await project();
    await runPhases(ctx, phases, { to: 2 });
    const first = (ctx.state.state.artifacts as { imageTag: string }).imageTag;
    await writeFile(path.join(dir, "container/gen3d_serving/__init__.py"), "# a one-line change\n", {
      flag: "a",
    });
    const report = await runPhases(ctx, phases, { to: 2 });
    // Preflight looks at the changed context again, then the build follows.
    expect(report.phases[0]).toMatchObject({ type: "passed", reason: "inputs changed since it passed" });
    expect(report.phases[1]).toMatchObject({ type: "passed", reason: "an earlier phase re-ran (phase 1)" });
    expect((ctx.state.state.artifacts as { imageTag: string }).imageTag).not.toBe(first);

    // "Already done" is decided by looking at reality: a pruned image is rebuilt, not assumed.
    const ref = (ctx.state.state.artifacts as { localImage: string }).localImage;
    expect(spawnSync("docker", ["image", "rm", "--force", ref]).status).toBe(0);
    const rebuilt = await runPhases(ctx, phases, { to: 2 });
    expect(rebuilt.phases.map((p) => p.type)).toEqual(["skipped", "passed"]);
    expect(spawnSync("docker", ["image", "inspect", ref]).status).toBe(0);
  });

  it("a local-test container left behind by a killed run is replaced, not trusted", async () => {
    const { ctx, docker } = await project();
    // What a `kill -9` during phase 3 leaves: a running container under the project's fixed name.
    const name = "gen3d-local-test-gen3d-it";
    spawnSync("docker", ["rm", "--force", name]);
    expect(
      spawnSync("docker", [
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "none",
        "gen3d-base:local",
        "sleep",
        "600",
      ]).status,
    ).toBe(0);
    const report = await runPhases(ctx, phases, { to: 3 });
    expect(report.error?.message, report.error?.details.join("\n")).toBeUndefined();
    const runs = docker.calls.filter((c) => c[0] === "run" && c.includes("serve"));
    const removedFirst = docker.calls.findIndex((c) => c[0] === "rm" && c.includes(name));
    expect(removedFirst).toBeGreaterThanOrEqual(0);
    expect(removedFirst).toBeLessThan(docker.calls.indexOf(runs[0] as string[]));
    expect(spawnSync("docker", ["inspect", name]).status).not.toBe(0);
  });

  it("a container that crashes at start fails phase 3 and shows its log tail", async () => {
    const { ctx } = await project({ environment: { GEN3D_BACKEND: "no-such-backend" } });
    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.phases.map((p) => p.type)).toEqual(["passed", "passed", "failed", "not-reached"]);
    expect(report.error?.code).toBe("GATE_LOCAL_STARTUP");
    expect(report.error?.message).toMatch(/exited \(code \d+\) before \/ping answered 200/);
    expect(report.error?.details.join("\n")).toMatch(/no-such-backend/);
    expect(report.error?.hint).toMatch(/docker run --network host IMAGE serve/);
  });

  it("a container without the segment task fails phase 3 naming it", async () => {
    const { ctx } = await project({ environment: { GEN3D_DISABLED_TASKS: "segment" } });
    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.phases[2]?.type).toBe("failed");
    const details = report.error?.details.join("\n") ?? "";
    expect(details).toMatch(/segment failed: HTTP 400/);
    expect(details).toMatch(/does not implement the segment task/);
    expect(ctx.state.phase(4).status).toBe("pending");
  });

  it("an image for arm64 fails phase 2 before anything runs it, naming the fix", async () => {
    const { ctx } = await project({ baseImage: await arm64BaseImage() });
    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.phases.map((p) => p.type)).toEqual(["passed", "failed", "not-reached", "not-reached"]);
    // Docker refuses the arm64 base under --platform linux/amd64 at the first RUN; an image that
    // does get built for arm64 (no RUN step) is caught by the image.platform gate instead.
    expect(report.error?.code, report.error?.details.join("\n")).toBe("IMAGE_PLATFORM");
    expect(report.error?.message).toMatch(/base image is linux\/arm64, but SageMaker runs linux\/amd64/);
    expect(report.error?.hint).toMatch(/linux\/amd64 base image/);
    expect(ctx.state.phase(2).error?.code).toBe("IMAGE_PLATFORM");
  });

  it("an existing tag with other content is refused by phase 4 (seed issue #21)", async () => {
    const { ctx, repository } = await project();
    await runPhases(ctx, phases, { to: 3 });
    const tag = (ctx.state.state.artifacts as { imageTag: string }).imageTag;
    // Someone pushed something else under the same tag by hand.
    const stray = `${LOCAL_REGISTRY}/${repository}:${tag}`;
    for (const args of [
      ["tag", "gen3d-base:local", stray],
      ["push", stray],
    ]) {
      expect(spawnSync("docker", args).status).toBe(0);
    }
    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.phases[3]?.type).toBe("failed");
    expect(report.error?.code).toBe("TAG_EXISTS");
    expect(report.error?.message).toContain("already exists with other content");
    expect(report.error?.hint).toMatch(/bump image.version/);
  });

  it("an OCI-format manifest under the tag is refused by phase 4, naming the fix; no imageUri is recorded", async () => {
    const { ctx, repository } = await project();
    await runPhases(ctx, phases, { to: 3 });
    const artifacts = ctx.state.state.artifacts as { imageTag: string; localImage: string };
    // What BuildKit's OCI exporter or Docker Desktop's containerd store pushes: the same image
    // with OCI media types (skopeo writes one from the local engine).
    const copy = spawnSync(
      "skopeo",
      [
        "copy",
        "--format",
        "oci",
        "--dest-tls-verify=false",
        `docker-daemon:${artifacts.localImage}`,
        `docker://${LOCAL_REGISTRY}/${repository}:${artifacts.imageTag}`,
      ],
      { encoding: "utf8" },
    );
    expect(copy.status, copy.stderr).toBe(0);
    const remote = await readRemoteImage({ host: LOCAL_REGISTRY, repository }, artifacts.imageTag);
    expect(remote?.mediaType).toBe(OCI_MANIFEST);

    const report = await runPhases(ctx, phases, { to: 4 });
    expect(report.phases[3]?.type).toBe("failed");
    expect(report.error?.code, report.error?.message).toBe("IMAGE_MANIFEST_TYPE");
    expect(report.error?.message).toContain(OCI_MANIFEST);
    expect(report.error?.hint).toContain(DOCKER_V2_MANIFEST);
    expect(report.error?.hint).toMatch(/--provenance=false --sbom=false/);
    expect(report.error?.hint).toContain(`--image-ids imageTag=${artifacts.imageTag}`);
    expect(ctx.state.state.artifacts.imageUri).toBeUndefined();
  });
});
