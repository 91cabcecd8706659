import type { Docker, DockerExecOptions, DockerResult } from "../../src/adapters/docker.js";
import type { AppContext, Runtime } from "../../src/app/context.js";
import type { Clock } from "../../src/phases/phase.js";

type Handler = (args: readonly string[], options: DockerExecOptions) => DockerResult | Promise<DockerResult>;

/**
 * A docker that answers only the commands a test expects; anything else throws, so a phase that
 * runs an unplanned command fails the test instead of passing silently.
 */
export function fakeDocker(handlers: Record<string, Handler>): Docker & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async exec(args, options = {}) {
      calls.push([...args]);
      const key = Object.keys(handlers)
        .sort((a, b) => b.length - a.length)
        .find((prefix) => args.join(" ").startsWith(prefix));
      if (!key) throw new Error(`unexpected docker command: docker ${args.join(" ")}`);
      const result = await (handlers[key] as Handler)(args, options);
      if (result.exitCode !== 0 && !options.allowFailure)
        throw new Error(`docker ${args.join(" ")} failed: ${result.stderr}`);
      return result;
    },
  };
}

export const dockerUp = () =>
  fakeDocker({
    version: () => ({
      stdout: JSON.stringify({
        Client: { Version: "26.1.5" },
        Server: { Version: "26.1.5", Os: "linux", Arch: "amd64" },
      }),
      stderr: "",
      exitCode: 0,
    }),
  });

export const dockerDown = () =>
  fakeDocker({
    version: () => ({
      stdout: JSON.stringify({ Client: { Version: "26.1.5" }, Server: null }),
      stderr:
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      exitCode: 1,
    }),
  });

/** A clock that advances only when told; sleep resolves at once but counts. */
export function fakeClock(
  start = new Date("2026-01-01T00:00:00Z"),
): Clock & { advance(ms: number): void; slept: number[] } {
  let now = start.getTime();
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      now += ms;
    },
  };
}

export interface Captured {
  stdout: string;
  stderr: string;
}

/** A Runtime for `main()` in-process, capturing output. */
export function testRuntime(cwd: string, extra: Partial<Runtime> = {}): Runtime & { out: Captured } {
  const out: Captured = { stdout: "", stderr: "" };
  return {
    out,
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env: { CI: "true", AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" },
    cwd,
    isTTY: false,
    signal: new AbortController().signal,
    ...extra,
  };
}

export type { AppContext };
