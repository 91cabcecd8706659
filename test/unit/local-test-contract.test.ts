import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startCredentialsEndpoint } from "../../src/adapters/credentials-endpoint.js";
import { listeningPorts } from "../../src/checks/container-probe.js";
import { configSchema } from "../../src/config/schema.js";
import { runSpec } from "../../src/phases/local-test/container.js";
import { acquirePortLock, type PortHolder } from "../../src/phases/local-test/port-lock.js";
import { containerEnvironment } from "../../src/spec/sagemaker.js";
import { createTestContext, withProgress } from "../support/context.js";
import { validConfig } from "../support/project.js";

describe("the port a server's log says it listens on", () => {
  it("reads gunicorn, uvicorn, Flask/Werkzeug, hypercorn, waitress, aiohttp and plain lines", () => {
    const log = [
      "[2026-12-02 06:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)",
      "INFO:     Uvicorn running on http://0.0.0.0:8001 (Press CTRL+C to quit)",
      " * Running on http://127.0.0.1:5000",
      "[INFO] Running on http://[::]:8002 (CTRL + C to quit)",
      "INFO:waitress:Serving on http://0.0.0.0:8003",
      "======== Running on http://0.0.0.0:8004 ========",
      '{"level": "INFO", "message": "Listening at: http://127.0.0.1:8005 (7)"}',
      "server listening on port 8006",
      "loading the model from /opt/ml/model",
      " * Running on all addresses (0.0.0.0)",
    ].join("\n");
    expect(listeningPorts(log).map((l) => l.port)).toEqual([8000, 8001, 5000, 8002, 8003, 8004, 8005, 8006]);
    expect(listeningPorts(log)[2]?.line).toBe("* Running on http://127.0.0.1:5000");
  });

  it("finds nothing in a log without such a line", () => {
    expect(listeningPorts("model loaded\nwarming up 8080 tensors")).toEqual([]);
  });
});

describe("localTest.port", () => {
  const parse = (localTest: Record<string, unknown>) =>
    configSchema.safeParse({ ...validConfig(), localTest });

  it("with host networking another port is refused, naming the key and the fix", () => {
    const result = parse({ port: 18080 });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path).toEqual(["localTest", "port"]);
    expect(issue?.message).toMatch(/probed on 8080, as SageMaker does/);
    expect(issue?.message).toMatch(/remove localTest\.port, or set localTest\.network to "publish"/);
  });

  it("host networking without a port (or 8080), and publish with any port or 0, are accepted", () => {
    for (const localTest of [
      {},
      { port: 8080 },
      { network: "publish" },
      { network: "publish", port: 0 },
      { network: "publish", port: 18080 },
    ])
      expect(parse(localTest).success, JSON.stringify(localTest)).toBe(true);
  });
});

describe("models[].containerPath reaches the container", () => {
  it("each model's directory goes to the variable of the role its tasks give it", () => {
    const config = configSchema.parse(
      validConfig({
        models: [
          {
            name: "seg",
            localPath: "m/seg",
            expectedSizeBytes: 1,
            gpuMemoryGb: 6,
            containerPath: "/weights/seg",
            tasks: ["get_embedding", "segment"],
          },
          {
            name: "recon",
            localPath: "m/recon",
            expectedSizeBytes: 1,
            gpuMemoryGb: 32,
            tasks: ["generate_3d"],
          },
        ],
      }),
    );
    const env = containerEnvironment(config);
    expect(env.GEN3D_SAM3_DIR).toBe("/weights/seg");
    expect(env.GEN3D_SAM3D_DIR).toBe("/opt/gen3d/models/recon");
  });

  it("S3 model data is where SageMaker puts it: /opt/ml/model/NAME", () => {
    const config = configSchema.parse(
      validConfig({
        models: [
          {
            name: "sam3",
            localPath: "m/sam3",
            expectedSizeBytes: 1,
            gpuMemoryGb: 6,
            packaging: "s3",
            tasks: ["segment"],
          },
        ],
      }),
    );
    expect(containerEnvironment(config)).toMatchObject({
      GEN3D_MODEL_DIR: "/opt/ml/model",
      GEN3D_SAM3_DIR: "/opt/ml/model/sam3",
    });
    expect(containerEnvironment(config).GEN3D_SAM3D_DIR).toBeUndefined();
  });
});

