import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
// @ts-expect-error: a plain .mjs script without types
import { makeTestModels } from "../../scripts/make-test-models.mjs";
import { DockerCli, type DockerExecOptions } from "../../src/adapters/docker.js";
import { copyContainer, testModels } from "./project-kit.mjs";

/** What a deploy 1 → 10 on the local SageMaker's data plane adds to localConfig (project-kit.mjs). */
export { dataPlaneSettings } from "./project-kit.mjs";

export const LOCAL_REGISTRY = process.env.GEN3D_LOCAL_REGISTRY ?? "127.0.0.1:5000";
export const BASE_IMAGE = process.env.GEN3D_BASE_IMAGE ?? "gen3d-base:local";

/** The local stack must be up: these tests never skip themselves (`bash scripts/local-stack/up.sh`). */
export function requireLocalStack(): void {
  const docker = spawnSync("docker", ["image", "inspect", BASE_IMAGE], { encoding: "utf8" });
  if (docker.status !== 0) {
    throw new Error(
      `the local stack is not up (docker image inspect ${BASE_IMAGE}: ${docker.stderr.trim()}). Run: bash scripts/local-stack/up.sh`,
    );
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A docker that records every command it runs (to prove what a phase did, or did not, do). */
export function recordingDocker(): DockerCli & { calls: string[][] } {
  const docker = new DockerCli() as DockerCli & { calls: string[][] };
  docker.calls = [];
  const exec = docker.exec.bind(docker);
  docker.exec = (args: readonly string[], options?: DockerExecOptions) => {
    docker.calls.push([...args]);
    return exec(args, options);
  };
  // Build and push go through the Engine API: recorded as the CLI commands they stand for.
  const engine = docker.engine.bind(docker);
  docker.engine = async (signal?: AbortSignal) => {
    const real = await engine(signal);
    if (!real) return real;
    return {
      build: (request, options) => {
        docker.calls.push([
          "build",
          "--platform",
          request.platform,
          "--tag",
          request.tag,
          request.contextDir,
        ]);
        return real.build(request, options);
      },
      push: (name, tag, options) => {
        docker.calls.push(["push", `${name}:${tag}`]);
        return real.push(name, tag, options);
      },
    };
  };
  return docker;
}

/** A throwaway project holding a copy of the real container/ plus stand-in weights. */
export async function containerProject(): Promise<{
  dir: string;
  modelBytes: { sam3: number; sam3d: number };
}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-it-"));
  const source = path.resolve("container");
  await copyContainer(source, path.join(dir, "container"));
  const modelBytes = makeTestModels(path.join(dir, "container", "models"), 1) as {
    sam3: number;
    sam3d: number;
  };
  // A fresh content hash per project, so every test really builds (cached layers keep it quick)
  // instead of finding the image an earlier run left with the same tag.
  await writeFile(
    path.join(dir, "container", "gen3d_serving", "_build_nonce.py"),
    `NONCE = "${path.basename(dir)}"\n`,
  );
  return { dir, modelBytes };
}

/** A config for the local stack: moto for AWS, the loopback registry for ECR, the test backend. */
export function localConfig(options: {
  endpoint: string;
  /**
   * Ignored: on host networking phase 3 probes 8080, as SageMaker does, and runs take turns for it
   * (localTest.port is only for network "publish"). Kept so older callers still compile.
   */
  port?: number;
  repository: string;
  modelBytes: { sam3: number; sam3d: number };
  environment?: Record<string, string>;
  baseImage?: string;
}) {
  return {
    project: { name: "gen3d-it" },
    aws: { region: "us-east-1", endpoint: options.endpoint, registry: LOCAL_REGISTRY },
    s3: { bucket: "gen3d-test-bucket" },
    executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
    ecr: { repository: options.repository },
    image: {
      name: "gen3d-it",
      version: "0.1.0",
      contextDir: "container",
      buildArgs: {
        BASE_IMAGE: options.baseImage ?? BASE_IMAGE,
        INSTALL_SAM3: "false",
        PIP_EXTRA_ARGS: "--no-index",
      },
      maxSizeGb: 4,
    },
    models: testModels(options.modelBytes),
    instance: { type: "ml.g6e.xlarge" },
    timeouts: { startupSeconds: 60, buildSeconds: 600 },
    localTest: {
      // No port: host networking probes 8080, as SageMaker does (phase 3 runs take turns).
      aliveAfterSeconds: 1,
      environment: { GEN3D_BACKEND: "test", ...options.environment },
    },
  };
}

/** A containerProject whose gen3d.config.json is localConfig(options), named `name`: its folder. */
export async function configuredProject(
  options: Omit<Parameters<typeof localConfig>[0], "modelBytes"> & { name: string },
): Promise<string> {
  const { name, ...rest } = options;
  const { dir, modelBytes } = await containerProject();
  const config = localConfig({ ...rest, modelBytes });
  config.project.name = name;
  await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));
  return dir;
}

/** Removes (forced) the images whose `repository:tag` `matches`, and the `also` refs. */
export function removeImages(matches: (ref: string) => boolean, also: string[] = []): void {
  const refs = spawnSync("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
    encoding: "utf8",
  })
    .stdout.split("\n")
    .filter((r) => r !== "" && matches(r));
  if (also.length + refs.length > 0) spawnSync("docker", ["image", "rm", "--force", ...also, ...refs]);
}

/**
 * An image whose config says linux/arm64 (the rootfs is the amd64 base: only the metadata
 * matters to the gate). Built offline by rewriting the config of a saved image.
 */
export async function arm64BaseImage(target = "gen3d-it-arm64:base"): Promise<string> {
  if (spawnSync("docker", ["image", "inspect", target]).status === 0) return target;
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-arm64-"));
  execFileSync("sh", ["-c", 'docker save "$1" | tar -x -C "$2"', "sh", BASE_IMAGE, dir]);
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
    Config: string;
    RepoTags: string[];
  }[];
  const entry = manifest[0] as { Config: string; RepoTags: string[] };
  const config = JSON.parse(await readFile(path.join(dir, entry.Config), "utf8")) as { architecture: string };
  config.architecture = "arm64";
  await rm(path.join(dir, entry.Config));
  entry.Config = "config-arm64.json";
  entry.RepoTags = [target];
  await writeFile(path.join(dir, entry.Config), JSON.stringify(config));
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  execFileSync("sh", ["-c", 'tar -c -C "$1" . | docker load', "sh", dir]);
  await rm(dir, { recursive: true, force: true });
  return target;
}
