import path from "node:path";
import { z } from "zod";
import { inspectImage } from "../adapters/docker-image.js";
import { containerEnvironment, SAGEMAKER_MODEL_DIR } from "../adapters/sagemaker-spec.js";
import { pngSize } from "../checks/artifacts.js";
import { invoke, logProblems, ping, taskResponses } from "../checks/container-probe.js";
import {
  checkTaskArtifacts,
  smokeImage,
  tasksUnderTest as smokeTasks,
  taskPayload,
} from "../checks/task-results.js";
import type { TaskName } from "../config/schema.js";
import { InterruptedError, UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import { type GateResult, gate, type Phase, type PhaseContext } from "../engine/phase.js";
import { isSecretName } from "../engine/secret-names.js";

const STOP_LIMIT_SECONDS = 30;
const PING_LIMIT_MS = 2_000;

const taskEvidence = z.object({
  ok: z.boolean(),
  ms: z.number(),
  status: z.number().optional(),
  problem: z.string().optional(),
  response: z.unknown().optional(),
  artifacts: z
    .array(z.object({ key: z.string(), kind: z.string(), ok: z.boolean(), detail: z.string() }))
    .default([]),
});

export const localTestEvidence = z.object({
  imageId: z.string(),
  image: z.string(),
  boundTo: z.string(),
  startup: z.object({
    healthy: z.boolean(),
    secondsToHealthy: z.number().optional(),
    budgetSeconds: z.number(),
    exitedEarly: z.boolean(),
    exitCode: z.number().optional(),
  }),
  pings: z.object({ count: z.number(), maxMs: z.number(), slow: z.number(), failed: z.number() }),
  tasks: z.record(z.string(), taskEvidence),
  alive: z
    .object({ afterSeconds: z.number(), running: z.boolean(), pingStatus: z.number().optional() })
    .optional(),
  logs: z.object({ problems: z.array(z.string()), tail: z.array(z.string()) }),
  stop: z.object({ seconds: z.number(), exitCode: z.number().optional() }).optional(),
});
export type LocalTestEvidence = z.infer<typeof localTestEvidence>;

const containerState = z.object({ Running: z.boolean(), ExitCode: z.number(), Status: z.string() });

/** The tasks the enabled models serve, in the order they chain (segment's mask feeds generate_3d). */
export function tasksUnderTest(ctx: Pick<PhaseContext, "config">): TaskName[] {
  return smokeTasks(ctx.config);
}

function upstreamLocalImage(ctx: PhaseContext): { ref: string; id: string } {
  const { localImage, imageId } = ctx.state.state.artifacts as { localImage?: string; imageId?: string };
  if (typeof localImage !== "string" || typeof imageId !== "string") {
    throw new UserError("UPSTREAM_MISSING", "phase 2 (build) has not recorded an image", {
      hint: "Run `gen3d deploy --to 3`.",
    });
  }
  return { ref: localImage, id: imageId };
}

/** The environment the SageMaker model will carry, plus what a local run needs. Credentials go by name only. */
async function runEnvironment(
  ctx: PhaseContext,
): Promise<{ args: string[]; secretEnv: Record<string, string> }> {
  // A secret-named variable of localTest.environment (HF_TOKEN, API_KEY…) goes by name too:
  // `ps` on this machine shows every docker argv.
  const configured = Object.entries(containerEnvironment(ctx.config));
  const env: Record<string, string> = {
    ...Object.fromEntries(configured.filter(([name]) => !isSecretName(name))),
    SAGEMAKER_BIND_TO_PORT: String(ctx.config.localTest.port),
    // With host networking, loopback only on the build machine (SageMaker itself binds 0.0.0.0);
    // with a published port the server must listen on the container's own interfaces.
    GEN3D_BIND_HOST: ctx.config.localTest.network === "host" ? "127.0.0.1" : "0.0.0.0",
    AWS_REGION: ctx.config.aws.region,
    AWS_DEFAULT_REGION: ctx.config.aws.region,
  };
  if (ctx.aws.endpoint) env.AWS_ENDPOINT_URL = ctx.aws.endpoint;
  const s3 = await ctx.aws.s3();
  const credentials = await s3.config.credentials();
  const secretEnv: Record<string, string> = {
    ...Object.fromEntries(configured.filter(([name]) => isSecretName(name))),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
  };
  const args = [
    ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...Object.keys(secretEnv).flatMap((k) => ["--env", k]),
  ];
  for (const model of ctx.config.models.filter((m) => m.enabled && m.packaging === "s3")) {
    args.push(
      "-v",
      `${path.resolve(ctx.loaded.baseDir, model.localPath)}:${SAGEMAKER_MODEL_DIR}/${model.name}:ro`,
    );
  }
  return { args, secretEnv };
}

async function containerStatus(ctx: PhaseContext, name: string) {
  const result = await ctx.docker.exec(["inspect", "--format", "{{json .State}}", name], {
    allowFailure: true,
    signal: ctx.signal,
  });
  return result.exitCode === 0 ? containerState.parse(JSON.parse(result.stdout)) : undefined;
}

async function containerLogs(ctx: PhaseContext, name: string): Promise<string> {
  const result = await ctx.docker.exec(["logs", name], { allowFailure: true, signal: ctx.signal });
  return `${result.stdout}\n${result.stderr}`.trim();
}

/** Runs the image exactly as SageMaker would, probes it, invokes every task, and stops it. */
async function exercise(ctx: PhaseContext): Promise<LocalTestEvidence> {
  const image = upstreamLocalImage(ctx);
  const inspected = await inspectImage(ctx.docker, image.ref, ctx.signal);
  if (!inspected || inspected.Id !== image.id) {
    throw new UserError(
      "UPSTREAM_CHANGED",
      `local image ${image.ref} is ${inspected ? inspected.Id.slice(0, 19) : "gone"}, not the ${image.id.slice(0, 19)} phase 2 built`,
      {
        hint: "Re-run phase 2: `gen3d deploy --from 2`.",
      },
    );
  }
  const { config } = ctx;
  // One fixed name per project: a container left by a killed run is removed before the next
  // starts, so it can neither hold the port nor answer the new run's pings.
  const name = `gen3d-local-test-${config.project.name}`;
  const baseUrl = `http://127.0.0.1:${config.localTest.port}`;
  const { args, secretEnv } = await runEnvironment(ctx);
  const evidence: LocalTestEvidence = {
    imageId: image.id,
    image: image.ref,
    boundTo: baseUrl,
    startup: { healthy: false, budgetSeconds: config.timeouts.startupSeconds, exitedEarly: false },
    pings: { count: 0, maxMs: 0, slow: 0, failed: 0 },
    tasks: {},
    logs: { problems: [], tail: [] },
  };
  // Only pings after the first 200 count against SageMaker's 2 s: before that the container is
  // "not healthy yet", which the startup budget covers.
  const recordPing = (result: Awaited<ReturnType<typeof ping>>) => {
    evidence.pings.count++;
    if (evidence.startup.healthy) {
      evidence.pings.maxMs = Math.max(evidence.pings.maxMs, result.ms);
      if (result.ms >= PING_LIMIT_MS) evidence.pings.slow++;
      if (result.status !== 200) evidence.pings.failed++;
    }
    return result;
  };

  await ctx.docker.exec(["rm", "--force", name], { allowFailure: true, signal: ctx.signal });
  const network =
    config.localTest.network === "host"
      ? ["--network", "host"]
      : ["--publish", `127.0.0.1:${config.localTest.port}:${config.localTest.port}`];
  try {
    ctx.progress(`docker run ${image.ref} serve`);
    // Shielded: a Ctrl-C must not kill `docker run` between the daemon's create and start (the
    // container would exist with nobody knowing). It takes a second; the abort is checked after,
    // and the finally below removes the container whenever the signal landed.
    await ctx.docker.exec(
      [
        "run",
        "--detach",
        "--name",
        name,
        "--label",
        `gen3d.local-test=${config.project.name}`,
        "--label",
        `gen3d.project=${config.project.name}`,
        ...network,
        ...args,
        image.ref,
        "serve",
      ],
      { env: secretEnv, shielded: true, timeoutMs: 120_000 },
    );
    if (ctx.signal.aborted) throw new InterruptedError("phase 3 was interrupted while its container started");
    // 1. Healthy within the startup budget; the container must not exit meanwhile.
    const started = ctx.clock.now().getTime();
    const deadline = started + config.timeouts.startupSeconds * 1000;
    while (ctx.clock.now().getTime() < deadline) {
      const result = recordPing(await ping(baseUrl, ctx.signal));
      const state = await containerStatus(ctx, name);
      // A 200 counts only while our container runs: anything else on the port is not it.
      if (result.status === 200 && state?.Running) {
        evidence.startup.healthy = true;
        evidence.startup.secondsToHealthy = Math.round((ctx.clock.now().getTime() - started) / 100) / 10;
        break;
      }
      if (!state?.Running) {
        evidence.startup.exitedEarly = true;
        evidence.startup.exitCode = state?.ExitCode;
        break;
      }
      ctx.progress(
        `waiting for /ping (${Math.round((ctx.clock.now().getTime() - started) / 1000)} s of ${config.timeouts.startupSeconds} s)`,
      );
      await ctx.clock.sleep(500, ctx.signal);
    }

    // 2. Every task with its fixture; each response and the S3 objects it names are checked.
    if (evidence.startup.healthy) {
      let maskKey: string | undefined;
      for (const task of tasksUnderTest(ctx)) {
        ctx.progress(`invoking ${task}`);
        const fixture = await smokeImage(ctx, task);
        const size = pngSize(fixture.bytes);
        const key = `${config.s3.prefixes.input}/gen3d-local-test/${name}/${fixture.name}`.replace(/^\//, "");
        const { PutObjectCommand } = await import("@aws-sdk/client-s3");
        await (await ctx.aws.s3()).send(
          new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: fixture.bytes }),
          { abortSignal: ctx.signal },
        );
        if (task === "generate_3d" && !maskKey) {
          evidence.tasks[task] = {
            ok: false,
            ms: 0,
            problem: "no mask to reconstruct from: segment did not succeed",
            artifacts: [],
          };
          continue;
        }
        const payload = taskPayload(task, {
          bucket: config.s3.bucket,
          imageKey: key,
          sessionId: name,
          image: size,
          maskKey,
          overrides: config.smokeTests[task]?.payload,
        });
        const result = await invoke(
          baseUrl,
          payload,
          config.timeouts.invocationSeconds * 1000,
          ctx.signal,
        ).catch((error: Error) => ({
          status: 0,
          ms: 0,
          body: { error: error.message },
        }));
        const parsed = taskResponses[task].safeParse(result.body);
        if (result.status !== 200 || !parsed.success) {
          evidence.tasks[task] = {
            ok: false,
            ms: result.ms,
            status: result.status,
            problem:
              result.status !== 200
                ? `HTTP ${result.status}: ${JSON.stringify(result.body).slice(0, 300)}`
                : `response does not match the contract: ${parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
            response: result.body,
            artifacts: [],
          };
          continue;
        }
        const artifacts = await checkTaskArtifacts(
          { s3: await ctx.aws.s3(), signal: ctx.signal },
          config.s3.bucket,
          task,
          parsed.data as Record<string, unknown>,
          size,
        );
        const bad = artifacts.find((a) => !a.ok);
        evidence.tasks[task] = {
          ok: !bad,
          ms: result.ms,
          status: 200,
          problem: bad ? `${bad.kind} ${bad.key}: ${bad.detail}` : undefined,
          response: parsed.data,
          artifacts,
        };
        if (task === "segment" && !bad)
          maskKey = String((parsed.data as { mask_s3_key: string }).mask_s3_key);
      }

      // 3. Still alive after a while, and still answering.
      const after = config.localTest.aliveAfterSeconds;
      if (after > 0) {
        ctx.progress(`checking the container is still alive after ${after} s`);
        await ctx.clock.sleep(after * 1000, ctx.signal);
      }
      const state = await containerStatus(ctx, name);
      const last = state?.Running ? recordPing(await ping(baseUrl, ctx.signal)) : undefined;
      evidence.alive = { afterSeconds: after, running: Boolean(state?.Running), pingStatus: last?.status };
    }

    // 4. The logs: no tracebacks, no errors.
    const log = await containerLogs(ctx, name);
    evidence.logs = { problems: logProblems(log).slice(0, 20), tail: log.split("\n").slice(-25) };

    // 5. SIGTERM: SageMaker sends it, then SIGKILL after 30 s.
    if ((await containerStatus(ctx, name))?.Running) {
      ctx.progress("docker stop (SIGTERM)");
      const stopStarted = performance.now();
      await ctx.docker.exec(["stop", "--time", String(STOP_LIMIT_SECONDS), name], {
        signal: ctx.signal,
        timeoutMs: (STOP_LIMIT_SECONDS + 30) * 1000,
      });
      evidence.stop = {
        seconds: Math.round((performance.now() - stopStarted) / 100) / 10,
        exitCode: (await containerStatus(ctx, name))?.ExitCode,
      };
    }
  } finally {
    // Always remove the container, even when interrupted (shielded from a second Ctrl-C too).
    await ctx.docker.exec(["rm", "--force", name], { allowFailure: true, shielded: true }).catch(() => {});
  }
  return evidence;
}

function recordedEvidence(ctx: PhaseContext): LocalTestEvidence | undefined {
  const recorded = (ctx.state.phase(3).evidence as { run?: unknown } | undefined)?.run;
  const parsed = localTestEvidence.safeParse(recorded);
  return parsed.success ? parsed.data : undefined;
}

/** Gates over the evidence; each names what the container did wrong and how to fix it. */
export function localTestGates(
  evidence: LocalTestEvidence,
  expectedTasks: TaskName[],
  currentImageId: string | undefined,
): GateResult[] {
  const results: GateResult[] = [];
  const tail = evidence.logs.tail.slice(-15);
  results.push(
    currentImageId === evidence.imageId
      ? gate(
          "local.bound-to-image",
          "evidence is for the current image",
          "pass",
          `tested ${evidence.imageId.slice(0, 19)}`,
        )
      : gate(
          "local.bound-to-image",
          "evidence is for the current image",
          "fail",
          `the local test ran on ${evidence.imageId.slice(0, 19)}, but the current image is ${currentImageId?.slice(0, 19) ?? "missing"}`,
          {
            hint: "Re-run phase 3 on the current image: `gen3d deploy --from 3`.",
          },
        ),
  );
  const { startup } = evidence;
  if (!startup.healthy) {
    results.push(
      gate(
        "local.startup",
        "/ping 200 within the startup budget",
        "fail",
        startup.exitedEarly
          ? `the container exited (code ${startup.exitCode ?? "?"}) before /ping answered 200`
          : `/ping did not answer 200 within ${startup.budgetSeconds} s`,
        {
          details: tail.length ? ["container log (last lines):", ...tail.map((l) => `  ${l}`)] : [],
          hint: startup.exitedEarly
            ? "Read the log above: a wrong ENTRYPOINT, a missing model file or a missing dependency are the usual causes. Reproduce with `docker run --network host IMAGE serve`."
            : "The server never became healthy: check the log, or raise timeouts.startupSeconds if model loading is legitimately slow.",
        },
      ),
    );
    return results;
  }
  results.push(
    gate(
      "local.startup",
      "/ping 200 within the startup budget",
      "pass",
      `healthy after ${startup.secondsToHealthy} s (budget ${startup.budgetSeconds} s)`,
      {
        evidence: startup,
      },
    ),
  );
  results.push(
    evidence.pings.slow === 0
      ? gate(
          "local.ping-latency",
          "every /ping under 2 s",
          "pass",
          `${evidence.pings.count} pings, slowest ${evidence.pings.maxMs} ms`,
        )
      : gate(
          "local.ping-latency",
          "every /ping under 2 s",
          "fail",
          `${evidence.pings.slow} of ${evidence.pings.count} pings took 2 s or more (slowest ${evidence.pings.maxMs} ms)`,
          {
            hint: "SageMaker marks the container unhealthy: /ping must never wait behind inference (threads, not a single sync worker).",
          },
        ),
  );
  for (const task of expectedTasks) {
    const result = evidence.tasks[task];
    const id = `local.task.${task}`;
    if (!result) {
      results.push(
        gate(id, `${task} works`, "fail", `${task} was not exercised`, { hint: "Re-run phase 3." }),
      );
      continue;
    }
    const missingTask =
      result.status === 400 && /not offered|unknown task|task/i.test(JSON.stringify(result.response ?? ""));
    results.push(
      result.ok
        ? gate(
            id,
            `${task} works`,
            "pass",
            `${task}: ${result.ms} ms; ${result.artifacts.map((a) => `${a.kind} ${a.detail}`).join(", ")}`,
          )
        : gate(id, `${task} works`, "fail", `${task} failed: ${result.problem ?? "invalid response"}`, {
            hint: missingTask
              ? `The container does not implement the ${task} task: add it to the server and rebuild.`
              : "Fix the container's handler for this task; `docker logs` shows its error id.",
          }),
    );
  }
  if (evidence.alive) {
    results.push(
      evidence.alive.running && evidence.alive.pingStatus === 200
        ? gate(
            "local.alive",
            "still alive and healthy afterwards",
            "pass",
            `running and healthy ${evidence.alive.afterSeconds} s after the tasks`,
          )
        : gate(
            "local.alive",
            "still alive and healthy afterwards",
            "fail",
            `the container ${evidence.alive.running ? `answers /ping with ${evidence.alive.pingStatus}` : "died"} ${evidence.alive.afterSeconds} s after the tasks`,
            {
              details: tail.map((l) => `  ${l}`),
              hint: "Look for a crash after inference in the log (a worker timeout, an OOM kill).",
            },
          ),
    );
  }
  results.push(
    evidence.logs.problems.length === 0
      ? gate("local.logs", "no tracebacks or errors in the log", "pass", "log clean")
      : gate(
          "local.logs",
          "no tracebacks or errors in the log",
          "fail",
          `${evidence.logs.problems.length} error line(s) in the container log`,
          {
            details: evidence.logs.problems.slice(0, 10).map((l) => `  ${l}`),
            hint: "Every smoke test was a valid request: an error or traceback in the log is a bug to fix before pushing.",
          },
        ),
  );
  if (evidence.stop) {
    results.push(
      evidence.stop.seconds < STOP_LIMIT_SECONDS
        ? gate(
            "local.sigterm",
            "exits on SIGTERM within 30 s",
            "pass",
            `stopped in ${evidence.stop.seconds} s (exit ${evidence.stop.exitCode})`,
          )
        : gate(
            "local.sigterm",
            "exits on SIGTERM within 30 s",
            "fail",
            `took ${evidence.stop.seconds} s to stop: SIGTERM was ignored and SIGKILL needed`,
            {
              hint: "Use an exec-form ENTRYPOINT (no shell in between) and let the server handle SIGTERM.",
            },
          ),
    );
  } else {
    results.push(
      gate(
        "local.sigterm",
        "exits on SIGTERM within 30 s",
        "fail",
        "the container was not running to receive SIGTERM",
        { hint: "It died earlier; see the log." },
      ),
    );
  }
  return results;
}

/** Phase 3: the container, run exactly as SageMaker runs it, on this machine. */
export const localTestPhase: Phase = {
  id: 3,
  name: "local-test",
  title: "Test the container locally",

  async inputs(ctx) {
    const fixtures = Object.fromEntries(
      await Promise.all(
        tasksUnderTest(ctx).map(
          async (t) => [t, hashValue((await smokeImage(ctx, t)).bytes.toString("base64"))] as const,
        ),
      ),
    );
    return {
      imageId: (ctx.state.state.artifacts as { imageId?: string }).imageId,
      env: containerEnvironment(ctx.config),
      fixtures,
      smokeTests: ctx.config.smokeTests,
      localTest: ctx.config.localTest,
      startupSeconds: ctx.config.timeouts.startupSeconds,
    };
  },

  async run(ctx) {
    const evidence = await exercise(ctx);
    return {
      evidence,
      outcome: evidence.startup.healthy ? `healthy in ${evidence.startup.secondsToHealthy} s` : "unhealthy",
    };
  },

  async verify(ctx, fresh) {
    const evidence = fresh ? localTestEvidence.parse(fresh.evidence) : recordedEvidence(ctx);
    if (!evidence) {
      return [
        gate("local.evidence", "local test evidence recorded", "fail", "phase 3 has no recorded evidence", {
          hint: "Run it: `gen3d deploy --to 3`.",
        }),
      ];
    }
    const { localImage } = ctx.state.state.artifacts as { localImage?: string };
    const current = localImage ? await inspectImage(ctx.docker, localImage, ctx.signal) : undefined;
    return localTestGates(evidence, tasksUnderTest(ctx), current?.Id);
  },
};
