import { lstatSync } from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { ExternalError, InterruptedError } from "../engine/errors.js";
import { contextFilter, contextSize, ignoreRules } from "./docker-context.js";

/** One message of the Engine API's JSON progress stream (build, push, pull). */
export interface EngineMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

export interface EngineBuildRequest {
  contextDir: string;
  /** The Dockerfile, inside contextDir. */
  dockerfile: string;
  tag: string;
  platform: string;
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
}

export interface EngineBuildOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The context's size once it is known, then the bytes sent so far. */
  onContext?: (sentBytes: number, totalBytes: number) => void;
  onMessage: (message: EngineMessage) => void;
}

/** Registry credentials for one push: sent in the X-Registry-Auth header, never on a command line. */
export interface EngineAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** The Docker Engine API for the two long operations whose progress a user waits on. */
export interface DockerEngine {
  /** The legacy builder through POST /build (BuildKit needs a session the API client lacks). */
  build(request: EngineBuildRequest, options: EngineBuildOptions): Promise<void>;
  /** POST /images/{name}/push for `name:tag`. */
  push(
    name: string,
    tag: string,
    options: { auth?: EngineAuth; signal?: AbortSignal; onMessage: (message: EngineMessage) => void },
  ): Promise<void>;
}

function engineFailure(error: unknown, what: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return new InterruptedError(`${what} was interrupted`);
  const message = error instanceof Error ? error.message : String(error);
  const unreachable = /ENOENT|ECONNREFUSED|EACCES|socket hang up/.test(message);
  if (unreachable)
    return new ExternalError("DOCKER_UNREACHABLE", "the Docker daemon is not reachable", {
      cause: error,
      hint: "Start Docker (or check DOCKER_HOST and `docker info`), then run the command again.",
    });
  // The daemon went away under a running request (restarted, killed, out of memory).
  const dropped = /ECONNRESET|EPIPE/.test(message);
  return new ExternalError(
    dropped ? "DOCKER_UNREACHABLE" : "DOCKER_FAILED",
    dropped
      ? `${what} failed: the Docker daemon dropped the connection (${message})`
      : `${what} failed: ${message}`,
    {
      cause: error,
      ...(dropped
        ? {
            hint: "The Docker daemon restarted or stopped mid-way: check `docker info` and the daemon's log, then run the command again (finished layers are cached).",
          }
        : {}),
    },
  );
}

/** Reads a progress stream to its end; a message with `error` fails it with the last lines kept. */
async function follow(
  stream: NodeJS.ReadableStream,
  onMessage: (message: EngineMessage) => void,
  what: string,
): Promise<void> {
  const recent: string[] = [];
  let buffered = "";
  let failure: string | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    let message: EngineMessage;
    try {
      message = JSON.parse(line) as EngineMessage;
    } catch {
      return;
    }
    for (const text of (message.stream ?? "").split("\n"))
      if (text.trim()) recent.push(text.trimEnd()) > 30 && recent.shift();
    if (message.error || message.errorDetail?.message) {
      failure = message.errorDetail?.message ?? message.error;
      return;
    }
    onMessage(message);
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) handle(line);
  }
  handle(buffered);
  if (failure !== undefined) {
    // The daemon could not reach the registry (or lost it mid-upload) after its own retries.
    const network =
      /connection reset|connection refused|i\/o timeout|no such host|broken pipe|unexpected EOF/i.test(
        failure,
      );
    throw new ExternalError("DOCKER_FAILED", `${what} failed: ${failure.split("\n")[0]}`, {
      details: [...recent.slice(-5), failure],
      // A build's network failure is a pull of its FROM image or a package index: the build
      // phase names that; this hint is about pushing.
      ...(network && what === "docker push"
        ? {
            hint: "The registry could not be reached or dropped the connection on every one of Docker's retries: check that it is up and reachable from the Docker daemon (aws.registry, network, proxy), then run the command again — layers already pushed are kept.",
          }
        : {}),
    });
  }
}

/** Where dockerode connects: a socket path, or {} for its defaults (DOCKER_HOST, then the default socket). */
export interface EngineEndpoint {
  socketPath?: string;
}

