import path from "node:path";

/**
 * The error taxonomy. Every failure that reaches the user is a Gen3dError with a stable code from
 * the union below; the renderer in output.ts prints message, cause and hint, and the stack only
 * with --verbose. Exit codes: 1 a gate or Docker/AWS failed, 2 bad input, 3 locked, 4 state
 * untrusted, 70 a bug in gen3d, 130 interrupted.
 */

/** Codes with a fixed name. A code is part of the JSON contract: rename one only with care. */
export const ERROR_CODES = [
  "AWS_CALL_FAILED",
  "AWS_UNEXPECTED",
  "AWS_UNREACHABLE",
  "BAD_FLAG",
  "BUILD_INTERACTIVE",
  "COLD_START_FAILED",
  "COLD_START_INPUT_MISSING",
  "COLD_START_TIMEOUT",
  "CONFIG_EXISTS",
  "CONFIG_INVALID",
  "CONFIG_MIXED_PACKAGING",
  "CONFIG_NOT_FOUND",
  "CONFIG_VOLUME_UNSUPPORTED",
  "CONTEXT_MISSING",
  "DEPLOY_TIMEOUT",
  "DOCKER_FAILED",
  "DOCKER_MISSING",
  "DOCKER_TIMEOUT",
  "DOCKER_UNREACHABLE",
  "ECR_DELETE_FAILED",
  "ECR_FAILED",
  "ENDPOINT_BUSY",
  "ENDPOINT_CONFIG_CONFLICT",
  "ENDPOINT_DELETE_TIMEOUT",
  "ENDPOINT_FAILED",
  "ENDPOINT_MISSING",
  "ENDPOINT_NOT_IN_SERVICE",
  "ENDPOINT_UNEXPECTED_STATUS",
  "ENDPOINT_VANISHED",
  "FIXTURE_MISSING",
  "GPU_DRIVER_MISMATCH",
  "IMAGE_MANIFEST_TYPE",
  "IMAGE_PLATFORM",
  "INIT_CANCELLED",
  "INIT_INVALID",
  "INIT_MISSING",
  "INPUT_UNREADABLE",
  "INTERNAL",
  "INTERRUPTED",
  "INVOCATION_BAD_OUTPUT",
  "INVOCATION_FAILED",
  "INVOCATION_TIMEOUT",
  "MODEL_CONFLICT",
  "MODEL_DATA_INVALID",
  "MODEL_DATA_MISSING",
  "NEEDS_CONFIRMATION",
  "NOT_IMPLEMENTED",
  "NOTHING_TO_RESUME",
  "NO_ENDPOINT",
  "NO_STATE",
  "PREREQUISITE_NOT_PASSED",
  "PUSH_MISSING",
  "REGION_UNKNOWN",
  "REGISTRY_ERROR",
  "REGISTRY_NO_AMD64",
  "REGISTRY_UNREACHABLE",
  "SAGEMAKER_LIMITS",
  "SCALE_TO_ZERO_TIMEOUT",
  "STATE_CORRUPT",
  "STATE_INVALID",
  "STATE_LOCKED",
  "STATE_PROJECT_MISMATCH",
  "STATE_UNREADABLE",
  "STATE_VERSION",
  "STATE_WRITE_FAILED",
  "TAG_EXISTS",
  "UNKNOWN_INSTANCE",
  "UNKNOWN_INVOCATION",
  "UNTESTED_IMAGE",
  "UPSTREAM_CHANGED",
  "UPSTREAM_INCONSISTENT",
  "UPSTREAM_MISSING",
  "USAGE",
  "VERIFY_FAILED",
] as const;

/** A gate's failure is named after the gate: GATE_DOCKERFILE_ENTRYPOINT. */
export type GateErrorCode = `GATE_${string}`;
export type ErrorCode = (typeof ERROR_CODES)[number] | GateErrorCode;

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra lines shown under the message (stderr tail, log tail, a list of problems). */
  details?: string[];
}

/** How the program ends for each kind of failure (README: Exit codes). */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  locked: 3,
  stateUntrusted: 4,
  internal: 70,
  interrupted: 130,
} as const;

export class Gen3dError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: string[];
  /** Whether a stack trace helps the reader: never for a user's mistake. */
  readonly showStack: boolean = true;
  readonly exitCode: number = EXIT.failed;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  toRecord(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Bad input from the user: a config problem, a wrong flag, a missing file. Never a stack. */
export class UserError extends Gen3dError {
  override readonly showStack = false;
  override readonly exitCode: number = EXIT.badInput;
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
  override readonly exitCode = EXIT.locked;
}

/** The state file cannot be trusted; we refuse to touch it. */
export class StateError extends UserError {
  override readonly exitCode = EXIT.stateUntrusted;
}

/**
 * The run was aborted (Ctrl-C, SIGTERM). No hint of its own: only the command knows whether there
 * is a run that `gen3d resume` could carry on (deploy adds it; init has nothing to resume).
 */
export class InterruptedError extends Gen3dError {
  override readonly showStack = false;
  override readonly exitCode = EXIT.interrupted;
  constructor(message = "interrupted", options: ErrorOptions = {}) {
    super("INTERRUPTED", message, options);
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

/** A bug in gen3d: exit 70, with how to report it. */
export class InternalError extends Gen3dError {
  override readonly exitCode = EXIT.internal;
}

export const REPORT_A_BUG =
  "This is a bug in gen3d, not in your setup: report it with the command you ran, this output with --verbose (the stack trace), and `gen3d --version`.";

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
  return new InternalError("INTERNAL", message, { cause: error, hint: REPORT_A_BUG });
}

/** The same error with another hint (the command knows the situation; the thrower did not). */
export function withHint<E extends Gen3dError>(error: E, hint: string | undefined): E {
  const copy = Object.create(Object.getPrototypeOf(error)) as E;
  Object.assign(copy, error);
  Object.defineProperty(copy, "hint", { value: hint, enumerable: true });
  Object.defineProperty(copy, "message", { value: error.message, enumerable: false });
  Object.defineProperty(copy, "stack", { value: error.stack, enumerable: false });
  if (error.cause !== undefined)
    Object.defineProperty(copy, "cause", { value: error.cause, enumerable: false });
  return copy;
}

const FULL_DISK = new Set(["ENOSPC", "EDQUOT"]);

/**
 * A write of STATE.json (or its lock's owner record) that the file system refused. The file on
 * disk is the one before this step: it is written whole to a temporary file and renamed.
 */
export function stateWriteError(file: string, error: unknown): ExternalError {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const full = FULL_DISK.has(code);
  const dir = path.dirname(file);
  return new ExternalError(
    "STATE_WRITE_FAILED",
    full
      ? `could not write ${file}: the disk is full (${code}); STATE.json is intact, as it was before this step`
      : `could not write ${file} (${code || (error as Error).message}); STATE.json is intact, as it was before this step`,
    {
      cause: error,
      hint: full
        ? `Free some space on the file system that holds ${dir} (df -h ${dir}), then run the same command again: it carries on from the recorded state.`
        : `Check that ${dir} is writable (permissions, a read-only mount), then run the same command again.`,
    },
  );
}
