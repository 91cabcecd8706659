import type { TaskName } from "../../config/schema.js";
import { type GateResult, gate } from "../phase.js";
import type { LocalTestEvidence } from "./evidence.js";

export const STOP_LIMIT_SECONDS = 30;
/** The port SageMaker sends /ping and /invocations to in a single-container endpoint. */
export const SAGEMAKER_PORT = 8080;

/** Phase 1 reads the Dockerfile; only running the image can say whether it serves. */
const DECIDED_HERE = 'phase 3 decides "starts an HTTP server" by running the image';

/** Why /ping never answered 200, in the words of what the container did. */
export function startupFailure(evidence: LocalTestEvidence): string {
  const { startup } = evidence;
  const port = startup.probedPort ?? SAGEMAKER_PORT;
  const elsewhere = (startup.listening ?? []).filter((l) => l.port !== port);
  if (startup.portInUse !== undefined)
    return `port ${startup.portInUse} on 127.0.0.1 already answered before the container started, and no gen3d local test holds it: the test could not tell that server's answers from the container's`;
  if (startup.runError !== undefined)
    return `\`docker run IMAGE serve\` failed before the container started: ${startup.runError}`;
  if (elsewhere.length > 0 && !(startup.listening ?? []).some((l) => l.port === port)) {
    const ports = [...new Set(elsewhere.map((l) => l.port))].join(", ");
    return `/ping on port ${port} got no answer: the server listens on port ${ports}, by its log (${JSON.stringify(elsewhere[0]?.line)}); SageMaker sends /ping and /invocations to port ${port}`;
  }
  if (startup.exitedEarly)
    return `\`docker run IMAGE serve\` started no HTTP server: the container exited (code ${startup.exitCode ?? "?"}) before /ping answered 200 on port ${port} (${DECIDED_HERE})`;
  return `\`docker run IMAGE serve\` started no HTTP server that answers: /ping on port ${port} did not answer 200 within ${startup.budgetSeconds} s (${DECIDED_HERE})`;
}

function startupHint(evidence: LocalTestEvidence): string {
  const { startup } = evidence;
  const port = startup.probedPort ?? SAGEMAKER_PORT;
  if (startup.portInUse !== undefined)
    return port === startup.portInUse
      ? `Phase 3 runs the image as SageMaker does, on port ${port}: stop what listens there (\`ss -ltnp 'sport = :${port}'\`, or a container left running: \`docker ps\`), or set localTest.network to "publish" (with real AWS).`
      : "Choose another localTest.port, or 0 (any free port).";
  if (startup.runError !== undefined)
    return "Read docker's message above: an ENTRYPOINT that does not exist in the image, or a port already taken, are the usual causes.";
  if ((startup.listening ?? []).length > 0 && !(startup.listening ?? []).some((l) => l.port === port))
    return `Make the server listen on 0.0.0.0:${port} when started with \`serve\`: a single-container SageMaker endpoint sets no SAGEMAKER_BIND_TO_PORT, so the server's own default must be ${port}.`;
  if (startup.exitedEarly)
    return `Read the log above: an ENTRYPOINT that starts no server (a script that runs and returns), a missing model file or a missing dependency are the usual causes. Reproduce with \`docker run --network host IMAGE serve\` and \`curl 127.0.0.1:${port}/ping\`.`;
  return `The server never answered /ping 200 on port ${port}: check the log above (is a server started at all, on ${port}?), or raise timeouts.startupSeconds if model loading is legitimately slow.`;
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
      gate("local.startup", "/ping 200 within the startup budget", "fail", startupFailure(evidence), {
        details: tail.length ? ["container log (last lines):", ...tail.map((l) => `  ${l}`)] : [],
        hint: startupHint(evidence),
      }),
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
              : "Fix the container's handler for this task: the container is removed after the test, so its last log lines are shown here (look for the error id the response names).",
            ...(missingTask || tail.length === 0
              ? {}
              : { details: ["container log (last lines):", ...tail.map((l) => `  ${l}`)] }),
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
