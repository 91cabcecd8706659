import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type AwsClients, createAwsClients } from "../../../src/adapters/aws.js";
import type { Docker } from "../../../src/adapters/docker.js";
import { configSchema, type Gen3dConfig } from "../../../src/config/schema.js";
import { createIo } from "../../../src/engine/output.js";
import { StateStore } from "../../../src/engine/state.js";
import { modelPhase } from "../../../src/phases/05-model.js";
import { endpointConfigPhase } from "../../../src/phases/06-endpoint-config.js";
import { createDeployPhase } from "../../../src/phases/07-deploy.js";
import { autoscalingPhase } from "../../../src/phases/08-autoscaling.js";
import type { Clock, Phase, PhaseContext } from "../../../src/phases/phase.js";
import { PhaseRunner, type RunOptions } from "../../../src/phases/runner.js";

/** Phases 5–8 (model, endpoint config, deploy with short polling waits, autoscaling): a deploy's AWS side. */
export function phases5To8(): Phase[] {
  return [
    modelPhase,
    endpointConfigPhase,
    createDeployPhase({ minDelaySeconds: 0.05, maxDelaySeconds: 0.2 }),
    autoscalingPhase,
  ];
}

/** Credentials moto accepts; the SDK's default chain reads them from the environment. */
export const TEST_ENV = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
};

export const DIGEST = `sha256:${"ab12cd34".repeat(8)}`;
export const REPOSITORY_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gen3d";

/** Every AWS command a context's clients sent, as `Client:Command`. */
export class CallLog {
  readonly calls: string[] = [];
  mark(): number {
    return this.calls.length;
  }
  since(mark: number): string[] {
    return this.calls.slice(mark);
  }
  mutatingSince(mark: number): string[] {
    return this.since(mark).filter(isMutating);
  }
}

/** Anything that changes AWS: what an unchanged second deploy must not send. */
export function isMutating(call: string): boolean {
  const command = call.split(":").pop() ?? "";
  return /^(Create|Update|Put|Register|Deregister|Delete|BatchDelete|Invoke|Tag|Untag|Start|Stop)/.test(
    command,
  );
}

type AnyClient = {
  middlewareStack: { add(mw: unknown, options: { step: string; name: string }): void };
};

/** The real clients, with a middleware on each that records every command it sends. */
export function recordingClients(inner: AwsClients, log: CallLog): AwsClients {
  const instrumented = new WeakSet<object>();
  const wrap =
    <T>(get: () => Promise<T>) =>
    async (): Promise<T> => {
      const client = await get();
      if (!instrumented.has(client as object)) {
        instrumented.add(client as object);
        (client as unknown as AnyClient).middlewareStack.add(
          (
            next: (args: unknown) => Promise<unknown>,
            context: { clientName?: string; commandName?: string },
          ) =>
            async (args: unknown) => {
              log.calls.push(
                `${(context.clientName ?? "").replace(/Client$/, "")}:${(context.commandName ?? "").replace(/Command$/, "")}`,
              );
              return next(args);
            },
          { step: "initialize", name: "gen3dTestCallRecorder" },
        );
      }
      return client;
    };
  return {
    region: inner.region,
    endpoint: inner.endpoint,
    sts: wrap(inner.sts),
    iam: wrap(inner.iam),
    s3: wrap(inner.s3),
    ecr: wrap(inner.ecr),
    sagemaker: wrap(inner.sagemaker),
    sagemakerRuntime: wrap(inner.sagemakerRuntime),
    autoscaling: wrap(inner.autoscaling),
    cloudwatch: wrap(inner.cloudwatch),
    logs: wrap(inner.logs),
    quotas: wrap(inner.quotas),
  };
}

/** Real time, except that sleeping is near-instant and advances `now` by what was asked. */
export class FastClock implements Clock {
  offsetMs = 0;
  slept: number[] = [];
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.slept.push(ms);
    this.offsetMs += ms;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (signal?.aborted) throw signal.reason;
  }
}

export function testConfig(
  endpoint: string,
  overrides: (raw: Record<string, unknown>) => void = () => {},
): Gen3dConfig {
  const raw: Record<string, unknown> = {
    project: { name: "gen3d-test" },
    aws: { region: "us-east-1", endpoint },
    s3: { bucket: "gen3d-test-bucket" },
    executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
    ecr: { repository: "gen3d" },
    image: { name: "gen3d", version: "1.0.0" },
    models: [
      {
        name: "sam3",
        localPath: "models/sam3",
        expectedSizeBytes: 1000,
        gpuMemoryGb: 8,
        tasks: ["get_embedding", "segment"],
      },
      {
        name: "sam3d",
        localPath: "models/sam3d",
        expectedSizeBytes: 1000,
        gpuMemoryGb: 32,
        tasks: ["generate_3d"],
      },
    ],
    instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 2 },
  };
  overrides(raw);
  return configSchema.parse(raw);
}

export interface TestContext extends PhaseContext {
  log: CallLog;
  clock: FastClock;
  progressLines: string[];
  stdout: string[];
  stderr: string[];
  abort: AbortController;
}

export interface ContextOptions {
  endpoint: string;
  dir?: string;
  config?: Gen3dConfig;
  /** Seeds what phases 3 and 4 record, unless false. */
  upstream?: { startupSeconds?: number; digest?: string } | false;
  yes?: boolean;
  confirm?: boolean;
}

export async function createTestContext(options: ContextOptions): Promise<TestContext> {
  Object.assign(process.env, TEST_ENV);
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "gen3d-aws-")));
  const config = options.config ?? testConfig(options.endpoint);
  const state = await StateStore.open(path.join(dir, "STATE.json"), config.project.name);
  if (options.upstream !== false) {
    const digest = options.upstream?.digest ?? DIGEST;
    await state.setPhase(3, {
      status: "passed",
      attempts: 1,
      // The shape the runner records: run()'s evidence under `run`, the gates beside it.
      evidence: { run: { startup: { secondsToHealthy: options.upstream?.startupSeconds ?? 42 } }, gates: [] },
    });
    await state.setPhase(4, { status: "passed", attempts: 1 });
    await state.setArtifacts({
      imageDigest: digest,
      imageUri: `${REPOSITORY_URI}@${digest}`,
      repositoryUri: REPOSITORY_URI,
      localTest: { testedImageId: "sha256:tested", secondsToHealthy: options.upstream?.startupSeconds ?? 42 },
    });
  }
  const log = new CallLog();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const progressLines: string[] = [];
  const abort = new AbortController();
  const io = createIo({
    yes: options.yes ?? true,
    env: {},
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    isTTY: false,
  });
  return {
    loaded: {
      config,
      file: path.join(dir, "gen3d.config.json"),
      baseDir: dir,
      raw: JSON.stringify(config),
      warnings: [],
    },
    config,
    io,
    state,
    docker: {} as Docker,
    aws: recordingClients(createAwsClients(config.aws), log),
    clock: new FastClock(),
    prompt: { confirm: async () => options.confirm ?? true },
    signal: abort.signal,
    progress: (line) => progressLines.push(line),
    env: {},
    log,
    progressLines,
    stdout,
    stderr,
    abort,
  };
}

/** Runs phases through the engine's own PhaseRunner (run, then verify, then record), in order. */
export async function runThrough(ctx: TestContext, phases: readonly Phase[], options: RunOptions = {}) {
  const runner = new PhaseRunner(ctx, phases, options);
  for (const phase of phases) {
    await runner.runPhase(phase, {
      start: () => {},
      skip: () => {},
      setOutput: (line) => ctx.progressLines.push(line),
    });
  }
  return runner.outcomes;
}
