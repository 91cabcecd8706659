import { spawn, spawnSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { seedAccount } from "../support/aws-account.js";
import {
  containerProject,
  freePort,
  LOCAL_REGISTRY,
  localConfig,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";
import { type FaultProxy, startProxy } from "./proxy.js";

/**
 * The Docker daemon and the registry failing under gen3d, through proxies this test starts (the
 * shared dockerd and registry are never touched): DOCKER_HOST points at a unix-socket proxy in front
 * of /var/run/docker.sock, aws.registry at a TCP proxy in front of the registry. Each fault either
 * completes through retries or fails its phase naming the cause and the fix; the next run completes
 * once the fault is gone, and no container of a dead gen3d is left.
 */
const BIN = path.resolve(process.env.GEN3D_CHAOS_BIN ?? "bin/gen3d.js");
const DOCKER_SOCKET = "/var/run/docker.sock";
let moto: MotoServer;
let docker: FaultProxy;
let registry: FaultProxy;
let dir: string;
let env: Record<string, string>;
const repository = `gen3d-faults-${Math.random().toString(36).slice(2, 8)}`;
const pids = new Set<string>();

function gen3d(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, ...env, CI: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    pids.add(String(child.pid));
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** Containers (through the real socket) created by a gen3d this test started that has exited. */
function orphans(): string[] {
  const listed = spawnSync(
    "docker",
    [
      "ps",
      "--all",
      "--filter",
      "label=gen3d.owner-pid",
      "--format",
      '{{.Names}} {{.State}} {{.Label "gen3d.owner-pid"}}',
    ],
    { encoding: "utf8", env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCKET}` } },
  ).stdout;
  return listed
    .split("\n")
    .filter(Boolean)
    .filter((line) => pids.has(line.split(" ")[2] ?? ""))
    .filter((line) => {
      try {
        process.kill(Number(line.split(" ")[2]), 0);
        return false;
      } catch {
        return true;
      }
    });
}

async function phase(id: number): Promise<{ status?: string; error?: { message?: string; hint?: string } }> {
  const state = JSON.parse(await readFile(path.join(dir, "STATE.json"), "utf8"));
  return state.phases[String(id)] ?? {};
}

async function registryTags(): Promise<string[]> {
  const response = await fetch(`http://${LOCAL_REGISTRY}/v2/${repository}/tags/list`);
  return response.ok ? (((await response.json()) as { tags?: string[] }).tags ?? []) : [];
}

beforeAll(async () => {
  requireLocalStack();
  moto = await startMoto({ startupTimeoutMs: 120_000 });
  await seedAccount(moto);
  docker = await startProxy({
    listen: path.join(os.tmpdir(), `gen3d-docker-proxy-${process.pid}.sock`),
    upstream: DOCKER_SOCKET,
  });
  const [host, port] = LOCAL_REGISTRY.split(":");
  registry = await startProxy({
    listen: { host: "127.0.0.1", port: 0 },
    upstream: { host: host as string, port: Number(port) },
  });
  const project = await containerProject();
  dir = project.dir;
  const config = localConfig({
    endpoint: moto.endpoint,
    port: await freePort(),
    repository,
    modelBytes: project.modelBytes,
  });
  config.aws.registry = registry.address;
  // A name of its own: the local-test container's name derives from it, and other suites use gen3d-it.
  config.project.name = repository;
  config.image.name = repository;
  await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));
  env = { ...moto.env, DOCKER_HOST: `unix://${docker.address}` };
});

afterAll(async () => {
  await docker?.close();
  await registry?.close();
  await moto?.stop();
  for (const line of orphans()) spawnSync("docker", ["rm", "--force", line.split(" ")[0] as string]);
  const refs = spawnSync("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
    encoding: "utf8",
  })
    .stdout.split("\n")
    .filter((r) => r.includes(`/${repository}:`) || r.startsWith(`${repository}:`));
  if (refs.length) spawnSync("docker", ["image", "rm", "--force", ...refs]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Docker daemon and registry faults", { timeout: 600_000 }, () => {
  // A failed assertion must not leave the next test behind a cut proxy.
  beforeEach(() => {
    docker.restore();
    registry.restore();
  });

  it("the daemon's connection reset mid-build: phase 2 fails naming Docker, the rerun builds", async () => {
    // Reset the build request's connection once 256 KiB of the context has gone up, every time.
    docker.resetWhen(/^POST \S*\/build/, 256 * 1024, -1);
    const failed = await gen3d(["deploy", "--to", "2"]);
    expect(docker.resets, failed.out).toBeGreaterThan(0);
    expect(failed.code, failed.out).not.toBe(0);
    const build = await phase(2);
    expect(build.status, failed.out).toBe("failed");
    expect(`${build.error?.message} ${build.error?.hint}`).toMatch(/docker|daemon|build/i);
    expect(build.error?.hint ?? "", failed.out).not.toBe("");
    docker.restore();
    const rerun = await gen3d(["deploy", "--to", "2"]);
    expect(rerun.code, rerun.out).toBe(0);
    expect(orphans()).toEqual([]);
  });

  it("the daemon unreachable mid-local-test: phase 3 fails, the container it started is reaped by the next run", async () => {
    // Let the container start, then the daemon is gone: gen3d can neither watch nor remove it.
    docker.cutAfter(/^POST \S*\/containers\/[^/\s]+\/start/);
    const failed = await gen3d(["deploy", "--to", "3"]);
    expect(failed.code, failed.out).not.toBe(0);
    expect(
      docker.requests.some((r) => /\/containers\/[^/\s]+\/start/.test(r)),
      failed.out,
    ).toBe(true);
    const localTest = await phase(3);
    expect(localTest.status, failed.out).toBe("failed");
    expect(`${localTest.error?.message} ${localTest.error?.hint}`, failed.out).toMatch(/docker|daemon/i);
    // The container is there, its owner dead: the leftover the next run must reap.
    expect(orphans().length, failed.out).toBeGreaterThan(0);
    docker.restore();
    const rerun = await gen3d(["deploy", "--to", "3"]);
    expect(rerun.code, rerun.out).toBe(0);
    expect(orphans()).toEqual([]);
  });

  it("the registry resetting a blob upload once: the push completes (the daemon retries), one tag", async () => {
    registry.resetWhen(/^(PATCH|PUT) \/v2\/\S+\/blobs\/uploads/, 4096, 1);
    const pushed = await gen3d(["deploy", "--to", "4"]);
    expect(pushed.code, pushed.out).toBe(0);
    expect(registry.resets, pushed.out).toBe(1);
    expect(await registryTags()).toHaveLength(1);
  });

  it("the registry resetting every upload: phase 4 fails naming the registry; once it recovers the push completes, one tag per content hash", async () => {
    await writeFile(
      path.join(dir, "container", "gen3d_serving", "_build_nonce.py"),
      `NONCE = "${repository}-2"\n`,
    );
    registry.resetWhen(/^(PATCH|PUT|POST) \/v2\/\S+\/blobs\/uploads/, 1, -1);
    const failed = await gen3d(["deploy", "--to", "4"]);
    expect(failed.code, failed.out).not.toBe(0);
    const push = await phase(4);
    expect(push.status, failed.out).toBe("failed");
    expect(`${push.error?.message} ${push.error?.hint}`, failed.out).toMatch(/registry|push/i);
    expect(push.error?.hint ?? "", failed.out).not.toBe("");
    registry.restore();
    const rerun = await gen3d(["deploy", "--to", "4"]);
    expect(rerun.code, rerun.out).toBe(0);
    expect(await registryTags()).toHaveLength(2);
    expect(orphans()).toEqual([]);
  });
});
