import net from "node:net";
import { z } from "zod";
import { inspectImage } from "../adapters/docker-image.js";
import { localTestContainerName } from "../adapters/leftovers.js";
import { logProblems, ping } from "../checks/container-probe.js";
import { smokeImage, tasksUnderTest as smokeTasks } from "../checks/task-results.js";
import type { TaskName } from "../config/schema.js";
import { InterruptedError, UserError } from "../engine/errors.js";
import { hashValue } from "../engine/fingerprint.js";
import { localTestRecord } from "../spec/local-test.js";
import { containerEnvironment } from "../spec/sagemaker.js";
import { type ContractContext, definePhase, recordedRun } from "./contract.js";
import {
  containerLogs,
  containerStatus,
  publishedPort,
  removeContainer,
  removeOrphanedLocalTests,
  runSpec,
} from "./local-test/container.js";
import { handOver, type LocalTestEvidence, localTestEvidence } from "./local-test/evidence.js";
import { exerciseTasks } from "./local-test/fixtures.js";
import { localTestGates, SAGEMAKER_PORT, STOP_LIMIT_SECONDS } from "./local-test/gates.js";
import { acquirePortLock, describeHolder, type PortLock } from "./local-test/port-lock.js";
import { pingRecorder, waitHealthy } from "./local-test/probe.js";
import { gate, type Phase, type PhaseContext } from "./phase.js";

// Phase 4 and 6 (and tests) read phase 3's record through these.
export { type LocalTestEvidence, localTestEvidence } from "./local-test/evidence.js";
export { localTestGates } from "./local-test/gates.js";

/** The tasks the enabled models serve, in the order they chain (segment's mask feeds generate_3d). */
export function tasksUnderTest(ctx: Pick<PhaseContext, "config">): TaskName[] {
  return smokeTasks(ctx.config);
}

/** The image phase 2 built, by name and ID. */
const needs = { localImage: z.string().min(1), imageId: z.string().min(1) };

/** Whether something already accepts connections on 127.0.0.1:PORT. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

/**
 * The host port the test talks to. Host networking: SageMaker's 8080 itself, one test per host at
 * a time (the lock). Published: localTest.port, or any free port Docker picks when it is 0/unset;
 * a fixed one is locked too, so two runs with the same config take turns instead of colliding.
 */
async function takePort(
  ctx: PhaseContext,
  name: string,
): Promise<{ hostPort: number | undefined; lock?: PortLock; portInUse?: boolean }> {
  const { localTest } = ctx.config;
  const fixed = localTest.network === "host" ? SAGEMAKER_PORT : localTest.port || undefined;
  // The fixed name's container is removed only by the run that holds the port: a run of the same
  // project from another checkout may be testing in it right now while this one waits.
  const removeOwnName = () =>
    ctx.docker.exec(["rm", "--force", name], { allowFailure: true, signal: ctx.signal });
  if (fixed === undefined) {
    await removeOwnName();
    return { hostPort: undefined };
  }
  const lock = await acquirePortLock(
    fixed,
    { project: ctx.config.project.name, config: ctx.loaded.file },
    {
      signal: ctx.signal,
      waiting: (holder) => ctx.progress(`waiting for port ${fixed}: it is held by ${describeHolder(holder)}`),
    },
  ).catch((error: unknown) => {
    if (ctx.signal.aborted)
      throw new InterruptedError(`phase 3 was interrupted while waiting for port ${fixed}`);
    throw error;
  });
  try {
    await removeOwnName();
    const orphans = await removeOrphanedLocalTests(ctx);
    if (orphans.length > 0)
      ctx.progress(`removed local-test container(s) a killed run left: ${orphans.join(", ")}`);
    if (await portAnswers(fixed)) {
      await lock.release();
      return { hostPort: fixed, portInUse: true };
    }
  } catch (error) {
    await lock.release();
    throw error;
  }
  return { hostPort: fixed, lock };
}

