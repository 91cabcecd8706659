import { ExternalError, InterruptedError } from "../engine/errors.js";
import { withOwnerLabels } from "./container-owner.js";
import type { DockerEngine } from "./docker-engine.js";

export interface DockerResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface DockerExecOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called with each line of stdout and stderr as it arrives (build output streams into the task). */
  onLine?: (line: string) => void;
  input?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /**
   * Values for `--env NAME` flags: they reach the container through the docker CLI's own
   * environment, so neither `ps` nor the argv shows them.
   */
  env?: Record<string, string>;
  /**
   * Run to completion even when the run is interrupted: not cancelled by `signal`, and in its own
   * process group, so the terminal's Ctrl-C reaches gen3d only. For a command that creates
   * something gen3d must then remove: killed halfway, it could leave that thing behind unnamed.
   */
  shielded?: boolean;
}

/** The docker CLI, driven with argv arrays (never a shell string). */
export interface Docker {
  exec(args: readonly string[], options?: DockerExecOptions): Promise<DockerResult>;
  /**
   * The Engine API, for the operations whose JSON progress stream a user waits on (build, push).
   * Absent, or resolving to undefined when the socket does not answer: callers use `exec` instead.
   */
  engine?(signal?: AbortSignal): Promise<DockerEngine | undefined>;
}

export function dockerAdvice(platform: NodeJS.Platform): string {
  switch (platform) {
    case "darwin":
      return "Start Docker Desktop (or `colima start`) and check that `docker info` answers.";
    case "win32":
      return "Start Docker Desktop with the WSL 2 backend and check that `docker info` answers.";
    default:
      return (
        "Start the engine (`sudo systemctl start docker`, or `bash scripts/local-stack/up.sh` for gen3d's loopback-only " +
        "engine) and check that `docker info` answers; if it says permission denied, add yourself to the docker group."
      );
  }
}

function tail(text: string, lines = 20): string[] {
  return text.trimEnd().split("\n").slice(-lines);
}

export class DockerCli implements Docker {
  private engineConnection: Promise<DockerEngine | undefined> | undefined;

  constructor(
    private readonly binary = "docker",
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  /**
   * The daemon this CLI talks to, through the Engine API: DOCKER_HOST when set, else the current
   * docker context's endpoint, so build and push never land on another daemon than `docker`'s.
   */
  engine(signal?: AbortSignal): Promise<DockerEngine | undefined> {
    this.engineConnection ??= (async () => {
      const { engineEndpointFor, reachableEngine } = await import("./docker-engine.js");
      let endpoint = {};
      if (!process.env.DOCKER_HOST) {
        const context = await this.exec(["context", "inspect", "--format", "{{json .Endpoints.docker}}"], {
          allowFailure: true,
          signal,
          timeoutMs: 10_000,
        }).catch(() => undefined);
        const resolved = engineEndpointFor(context?.exitCode === 0 ? context.stdout : "");
        if (!resolved) return undefined;
        endpoint = resolved;
      }
      return reachableEngine(signal, endpoint);
    })();
    return this.engineConnection;
  }

  async exec(args: readonly string[], options: DockerExecOptions = {}): Promise<DockerResult> {
    const { execa } = await import("execa");
    // Every container gen3d creates names its owner, so a later run can reap what a killed one left.
    const argv = withOwnerLabels(args);
    const child = execa(this.binary, argv, {
      reject: false,
      all: false,
      cancelSignal: options.shielded ? undefined : options.signal,
      detached: options.shielded ?? false,
      timeout: options.timeoutMs,
      input: options.input,
      env: options.env,
      stripFinalNewline: true,
      buffer: { stdout: true, stderr: true },
      ...(options.onLine
        ? {
            stdout: [
              "pipe",
              function* (line: unknown) {
                options.onLine?.(String(line));
                yield line;
              },
            ],
            stderr: [
              "pipe",
              function* (line: unknown) {
                options.onLine?.(String(line));
                yield line;
              },
            ],
          }
        : {}),
    });
    const result = await child;
    const command = `docker ${args.slice(0, 3).join(" ")}${args.length > 3 ? " …" : ""}`;
    if (result.isCanceled || (!options.shielded && options.signal?.aborted))
      throw new InterruptedError(`${command} was interrupted`);
    if (result.timedOut) {
      throw new ExternalError(
        "DOCKER_TIMEOUT",
        `${command} ran past its ${Math.round((options.timeoutMs ?? 0) / 1000)} s timeout and was killed`,
        {
          details: tail(String(result.stderr ?? "")),
          hint: "Raise the timeout in gen3d.config.json (timeouts.*) if the work is legitimately slow.",
        },
      );
    }
    const code = (result as { code?: string }).code;
    if (code === "ENOENT" || (result.failed && result.exitCode === undefined)) {
      throw new ExternalError("DOCKER_MISSING", `the docker CLI was not found (${this.binary})`, {
        hint: `Install Docker. ${dockerAdvice(this.platform)}`,
      });
    }
    const out: DockerResult = {
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      exitCode: result.exitCode ?? 1,
    };
    if (out.exitCode !== 0 && !options.allowFailure) {
      const daemonDown =
        /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(
          out.stderr,
        );
      throw new ExternalError(
        daemonDown ? "DOCKER_UNREACHABLE" : "DOCKER_FAILED",
        daemonDown ? "the Docker daemon is not reachable" : `${command} exited with ${out.exitCode}`,
        { details: tail(out.stderr), hint: daemonDown ? dockerAdvice(this.platform) : undefined },
      );
    }
    return out;
  }
}