describe("the host-wide local-test port lock", () => {
  const me = { project: "p1", config: "/work/p1/gen3d.config.json" };

  it("a second run waits, is told who holds the port, and takes it when the holder lets go", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-portlock-"));
    const signal = new AbortController().signal;
    const first = await acquirePortLock(8080, me, { signal, dir, waiting: () => {} });
    const seen: (PortHolder | undefined)[] = [];
    let taken = false;
    const second = acquirePortLock(
      8080,
      { project: "p2", config: "/work/p2/gen3d.config.json" },
      {
        signal,
        dir,
        pollMs: 20,
        waiting: (holder) => seen.push(holder),
      },
    ).then((lock) => {
      taken = true;
      return lock;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(taken).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      pid: process.pid,
      project: "p1",
      config: me.config,
      user: os.userInfo().username,
    });
    await first.release();
    await (await second).release();
    expect(taken).toBe(true);
  });

  it("a lock left by a killed run on this host is taken over at once", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-portlock-"));
    const dead = Number(spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim());
    await mkdir(path.join(dir, "gen3d-local-test-port-8080.lock"));
    await writeFile(
      path.join(dir, "gen3d-local-test-port-8080.holder"),
      JSON.stringify({
        pid: dead,
        host: os.hostname(),
        user: "x",
        project: "gone",
        config: "/x",
        since: "then",
      }),
    );
    const waited: unknown[] = [];
    const lock = await acquirePortLock(8080, me, {
      signal: new AbortController().signal,
      dir,
      waiting: (h) => waited.push(h),
    });
    expect(waited).toEqual([]);
    await lock.release();
  });

  it("Ctrl-C stops the wait", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-portlock-"));
    const held = await acquirePortLock(8080, me, {
      signal: new AbortController().signal,
      dir,
      waiting: () => {},
    });
    const controller = new AbortController();
    const waiting = acquirePortLock(8080, me, {
      signal: controller.signal,
      dir,
      pollMs: 20,
      waiting: () => {},
    });
    setTimeout(() => controller.abort(), 100);
    await expect(waiting).rejects.toBeDefined();
    await held.release();
  });
});

describe("the loopback credentials endpoint", () => {
  it("answers the container provider's GET with the CLI's current credentials, only with the token", async () => {
    let secret = "first-secret";
    const endpoint = await startCredentialsEndpoint(async () => ({
      accessKeyId: "AKIDTEST",
      secretAccessKey: secret,
    }));
    const uri = endpoint.environment.AWS_CONTAINER_CREDENTIALS_FULL_URI as string;
    const token = endpoint.environment.AWS_CONTAINER_AUTHORIZATION_TOKEN as string;
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/gen3d\/credentials\/[0-9a-f]{16}$/);
    expect(token.length).toBeGreaterThanOrEqual(32);

    expect((await fetch(uri)).status).toBe(401);
    expect((await fetch(uri, { headers: { authorization: `${token}x` } })).status).toBe(401);
    const answer = await fetch(uri, { headers: { authorization: token } });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as Record<string, string>;
    expect(body).toMatchObject({ AccessKeyId: "AKIDTEST", SecretAccessKey: "first-secret", Token: "" });
    expect(Date.parse(body.Expiration as string)).toBeGreaterThan(Date.now() + 30 * 60_000);
    // Refreshed from the provider on every request.
    secret = "rotated-secret";
    const again = (await (await fetch(uri, { headers: { authorization: token } })).json()) as Record<
      string,
      string
    >;
    expect(again.SecretAccessKey).toBe("rotated-secret");
    expect(endpoint.served).toBe(2);

    await endpoint.close();
    await expect(fetch(uri, { headers: { authorization: token } })).rejects.toThrow();
  });

  it("a random token per endpoint", async () => {
    const a = await startCredentialsEndpoint(async () => ({ accessKeyId: "a", secretAccessKey: "b" }));
    const b = await startCredentialsEndpoint(async () => ({ accessKeyId: "a", secretAccessKey: "b" }));
    expect(a.environment.AWS_CONTAINER_AUTHORIZATION_TOKEN).not.toBe(
      b.environment.AWS_CONTAINER_AUTHORIZATION_TOKEN,
    );
    await Promise.all([a.close(), b.close()]);
  });
});