/**
 * The endpoint of the docker CLI's current context (`docker context inspect` JSON), or undefined
 * when it is one the API client cannot reach the same way (tcp with TLS material, ssh): the
 * caller then keeps to the CLI.
 */
export function engineEndpointFor(contextJson: string): EngineEndpoint | undefined {
  let host = "";
  try {
    host = String((JSON.parse(contextJson || "{}") as { Host?: unknown }).Host ?? "");
  } catch {
    return {};
  }
  if (host === "") return {};
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  if (host.startsWith("npipe://")) return { socketPath: host.slice("npipe://".length) };
  return undefined;
}

function clientFor(Dockerode: typeof import("dockerode"), endpoint: EngineEndpoint) {
  return new Dockerode(endpoint.socketPath ? { socketPath: endpoint.socketPath } : undefined);
}

/** dockerode on the given endpoint, else DOCKER_HOST or the default socket. */
export async function connectEngine(endpoint: EngineEndpoint = {}): Promise<DockerEngine> {
  const { default: Dockerode } = await import("dockerode");
  const client = clientFor(Dockerode, endpoint);
  return {
    async build(request, options) {
      const rules = await ignoreRules(request.contextDir);
      const dockerfile = path.relative(request.contextDir, request.dockerfile).split(path.sep).join("/");
      const included = contextFilter(rules, dockerfile);
      const total = await contextSize(request.contextDir, included);
      const signals = [
        options.signal,
        options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
      ];
      const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
      // tar-fs is CommonJS: bundled, its named exports exist only on `default`.
      const tarFs = (await import("tar-fs")) as typeof import("tar-fs") & {
        default?: typeof import("tar-fs");
      };
      const pack = tarFs.pack ?? tarFs.default?.pack;
      if (!pack) throw new Error("tar-fs offers no pack(): reinstall dependencies (npm ci)");
      let sent = 0;
      options.onContext?.(0, total);
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sent += chunk.length;
          options.onContext?.(sent, total);
          done(null, chunk);
        },
      });
      const tar = pack(request.contextDir, {
        ignore: (name) => {
          const relative = path.relative(request.contextDir, name).split(path.sep).join("/");
          let isDirectory = false;
          try {
            isDirectory = lstatSync(name).isDirectory();
          } catch {}
          return !included(relative, isDirectory);
        },
      });
      tar.on("error", (error) => counted.destroy(error));
      try {
        const stream = await client.buildImage(tar.pipe(counted), {
          t: request.tag,
          dockerfile,
          platform: request.platform,
          forcerm: true,
          labels: request.labels,
          buildargs: request.buildArgs,
          abortSignal: signal,
        });
        await follow(stream, options.onMessage, "docker build");
      } catch (error) {
        if (error instanceof ExternalError) throw error;
        if (options.signal?.aborted) throw new InterruptedError("docker build was interrupted");
        if (signal.aborted) {
          throw new ExternalError(
            "DOCKER_TIMEOUT",
            `docker build ran past its ${Math.round((options.timeoutMs ?? 0) / 1000)} s timeout and was stopped`,
            { hint: "Raise timeouts.buildSeconds in gen3d.config.json if the build is legitimately slow." },
          );
        }
        throw engineFailure(error, "docker build", options.signal);
      }
    },

    async push(name, tag, options) {
      try {
        const stream = await client.getImage(name).push({
          tag,
          abortSignal: options.signal,
          // The engine wants an auth header even for a registry without login.
          authconfig: options.auth ?? { serveraddress: name.split("/")[0] as string },
        });
        await follow(stream, options.onMessage, "docker push");
      } catch (error) {
        if (error instanceof ExternalError) throw error;
        throw engineFailure(error, "docker push", options.signal);
      }
    },
  };
}

/** The engine when its socket answers, else undefined (the caller falls back to the CLI). */
export async function reachableEngine(
  signal?: AbortSignal,
  endpoint: EngineEndpoint = {},
): Promise<DockerEngine | undefined> {
  try {
    const { default: Dockerode } = await import("dockerode");
    const timeout = AbortSignal.timeout(5000);
    await clientFor(Dockerode, endpoint).ping({
      abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    } as never);
    return await connectEngine(endpoint);
  } catch {
    return undefined;
  }
}
