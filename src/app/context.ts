import { type LoadedConfig, loadConfig } from "../config/load.js";
import { UserError } from "../engine/errors.js";
import { acquireStateLock, type StateLock } from "../engine/lock.js";
import { type Io, yellow } from "../engine/output.js";
import { StateStore } from "../engine/state.js";
import type { PhaseContext, Prompter } from "../phases/phase.js";
import { configPath, type GlobalOptions, ioFor, type Runtime, statePath, systemClock } from "./runtime.js";

export type { GlobalOptions, Runtime } from "./runtime.js";
export { configPath, ioFor, statePath, systemClock } from "./runtime.js";

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

/**
 * Loads the config (every problem at once, the region included, before any network call) and
 * reports its warnings once: on stderr (`warning: path: message`, the fix indented below it) and
 * in the command's JSON document, through `io`.
 */
export async function loadConfigFor(globals: GlobalOptions, runtime: Runtime, io: Io): Promise<LoadedConfig> {
  const loaded = await loadConfig(configPath(globals, runtime));
  io.warnings = loaded.warnings;
  for (const warning of loaded.warnings) {
    io.stderr(`${yellow(io, "warning")}: ${warning.path}: ${warning.message}\n`);
    if (warning.hint) io.stderr(`  ${warning.hint}\n`);
  }
  return loaded;
}

export type AppContext = Omit<PhaseContext, "progress">;

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
  const loaded = await loadConfigFor(globals, runtime, io);
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
    // Whoever takes the lock cleans up after a holder that was killed.
    if (lock) {
      const { reapLeftovers } = await import("../adapters/leftovers.js");
      await reapLeftovers({ ...ctx, project: loaded.config.project.name });
    }
    return { ctx, release: async () => lock?.release() };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}
