import path from "node:path";
import type { AwsClients } from "../adapters/aws.js";
import type { Docker } from "../adapters/docker.js";
import type { LoadedConfig } from "../config/load.js";
import type { Clock } from "../engine/clock.js";
import { createIo, type Io } from "../engine/output.js";
import type { Prompter } from "../phases/phase.js";

export { systemClock } from "../engine/clock.js";

/** The config file looked for when --config is not given. */
export const DEFAULT_CONFIG_FILE = "gen3d.config.json";

export interface GlobalOptions {
  config?: string;
  state?: string;
  json?: boolean;
  yes?: boolean;
  verbose?: boolean;
  /** commander's reading of `--no-color`. */
  color?: boolean;
  /** The command being run, set by cli.ts: named in every JSON document. */
  command?: string;
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

export function ioFor(globals: GlobalOptions, runtime: Runtime): Io {
  return createIo({
    json: globals.json,
    verbose: globals.verbose,
    yes: globals.yes,
    noColor: globals.color === false,
    ...(globals.command ? { command: globals.command } : {}),
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
