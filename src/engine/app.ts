import path from "node:path";
import type { AwsClients } from "../adapters/aws.js";
import type { Docker } from "../adapters/docker.js";
import { DEFAULT_CONFIG_FILE, type LoadedConfig, loadConfig } from "../config/load.js";
import { UserError } from "./errors.js";
import { acquireStateLock, type StateLock } from "./lock.js";
import { createIo, type Io } from "./output.js";
import type { Clock, PhaseContext, Prompter } from "./phase.js";
import { StateStore } from "./state.js";

export interface GlobalOptions {
  config?: string;
  state?: string;
  json?: boolean;
  yes?: boolean;
  verbose?: boolean;
}

/** What the process gives the program; tests pass their own. */
export interface Runtime {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  isTTY: boolean;
  signal: AbortSignal;
  /** Injected in tests; created from config otherwise. */
  docker?: Docker;
  aws?: AwsClients;
  clock?: Clock;
  prompt?: Prompter;
}

export type AppContext = Omit<PhaseContext, "progress">;

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

export function ioFor(globals: GlobalOptions, runtime: Runtime): Io {
  return createIo({
    json: globals.json,
    verbose: globals.verbose,
    yes: globals.yes,
    env: runtime.env,
    stdout: runtime.stdout,
    stderr: runtime.stderr,
    isTTY: runtime.isTTY,
  });
}

export function configPath(globals: GlobalOptions, runtime: Runtime): string {
  return path.resolve(runtime.cwd, globals.config ?? DEFAULT_CONFIG_FILE);
}

export function statePath(globals: GlobalOptions, runtime: Runtime, loaded?: LoadedConfig): string {
  if (globals.state) return path.resolve(runtime.cwd, globals.state);
  if (loaded) return path.join(loaded.baseDir, "STATE.json");
  return path.join(globals.config ? path.dirname(configPath(globals, runtime)) : runtime.cwd, "STATE.json");
}

function prompter(io: Io, signal: AbortSignal): Prompter {
  return {
    async confirm(message, defaultValue = false) {
      if (io.assumeYes) return true;
      if (io.nonInteractive) {
        throw new UserError("NEEDS_CONFIRMATION", `${message} — cannot ask without a terminal`, {
          hint: "Pass --yes to confirm non-interactively.",
        });
      }
      const { confirm } = await import("@inquirer/prompts");
      return confirm({ message, default: defaultValue }, { signal, output: process.stderr });
    },
  };
}

export interface OpenedContext {
  ctx: AppContext;
  release(): Promise<void>;
}

/**
 * Loads config and state and wires the adapters. `lock` takes the state lock (mutating commands);
 * read-only commands open the state without it.
 */
export async function openContext(
  globals: GlobalOptions,
  runtime: Runtime,
  options: { lock?: string } = {},
): Promise<OpenedContext> {
  const io = ioFor(globals, runtime);
  const loaded = await loadConfig(configPath(globals, runtime));
  const stateFile = statePath(globals, runtime, loaded);
  let lock: StateLock | undefined;
  const compromised = new AbortController();
  if (options.lock) {
    lock = await acquireStateLock(stateFile, options.lock, (error) => {
      io.stderr(`warning: the state lock was compromised (${error.message}); stopping\n`);
      compromised.abort(error);
    });
  }
  try {
    const state = await StateStore.open(stateFile, loaded.config.project.name);
    const { createAwsClients } = await import("../adapters/aws.js");
    const { DockerCli } = await import("../adapters/docker.js");
    const signal = AbortSignal.any([runtime.signal, compromised.signal]);
    const ctx: AppContext = {
      loaded,
      config: loaded.config,
      io,
      state,
      docker: runtime.docker ?? new DockerCli(),
      aws: runtime.aws ?? createAwsClients(loaded.config.aws),
      clock: runtime.clock ?? systemClock,
      prompt: runtime.prompt ?? prompter(io, signal),
      signal,
      env: runtime.env,
    };
    return { ctx, release: async () => lock?.release() };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}
