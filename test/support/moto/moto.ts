/**
 * Start gen3d's local AWS (local-sagemaker/server.py: moto + patches, optionally the data plane) for tests.
 *
 *   const moto = await startMoto();
 *   const sm = new SageMakerClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
 *   await moto.setEndpointBehaviour("ep", { mode: "creating_then_in_service", creatingDescribes: 2 });
 *   ...
 *   await moto.reset();   // between tests
 *   await moto.stop();    // afterAll
 *
 * Node built-ins only. The control API is documented in README.md next to this file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export type EndpointMode = "in_service" | "creating_then_in_service" | "failed" | "stuck";

export interface EndpointBehaviour {
  /** in_service (moto's default: InService at once), creating_then_in_service, failed, stuck (Creating/Updating forever). */
  mode?: EndpointMode;
  /** Stay Creating/Updating at least this many seconds. */
  creatingSeconds?: number;
  /** Answer this many DescribeEndpoint calls with Creating/Updating before the final status. */
  creatingDescribes?: number;
  /** FailureReason reported in mode "failed". */
  failureReason?: string;
  /** A failed UpdateEndpoint: "rollback" (default: back to the old config, InService, FailureReason set) or "failed". */
  updateFailure?: "rollback" | "failed";
  /** DeleteEndpoint: stay Deleting this long / for this many describes before the endpoint disappears (default 0: at once). */
  deletingSeconds?: number;
  deletingDescribes?: number;
}

export interface InstanceCountChange {
  currentInstanceCount: number;
  /** Defaults to currentInstanceCount. */
  desiredInstanceCount?: number;
  /** Only this variant (default: every variant of the endpoint). */
  variantName?: string;
  /** Apply the change this many seconds from now (seen by the next Describe* after that). */
  afterSeconds?: number;
}

export interface AsyncResult {
  /** Body written to S3OutputPath/<id>.out (or S3FailurePath/<id>-error.out when isFailure). */
  data: string;
  isFailure?: boolean;
}

export interface MotoServer {
  /** http://127.0.0.1:PORT: pass as `endpoint` to every AWS SDK client (S3 also needs forcePathStyle: true). */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment for a child process (e.g. the gen3d CLI) that should talk to this moto. */
  readonly env: Record<string, string>;
  /** POST /moto-api/reset: wipes every service and the harness' endpoint behaviours. */
  reset(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s); resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** Lifecycle for endpoints created/updated/deleted after this call; "*" sets the default. */
  setEndpointBehaviour(endpointName: string, behaviour: EndpointBehaviour): Promise<void>;
  /** Set ProductionVariants[].CurrentInstanceCount/DesiredInstanceCount of an existing endpoint (e.g. scale to 0). */
  setInstanceCount(endpointName: string, change: InstanceCountChange): Promise<void>;
  /** Queue results for InvokeEndpointAsync (moto's own /moto-api/static/sagemaker/async-endpoint-results). */
  queueAsyncResults(results: AsyncResult[]): Promise<void>;
  /** GET /gen3d-test/state: behaviours, in-flight transitions, pending count changes. */
  state(): Promise<unknown>;
  /** GET /local-sagemaker/PATH (data plane only): e.g. `endpoints/NAME` → instances, counters, cold starts. */
  localSageMaker(path: string): Promise<unknown>;
}

export interface StartMotoOptions {
  /** Python interpreter with moto 5.2.1 (default: $GEN3D_PYTHON or python3). */
  python?: string;
  /** Fixed port (default 0: the server picks a free one). */
  port?: number;
  /** Extra environment for the server, e.g. GEN3D_MOTO_ENDPOINT_MODE. */
  env?: Record<string, string>;
  /** How long to wait for MOTO_READY (default 30 000 ms). */
  startupTimeoutMs?: number;
  /** Forward the server's stderr to this process' stderr (default: only on failure). */
  verbose?: boolean;
  /** Run the local SageMaker's data plane: endpoints are containers, async requests really run. */
  dataPlane?: boolean;
  /** With the data plane: AWS-side periods (alarms, cooldowns) pass this many times faster. */
  timeScale?: number;
}

export const SERVER_PY = fileURLToPath(new URL("../../../local-sagemaker/server.py", import.meta.url));
const READY = /^MOTO_READY port=(\d+)$/m;
export const MOTO_REGION = "us-east-1";
export const MOTO_ACCOUNT_ID = "123456789012";
const CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = options.python ?? process.env.GEN3D_PYTHON ?? "python3";
  const args = [SERVER_PY, String(options.port ?? 0)];
  if (options.dataPlane) args.push("--data-plane", "--time-scale", String(options.timeScale ?? 1));
  const child = spawn(python, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: MOTO_REGION,
      PYTHONUNBUFFERED: "1",
      ...options.env,
    },
  });

  let stderrTail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-8000);
    if (options.verbose) process.stderr.write(chunk);
  });

  // Never leave a moto behind when the test process exits without calling stop().
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  let port: number;
  try {
    port = await waitForReady(child, options.startupTimeoutMs ?? 30_000, () => stderrTail);
  } catch (error) {
    process.removeListener("exit", killOnExit);
    await terminate(child);
    throw error;
  }
  // Keep draining stdout so the pipe never fills.
  child.stdout?.resume();

  const endpoint = `http://127.0.0.1:${port}`;

  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method, headers: { "content-type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`${endpoint}${path}`, init);
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`moto ${method} ${path} -> ${response.status}: ${text.slice(0, 500)}`);
    }
    return text ? (JSON.parse(text) as unknown) : null;
  }

  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    port,
    region: MOTO_REGION,
    accountId: MOTO_ACCOUNT_ID,
    credentials: { ...CREDENTIALS },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: MOTO_REGION,
      AWS_DEFAULT_REGION: MOTO_REGION,
    },
    async reset() {
      await call("POST", "/moto-api/reset");
    },
    stop() {
      stopped ??= (async () => {
        process.removeListener("exit", killOnExit);
        await terminate(child);
      })();
      return stopped;
    },
    async setEndpointBehaviour(endpointName, behaviour) {
      await call("POST", "/gen3d-test/endpoint-behaviour", { endpointName, ...behaviour });
    },
    async setInstanceCount(endpointName, change) {
      await call("POST", "/gen3d-test/endpoint-instances", { endpointName, ...change });
    },
    async queueAsyncResults(results) {
      await call("POST", "/moto-api/static/sagemaker/async-endpoint-results", {
        account_id: MOTO_ACCOUNT_ID,
        region: MOTO_REGION,
        results: results.map((r) => ({ data: r.data, is_failure: r.isFailure ?? false })),
      });
    },
    async state() {
      return call("GET", "/gen3d-test/state");
    },
    async localSageMaker(path) {
      return call("GET", `/local-sagemaker/${path}`);
    },
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let stdout = "";
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`moto server did not start: ${why}\n--- server stderr ---\n${stderr()}`));
    };
    const onData = (chunk: string): void => {
      stdout += chunk;
      const match = READY.exec(stdout);
      if (match?.[1]) {
        cleanup();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited early (code ${code}, signal ${signal})`);
    const onError = (error: Error): void => fail(`spawn failed: ${error.message}`);
    const timer = setTimeout(() => fail(`no MOTO_READY line within ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