/** Runs the image exactly as SageMaker would, probes it, invokes every task, and stops it. */
async function exercise(ctx: ContractContext<typeof needs>): Promise<LocalTestEvidence> {
  const image = { ref: ctx.upstream.localImage, id: ctx.upstream.imageId };
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
  const name = localTestContainerName(config.project.name);
  const evidence: LocalTestEvidence = {
    imageId: image.id,
    image: image.ref,
    boundTo: "",
    startup: {
      healthy: false,
      budgetSeconds: config.timeouts.startupSeconds,
      exitedEarly: false,
      probedPort: SAGEMAKER_PORT,
    },
    pings: { count: 0, maxMs: 0, slow: 0, failed: 0 },
    tasks: {},
    logs: { problems: [], tail: [] },
  };
  const recordPing = pingRecorder(evidence);

  const { hostPort, lock, portInUse } = await takePort(ctx, name);
  if (portInUse) {
    evidence.startup.portInUse = hostPort;
    return evidence;
  }
  try {
    const spec = await runSpec(ctx, hostPort);
    evidence.credentials = { via: spec.credentials.via };
    try {
      ctx.progress(`docker run ${image.ref} serve`);
      // Shielded: a Ctrl-C must not kill `docker run` between the daemon's create and start (the
      // container would exist with nobody knowing). It takes a second; the abort is checked after,
      // and the finally below removes the container whenever the signal landed.
      const run = await ctx.docker.exec(
        [
          "run",
          "--detach",
          "--name",
          name,
          "--label",
          `gen3d.local-test=${config.project.name}`,
          "--label",
          `gen3d.project=${config.project.name}`,
          ...spec.args,
          image.ref,
          "serve",
        ],
        { env: spec.secretEnv, shielded: true, timeoutMs: 120_000, allowFailure: true },
      );
      if (ctx.signal.aborted)
        throw new InterruptedError("phase 3 was interrupted while its container started");
      if (run.exitCode !== 0) {
        // Docker created the container but could not start it (no such executable, port taken…):
        // a gate failure with docker's words; the finally removes the `Created` container.
        evidence.startup.runError = (run.stderr.trim() || `docker run exited ${run.exitCode}`)
          .split("\n")
          .slice(-5)
          .join(" ")
          .slice(0, 600);
      } else {
        const port = hostPort ?? (await publishedPort(ctx, name));
        const baseUrl = `http://127.0.0.1:${port ?? SAGEMAKER_PORT}`;
        evidence.boundTo = baseUrl;

        // 1. Healthy on 8080 within the startup budget; the container must not exit meanwhile.
        await waitHealthy(ctx, name, baseUrl, SAGEMAKER_PORT, evidence);

        if (evidence.startup.healthy) {
          // 2. Every task with its fixture; each response and the S3 objects it names are checked.
          evidence.tasks = await exerciseTasks(ctx, baseUrl, name);

          // 3. Still alive after a while, and still answering.
          const after = config.localTest.aliveAfterSeconds;
          if (after > 0) {
            ctx.progress(`checking the container is still alive after ${after} s`);
            await ctx.clock.sleep(after * 1000, ctx.signal);
          }
          const state = await containerStatus(ctx, name);
          const last = state?.Running ? recordPing(await ping(baseUrl, ctx.signal)) : undefined;
          evidence.alive = {
            afterSeconds: after,
            running: Boolean(state?.Running),
            pingStatus: last?.status,
          };
        }
      }

      // 4. The logs: no tracebacks, no errors.
      const log = await containerLogs(ctx, name);
      evidence.logs = { problems: logProblems(log).slice(0, 20), tail: log.split("\n").slice(-25) };

      // 5. SIGTERM: SageMaker sends it, then SIGKILL after 30 s. (A container that never became
      // healthy has already failed; it is removed below without waiting for that.)
      if (evidence.startup.healthy && (await containerStatus(ctx, name))?.Running) {
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
      evidence.credentials = { via: spec.credentials.via, requests: spec.credentials.requests() };
    } finally {
      // Always remove the container, even when interrupted (shielded from a second Ctrl-C too);
      // only then does the credentials endpoint go, and the port with the lock.
      await removeContainer(ctx, name);
      await spec.close().catch(() => {});
    }
  } finally {
    await lock?.release();
  }
  return evidence;
}

function recordedEvidence(ctx: PhaseContext): LocalTestEvidence | undefined {
  return recordedRun(ctx, 3, localTestEvidence);
}

/** Phase 3: the container, run exactly as SageMaker runs it, on this machine. */
export const localTestPhase: Phase = definePhase({
  id: 3,
  name: "local-test",
  title: "Test the container locally",
  needs,
  produces: z.object({ localTest: localTestRecord }),

  async inputs(ctx) {
    const fixtures = Object.fromEntries(
      await Promise.all(
        tasksUnderTest(ctx).map(
          async (t) => [t, hashValue((await smokeImage(ctx, t)).bytes.toString("base64"))] as const,
        ),
      ),
    );
    return {
      imageId: ctx.state.state.artifacts.imageId,
      env: containerEnvironment(ctx.config),
      fixtures,
      smokeTests: ctx.config.smokeTests,
      localTest: ctx.config.localTest,
      startupSeconds: ctx.config.timeouts.startupSeconds,
    };
  },

  async run(ctx) {
    const evidence = await exercise(ctx);
    const record = handOver(evidence);
    return {
      evidence,
      ...(record ? { artifacts: { localTest: record } } : {}),
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
    const current = await inspectImage(ctx.docker, ctx.upstream.localImage, ctx.signal);
    return localTestGates(evidence, tasksUnderTest(ctx), current?.Id);
  },
});
