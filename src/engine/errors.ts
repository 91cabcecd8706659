/**
 * The error taxonomy. Every failure that reaches the user is a Gen3dError with a stable code;
 * the renderer in output.ts prints message, cause and hint, and the stack only with --verbose.
 */
export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra lines shown under the message (stderr tail, log tail, a list of problems). */
  details?: string[];
}

export class Gen3dError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: string[];
  /** Whether a stack trace helps the reader: never for a user's mistake. */
  readonly showStack: boolean = true;
  readonly exitCode: number = 1;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  toRecord(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Bad input from the user: a config problem, a wrong flag, a missing file. Never a stack. */
export class UserError extends Gen3dError {
  override readonly showStack = false;
  override readonly exitCode: number = 2;
}

/** Docker or AWS said no. Keeps the cause and the stderr tail. */
export class ExternalError extends Gen3dError {
  override readonly showStack = false;
}

/** A gate looked at the evidence and said no. */
export class GateFailedError extends Gen3dError {
  override readonly showStack = false;
}

/** Another run holds the state lock. */
export class LockedError extends UserError {
  override readonly exitCode = 3;
}

/** The state file cannot be trusted; we refuse to touch it. */
export class StateError extends UserError {
  override readonly exitCode = 4;
}

/** The run was aborted (Ctrl-C, SIGTERM). */
export class InterruptedError extends Gen3dError {
  override readonly showStack = false;
  override readonly exitCode = 130;
  constructor(message = "interrupted") {
    super("INTERRUPTED", message, { hint: "Run `gen3d resume` to carry on where it stopped." });
  }
}

/** A phase that a later issue implements. It fails loudly and never passes. */
export class NotImplementedError extends Gen3dError {
  override readonly showStack = false;
  constructor(what: string) {
    super("NOT_IMPLEMENTED", `${what} is not implemented yet`, {
      hint: "This phase cannot pass until it is built; run with --to to stop before it.",
    });
  }
}

/** A bug in gen3d. */
export class InternalError extends Gen3dError {}

export function isAbort(error: unknown): boolean {
  if (error instanceof InterruptedError) return true;
  if (!(error instanceof Error)) return false;
  // @inquirer/prompts rejects with these when Ctrl-C or the abort signal ends a prompt.
  return (
    ["AbortError", "ExitPromptError", "AbortPromptError"].includes(error.name) ||
    (error as { code?: string }).code === "ABORT_ERR"
  );
}

/** Normalises anything thrown into a Gen3dError, keeping the original as the cause. */
export function toGen3dError(error: unknown): Gen3dError {
  if (error instanceof Gen3dError) return error;
  if (isAbort(error)) return new InterruptedError();
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError("INTERNAL", message, { cause: error });
}