describe("how phase 3 hands AWS credentials to the container", () => {
  const SECRET = `unit-sentinel-${Math.random().toString(36).slice(2, 10)}`;
  const aws = (endpoint?: string) =>
    ({
      region: "us-east-1",
      endpoint,
      s3: async () => ({
        config: {
          credentials: async () => ({
            accessKeyId: "AKIDUNIT",
            secretAccessKey: SECRET,
            sessionToken: "tok",
          }),
        },
      }),
    }) as never;

  it("host networking: a loopback endpoint URI and the token by name; no key, no port variable, loopback bind", async () => {
    const ctx = await createTestContext({ aws: aws("http://127.0.0.1:5055") });
    const spec = await runSpec(withProgress(ctx), 8080);
    const argv = spec.args.join(" ");
    expect(argv).not.toContain(SECRET);
    expect(argv).not.toContain("AKIDUNIT");
    expect(argv).not.toContain("SAGEMAKER_BIND_TO_PORT");
    expect(spec.args).toEqual(
      expect.arrayContaining(["--network", "host", "-e", "GEN3D_BIND_HOST=127.0.0.1"]),
    );
    expect(spec.args).toContain("AWS_ENDPOINT_URL=http://127.0.0.1:5055");
    expect(argv).toMatch(/AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\//);
    expect(Object.keys(spec.secretEnv)).toEqual(["AWS_CONTAINER_AUTHORIZATION_TOKEN"]);
    expect(JSON.stringify(spec.secretEnv)).not.toContain(SECRET);
    expect(spec.credentials.via).toBe("endpoint");
    await spec.close();
  });

  it("published port: -p 127.0.0.1::8080 (any free port), a read-only mounted credentials file that close() removes", async () => {
    const ctx = await createTestContext({
      config: validConfig({ localTest: { network: "publish" } }),
      aws: aws(),
    });
    const spec = await runSpec(withProgress(ctx), undefined);
    expect(spec.args).toEqual(expect.arrayContaining(["--publish", "127.0.0.1::8080"]));
    expect(spec.args.join(" ")).not.toContain(SECRET);
    expect(spec.args.join(" ")).not.toContain("GEN3D_BIND_HOST");
    expect(spec.args).toContain("AWS_SHARED_CREDENTIALS_FILE=/run/gen3d/aws-credentials");
    const mount = spec.args[spec.args.indexOf("-v") + 1] as string;
    expect(mount).toMatch(/:\/run\/gen3d\/aws-credentials:ro$/);
    const file = mount.split(":")[0] as string;
    expect(await readFile(file, "utf8")).toContain(`aws_secret_access_key = ${SECRET}`);
    expect((await stat(path.dirname(file))).mode & 0o077).toBe(0);
    expect(spec.credentials.via).toBe("file");
    await spec.close();
    await expect(stat(file)).rejects.toThrow();
  });

  it("published port: a fixed localTest.port maps to the container's 8080", async () => {
    const ctx = await createTestContext({
      config: validConfig({ localTest: { network: "publish", port: 18123 } }),
      aws: aws(),
    });
    const spec = await runSpec(withProgress(ctx), 18123);
    expect(spec.args).toEqual(expect.arrayContaining(["--publish", "127.0.0.1:18123:8080"]));
    await spec.close();
  });
});
