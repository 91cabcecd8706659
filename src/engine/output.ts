import { Gen3dError, toGen3dError } from "./errors.js";
import { redactText } from "./redact.js";

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
}

export function createIo(options: {
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  isTTY?: boolean;
}): Io {
  const env = options.env ?? {};
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  const isTTY = (options.isTTY ?? false) && !ci;
  return {
    stdout: options.stdout ?? (() => {}),
    stderr: options.stderr ?? (() => {}),
    isTTY,
    color: isTTY && env.NO_COLOR === undefined && env.TERM !== "dumb",
    json: options.json ?? false,
    verbose: options.verbose ?? false,
    nonInteractive: !isTTY || (options.yes ?? false),
    assumeYes: (options.yes ?? false) || ci,
  };
}

const paint = (io: Io, code: number, text: string) => (io.color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const red = (io: Io, text: string) => paint(io, 31, text);
export const green = (io: Io, text: string) => paint(io, 32, text);
export const yellow = (io: Io, text: string) => paint(io, 33, text);
export const dim = (io: Io, text: string) => paint(io, 2, text);
export const bold = (io: Io, text: string) => paint(io, 1, text);

/** The one renderer of errors: message, details, cause, hint; the stack only with --verbose. */
export function renderError(io: Io, thrown: unknown): string {
  const error = toGen3dError(thrown);
  const lines = [`${red(io, "Error")} [${error.code}]: ${error.message}`];
  for (const detail of error.details) lines.push(`  ${detail}`);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  if (cause && cause !== error.message) lines.push(`  ${dim(io, `cause: ${cause}`)}`);
  if (error.hint) lines.push(`  ${yellow(io, "hint")}: ${error.hint}`);
  if (io.verbose || (!(thrown instanceof Gen3dError) && error.showStack)) {
    const stack = error.cause instanceof Error ? error.cause.stack : error.stack;
    if (stack) lines.push(dim(io, stack));
  } else if (error.showStack) {
    lines.push(dim(io, "  (run with --verbose for the stack trace)"));
  }
  return redactText(`${lines.join("\n")}\n`);
}

export function errorJson(thrown: unknown): Record<string, unknown> {
  const error = toGen3dError(thrown);
  return { ok: false, error: { ...error.toRecord(), details: error.details } };
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

function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}
