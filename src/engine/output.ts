import packageJson from "../../package.json" with { type: "json" };
import { type Gen3dError, toGen3dError } from "./errors.js";
import { redactText } from "./redact.js";

/** gen3d's version, as `--version` and every JSON document report it. */
export const VERSION: string = packageJson.version;

/** Where output goes. Results on stdout; everything meant for a human on stderr. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is an interactive terminal (rich rendering, prompts allowed). */
  isTTY: boolean;
  color: boolean;
  json: boolean;
  verbose: boolean;
  /** No prompts: --yes, CI=true or no TTY. */
  nonInteractive: boolean;
  assumeYes: boolean;
  /** The command being run (`deploy`, `status`), named in every JSON document. */
  command: string;
  /** The loaded config's warnings (legal but unwise settings), carried in the JSON document. */
  warnings?: readonly JsonWarning[];
}

/** A config warning as the JSON envelope carries it. */
export interface JsonWarning {
  path: string;
  message: string;
  hint?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const set = (value: string | undefined) => value !== undefined && value !== "";

/**
 * The one decision about colour: `--no-color` and a non-empty NO_COLOR (no-color.org) turn it
 * off; FORCE_COLOR turns it on (FORCE_COLOR=0 or false off); otherwise a terminal that is not dumb.
 */
export function colorEnabled(options: { env: Env; isTTY: boolean; noColor?: boolean }): boolean {
  const { env } = options;
  if (options.noColor) return false;
  if (set(env.NO_COLOR)) return false;
  if (env.FORCE_COLOR !== undefined) return !["0", "false"].includes(env.FORCE_COLOR);
  return options.isTTY && env.TERM !== "dumb";
}

export function createIo(options: {
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
  /** `--no-color` (commander's `color: false`). */
  noColor?: boolean;
  command?: string;
  env?: Env;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  isTTY?: boolean;
}): Io {
  const env = options.env ?? {};
  const ci = set(env.CI) && env.CI !== "false" && env.CI !== "0";
  const isTTY = (options.isTTY ?? false) && !ci;
  return {
    stdout: options.stdout ?? (() => {}),
    stderr: options.stderr ?? (() => {}),
    isTTY,
    color: colorEnabled({ env, isTTY, noColor: options.noColor ?? false }),
    json: options.json ?? false,
    verbose: options.verbose ?? false,
    nonInteractive: !isTTY || (options.yes ?? false),
    assumeYes: (options.yes ?? false) || ci,
    command: options.command ?? "gen3d",
  };
}

const paint = (io: Pick<Io, "color">, code: number, text: string) =>
  io.color ? `\u001b[${code}m${text}\u001b[0m` : text;
export const red = (io: Pick<Io, "color">, text: string) => paint(io, 31, text);
export const green = (io: Pick<Io, "color">, text: string) => paint(io, 32, text);
export const yellow = (io: Pick<Io, "color">, text: string) => paint(io, 33, text);
export const dim = (io: Pick<Io, "color">, text: string) => paint(io, 2, text);
export const bold = (io: Pick<Io, "color">, text: string) => paint(io, 1, text);

/** Hashes and ISO timestamps are noise in a human's output: shown only with --verbose. */
export function verboseOnly(io: Pick<Io, "verbose">, text: string): string {
  return io.verbose ? text : "";
}

/**
 * The one renderer of errors: message, details, cause, hint; the stack only with --verbose. A hint
 * already shown as a gate's `fix:` is not repeated.
 */
export function renderError(io: Pick<Io, "color" | "verbose">, thrown: unknown): string {
  const error = toGen3dError(thrown);
  const lines = [`${red(io, "Error")} [${error.code}]: ${error.message}`];
  for (const detail of error.details) lines.push(`  ${detail}`);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  if (cause && cause !== error.message) lines.push(`  ${dim(io, `cause: ${cause}`)}`);
  const shown = error.details.some((d) => error.hint !== undefined && d.includes(error.hint));
  if (error.hint && !shown) lines.push(`  ${yellow(io, "hint")}: ${error.hint}`);
  if (io.verbose) {
    const stack = error.cause instanceof Error ? error.cause.stack : error.stack;
    if (stack) lines.push(dim(io, stack));
  } else if (error.showStack) {
    lines.push(dim(io, "  (run with --verbose for the stack trace)"));
  }
  return redactText(`${lines.join("\n")}\n`);
}

/** The fields every JSON document starts with: the same envelope for every command. */
export interface Envelope {
  ok: boolean;
  command: string;
  version: string;
}

/** One JSON document for `--json`: `{ ok, command, version, [warnings], ...payload }`. */
export function jsonDocument(
  command: string,
  ok: boolean,
  payload: Record<string, unknown>,
  warnings: readonly JsonWarning[] = [],
): string {
  const envelope: Envelope = { ok, command, version: VERSION };
  const warned = warnings.length > 0 ? { warnings } : {};
  return `${JSON.stringify({ ...envelope, ...warned, ...payload }, null, 2)}\n`;
}

/** Writes the command's result as one JSON document on stdout. */
export function printJson(
  io: Pick<Io, "stdout" | "command" | "warnings">,
  ok: boolean,
  payload: Record<string, unknown>,
) {
  io.stdout(jsonDocument(io.command, ok, payload, io.warnings));
}

/** `logs -f --json`: one compact document a line (the stream has no end to wait for). */
export function jsonLine(io: Pick<Io, "command">, payload: Record<string, unknown>): string {
  const envelope: Envelope = { ok: true, command: io.command, version: VERSION };
  return `${JSON.stringify({ ...envelope, ...payload })}\n`;
}

/** What a failure looks like in JSON, inside the envelope. */
export function errorRecord(thrown: unknown): {
  code: string;
  message: string;
  hint?: string;
  details: string[];
  exitCode: number;
} {
  const error: Gen3dError = toGen3dError(thrown);
  return { ...error.toRecord(), details: error.details, exitCode: error.exitCode };
}

/** The JSON document of a command that failed before (or instead of) producing its result. */
export function errorJson(command: string, thrown: unknown): string {
  return jsonDocument(command, false, { error: errorRecord(thrown) });
}

/** A fixed-width table for status and plan. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
  }
  return `${rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visibleLength(cell)),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

/** The text without ANSI colour codes. */
export function withoutColor(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

function visibleLength(text: string): number {
  return withoutColor(text).length;
}
