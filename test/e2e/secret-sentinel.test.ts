import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { DescribeModelCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAccount } from "../support/aws-account.js";
import {
  containerProject,
  dataPlaneSettings,
  LOCAL_REGISTRY,
  localConfig,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

const run = promisify(execFile);
const BIN = path.resolve("bin/gen3d.js");
const PROJECT = "gen3d-sentinel";

/**
 * Issue 14 item 5: one unique sentinel stem in AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and a
 * credential-named variable of gen3d's environment; after `deploy --json --verbose` 1 → 10 on the
 * local SageMaker's data plane it appears nowhere gen3d writes or hands on: STATE.json (and every
 * file beside it), stdout, stderr, the logs and `docker inspect` of every container gen3d or the
 * emulator started (sampled while they run, so phase 3's short-lived container is caught), and
 * the model's Environment as the emulator stores it (DescribeModel).
 */
const STEM = `gen3dSentinel${randomBytes(6).toString("hex")}`;
const SECRETS = {
  AWS_SECRET_ACCESS_KEY: `${STEM}SecretAccessKey`,
  AWS_SESSION_TOKEN: `${STEM}SessionToken`,
  GEN3D_DEPLOY_API_TOKEN: `${STEM}ApiToken`,
};

interface Seen {
  inspect: Map<string, string>;
  logs: Map<string, string>;
}

/** Every container gen3d (owner label, local-test name) or the emulator (its label) has made. */
async function sample(seen: Seen): Promise<void> {
  const listed = await run("docker", [
    "ps",
    "--all",
    "--no-trunc",
    "--format",
    '{{.ID}}\t{{.Names}}\t{{.Label "gen3d.owner-pid"}}\t{{.Label "gen3d.local-sagemaker.owner"}}',
  ]).catch(() => ({ stdout: "" }));
  const ours = listed.stdout
    .split("\n")
    .map((l) => l.split("\t"))
    .filter(([id, name, owner, emulator]) => id && (name?.includes(PROJECT) || owner || emulator));
  for (const [id, name] of ours) {
    const key = `${name} (${(id as string).slice(0, 12)})`;
    const inspect = await run("docker", ["inspect", id as string]).catch(() => undefined);
    if (inspect) seen.inspect.set(key, inspect.stdout);
    const logs = await run("docker", ["logs", id as string], { maxBuffer: 64 * 1024 * 1024 }).catch(
      () => undefined,
    );
    if (logs) seen.logs.set(key, `${logs.stdout}${logs.stderr}`);
  }
}

function where(text: string): string | undefined {
  const at = text.indexOf(STEM);
  return at === -1 ? undefined : text.slice(Math.max(0, at - 200), at + 80);
}

async function filesUnder(dir: string, skip: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (skip(entry.name)) continue;
    if (entry.isDirectory()) out.push(...(await filesUnder(full, skip)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

describe("secret sentinel through a full deploy", { timeout: 600_000 }, () => {
  let moto: MotoServer;
  let dir: string;
  const repository = `gen3d-sentinel-${randomBytes(3).toString("hex")}`;
  const seen: Seen = { inspect: new Map(), logs: new Map() };
  let result: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto({ dataPlane: true, timeScale: 60 });
    await seedAccount(moto);
    const project = await containerProject();
    dir = project.dir;
    const base = localConfig({ endpoint: moto.endpoint, repository, modelBytes: project.modelBytes });
    const config = {
      ...base,
      project: { name: PROJECT },
      // Its own image name: other suites remove every `gen3d-it:` tag when they finish.
      image: { ...base.image, name: PROJECT },
      ...dataPlaneSettings(1),
    };
    await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(config, null, 2));

    const child = spawn(process.execPath, [BIN, "deploy", "--json", "--verbose"], {
      cwd: dir,
      env: { ...process.env, ...moto.env, ...SECRETS, CI: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c) => (stdout += c));
    child.stderr?.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      await sample(seen);
      await new Promise((r) => setTimeout(r, 300));
    }
    await sample(seen);
    result = { code: await exited, stdout, stderr };
  }, 600_000);

  afterAll(async () => {
    await moto?.stop();
    // This run's images only: the pushed repository is its own, the local tag is in its record.
    const local = await readFile(path.join(dir, "STATE.json"), "utf8")
      .then((t) => (JSON.parse(t) as { artifacts: { localImage?: string } }).artifacts.localImage)
      .catch(() => undefined);
    removeImages((r) => r.startsWith(`${LOCAL_REGISTRY}/${repository}`) || r === local);
  });

  it("the deploy passes all ten phases with the sentinel credentials", () => {
    expect(result.code, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-4000)}`).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      phases: { id: number; status?: string; type?: string }[];
    };
    expect(report.ok).toBe(true);
    expect(report.phases.map((p) => p.status ?? p.type)).toEqual(Array(10).fill("passed"));
  });

  it("is absent from stdout (--json) and stderr (--verbose)", () => {
    expect(where(result.stdout)).toBeUndefined();
    expect(where(result.stderr)).toBeUndefined();
    expect(result.stdout.length).toBeGreaterThan(0);
  });

  it("is absent from STATE.json and every file gen3d wrote beside it", async () => {
    const files = await filesUnder(dir, (name) => name === "container");
    expect(files).toContain(path.join(dir, "STATE.json"));
    for (const file of files) expect(where(await readFile(file, "utf8")), file).toBeUndefined();
  });

  it("is absent from docker inspect of every gen3d and endpoint-instance container, phase 3's included", () => {
    const names = [...seen.inspect.keys()];
    // Evidence that the sampling saw what it must judge: phase 3's container and an instance.
    expect(
      names.some((n) => n.startsWith(`gen3d-local-test-${PROJECT}`)),
      names.join(", "),
    ).toBe(true);
    expect(seen.inspect.size).toBeGreaterThanOrEqual(2);
    for (const [name, inspect] of seen.inspect) expect(where(inspect), name).toBeUndefined();
    // Phase 3 handed the container its credentials another way than its environment.
    const local = [...seen.inspect.entries()].find(([n]) => n.startsWith(`gen3d-local-test-${PROJECT}`));
    const env = (JSON.parse(local?.[1] ?? "[]") as { Config: { Env: string[] } }[])[0]?.Config.Env ?? [];
    expect(env.some((e) => e.startsWith("AWS_SECRET_ACCESS_KEY="))).toBe(false);
  });

  it("is absent from the logs of those containers", () => {
    expect(seen.logs.size).toBeGreaterThanOrEqual(2);
    for (const [name, logs] of seen.logs) expect(where(logs), name).toBeUndefined();
  });

  it("is absent from the model's environment as the local SageMaker stores it (DescribeModel)", async () => {
    const state = JSON.parse(await readFile(path.join(dir, "STATE.json"), "utf8")) as {
      artifacts: { modelName: string };
    };
    const sagemaker = new SageMakerClient({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: moto.credentials,
    });
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: state.artifacts.modelName }));
    const environment = model.PrimaryContainer?.Environment ?? {};
    expect(Object.keys(environment).length).toBeGreaterThan(0);
    expect(where(JSON.stringify(model))).toBeUndefined();
  });
});
