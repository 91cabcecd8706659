import { listeningPorts, type PingResult, ping } from "../../checks/container-probe.js";
import { elapsedOfLimit } from "../../engine/progress.js";
import type { PhaseContext } from "../phase.js";
import { containerLogs, containerStatus } from "./container.js";
import type { LocalTestEvidence } from "./evidence.js";

const PING_LIMIT_MS = 2_000;
/** How often the log is read for a "listening on" line while /ping does not answer. */
const LOG_EVERY_MS = 2_000;
/** A server the log shows on another port gets this long to also answer on ours before we stop. */
const WRONG_PORT_GRACE_MS = 3_000;

/**
 * Counts a ping in the evidence. Only pings after the first 200 count against SageMaker's 2 s:
 * before that the container is "not healthy yet", which the startup budget covers.
 */
export function pingRecorder(evidence: LocalTestEvidence) {
  return (result: PingResult): PingResult => {
    evidence.pings.count++;
    if (evidence.startup.healthy) {
      evidence.pings.maxMs = Math.max(evidence.pings.maxMs, result.ms);
      if (result.ms >= PING_LIMIT_MS) evidence.pings.slow++;
      if (result.status !== 200) evidence.pings.failed++;
    }
    return result;
  };
}

/**
 * Pings until 200 from our running container, the container exits, the budget runs out, or the
 * log shows the server listening on a port other than the probed one (it will never answer there:
 * no need to wait out the budget).
 */
export async function waitHealthy(
  ctx: PhaseContext,
  name: string,
  baseUrl: string,
  probedPort: number,
  evidence: LocalTestEvidence,
): Promise<void> {
  const record = pingRecorder(evidence);
  const { startup } = evidence;
  startup.probedPort = probedPort;
  const started = ctx.clock.now().getTime();
  const deadline = started + startup.budgetSeconds * 1000;
  let logReadAt = Number.NEGATIVE_INFINITY;
  let wrongPortSince: number | undefined;
  while (ctx.clock.now().getTime() < deadline) {
    const result = record(await ping(baseUrl, ctx.signal));
    const state = await containerStatus(ctx, name);
    // A 200 counts only while our container runs: anything else on the port is not it.
    if (result.status === 200 && state?.Running) {
      startup.healthy = true;
      startup.secondsToHealthy = Math.round((ctx.clock.now().getTime() - started) / 100) / 10;
      return;
    }
    if (!state?.Running) {
      startup.exitedEarly = true;
      startup.exitCode = state?.ExitCode;
      startup.listening = listeningPorts(await containerLogs(ctx, name));
      return;
    }
    const now = ctx.clock.now().getTime();
    if (now - logReadAt >= LOG_EVERY_MS) {
      logReadAt = now;
      const listening = listeningPorts(await containerLogs(ctx, name));
      startup.listening = listening;
      const elsewhere = listening.length > 0 && !listening.some((l) => l.port === probedPort);
      wrongPortSince = elsewhere ? (wrongPortSince ?? now) : undefined;
      if (wrongPortSince !== undefined && now - wrongPortSince >= WRONG_PORT_GRACE_MS) return;
    }
    // Every half second: the runner shows it at most once every few seconds without a terminal.
    ctx.progress(
      `waiting for /ping on port ${probedPort} (${elapsedOfLimit((now - started) / 1000, startup.budgetSeconds)})`,
    );
    await ctx.clock.sleep(500, ctx.signal);
  }
  startup.listening = listeningPorts(await containerLogs(ctx, name));
}
