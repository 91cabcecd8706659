import { ExternalError, isAbort } from "../engine/errors.js";

/** The error name an SDK v3 exception carries (`ValidationException`, `AccessDeniedException`…). */
export function awsErrorName(error: unknown): string {
  if (!error || typeof error !== "object") return "";
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  if (typeof e.name === "string" && e.name !== "Error") return e.name;
  if (typeof e.Code === "string") return e.Code;
  if (typeof e.code === "string") return e.code;
  return "";
}

export function awsErrorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * SageMaker answers a missing resource with a ValidationException ("Could not find model …");
 * Application Auto Scaling and others use ObjectNotFound / ResourceNotFound names.
 */
export function isNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  if (/NotFound|NoSuch/i.test(name)) return true;
  if (name === "ValidationException" || name === "ValidationError") {
    return /could not find|does not exist|not found|no scal(able target|ing policy) found/i.test(
      awsErrorMessage(error),
    );
  }
  return false;
}

export function isAccessDenied(error: unknown): boolean {
  return /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(awsErrorName(error));
}

export function isThrottle(error: unknown): boolean {
  return /Throttl|TooManyRequests|RequestLimitExceeded/i.test(awsErrorName(error));
}

/** A 5xx answer (InternalFailure, ServiceUnavailable, S3's SlowDown…), after the SDK's retries. */
export function isServerError(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 500) return true;
  return /InternalFailure|InternalError|InternalServerError|ServiceUnavailable|SlowDown/i.test(
    awsErrorName(error),
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Nothing listens where the SDK connects: ECONNREFUSED on the error, its cause, or any of an
 * AggregateError's attempts (Node tries IPv6 and IPv4 for `localhost`).
 */
export function isConnectionRefused(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  if (errorCode(error) === "ECONNREFUSED") return true;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isConnectionRefused)) return true;
  return cause !== undefined && cause !== error && isConnectionRefused(cause);
}

/**
 * The error a refused connection becomes: with aws.endpoint set, the local AWS is not running;
 * without, something between here and AWS (a proxy, a firewall) refuses.
 */
export function connectionRefused(
  error: unknown,
  endpoint: string | undefined,
  operation?: string,
): ExternalError {
  const during = operation ? `, ${operation.replace(/Command$/, "")}` : "";
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const tried = attempts ? ` after ${attempts} attempt${attempts === 1 ? "" : "s"}` : "";
  if (endpoint) {
    return new ExternalError(
      "AWS_UNREACHABLE",
      `nothing listens on ${endpoint} (connection refused${during}${tried})`,
      {
        cause: error,
        hint: "Start the AWS emulator that should answer there (from a gen3d checkout: `bash scripts/local-aws.sh up`; README: The local stack), or set aws.endpoint in gen3d.config.json to where it listens.",
      },
    );
  }
  return new ExternalError(
    "AWS_UNREACHABLE",
    `AWS refused the connection (${awsErrorMessage(error)}${during}${tried})`,
    {
      cause: error,
      hint: "Something between this machine and AWS refuses the connection: check the network, a proxy (HTTPS_PROXY) or VPN, and aws.region.",
    },
  );
}

/**
 * Turns an SDK failure into an ExternalError naming the action and the fix. `permission` is the IAM
 * action the caller needs for `action` (e.g. `sagemaker:CreateModel`).
 */
export function awsFailure(error: unknown, action: string, permission?: string, extraHint?: string): Error {
  if (isAbort(error)) return error as Error;
  if (error instanceof ExternalError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  let name = awsErrorName(error) || "Error";
  // An error answer without a body (S3 answers HEAD so): the status is all there is to name.
  if (/^Unknown/.test(name) && typeof status === "number") name = `HTTP ${status}`;
  const message = awsErrorMessage(error);
  let hint: string | undefined;
  if (isAccessDenied(error)) {
    hint = permission
      ? `The AWS identity gen3d runs as lacks \`${permission}\`: add it to that identity's IAM policy.`
      : "The AWS identity gen3d runs as is not allowed to do this: check its IAM policy.";
  } else if (name === "NoSuchBucket") {
    const bucket = /s3:\/\/([^/\s]+)/.exec(action)?.[1] ?? "BUCKET";
    hint = `The S3 bucket ${bucket} does not exist (any more): create it (\`aws s3 mb s3://${bucket}\`, with \`--endpoint-url\` for a local AWS) or fix s3.bucket in gen3d.config.json, then \`gen3d resume\`.`;
  } else if (name === "ResourceLimitExceeded") {
    hint =
      "An account quota is exhausted: raise it in the Service Quotas console (service SageMaker), or delete unused resources.";
  } else if (isThrottle(error)) {
    hint = "AWS throttled the call after the SDK's retries; wait a minute and run the command again.";
  } else if (
    /ExpiredToken|InvalidClientTokenId|UnrecognizedClient|CredentialsProviderError|SignatureDoesNotMatch/i.test(
      name,
    )
  ) {
    hint =
      "The AWS credentials are missing or expired: refresh them (e.g. `aws sso login`), or set aws.profile in gen3d.config.json / AWS_PROFILE, then run the command again.";
  } else if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(`${name} ${message}`)) {
    hint =
      "The AWS endpoint is unreachable: check aws.endpoint (is the local emulator running?) or the network.";
  } else if (isServerError(error)) {
    hint =
      "AWS answered with a server error (5xx) after the SDK's retries: the fault is on AWS's side and usually passes; wait a few minutes (see the AWS Health Dashboard) and run the command again.";
  } else if (
    /ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|TimeoutError/i.test(
      `${name} ${message} ${errorCode(error) ?? ""}`,
    )
  ) {
    hint =
      "The connection to AWS was reset or timed out on every one of the SDK's retries: check the network, a proxy (HTTPS_PROXY) or VPN, then run the command again.";
  }
  if (extraHint) hint = hint ? `${hint} ${extraHint}` : extraHint;
  return new ExternalError("AWS_CALL_FAILED", `${action} failed: ${name}: ${message}`, {
    cause: error,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** The SDK's own error inside a facade's AWS_CALL_FAILED (whose message already names the call). */
export function sdkError(error: unknown): unknown {
  return error instanceof ExternalError && error.code === "AWS_CALL_FAILED" && error.cause !== undefined
    ? error.cause
    : error;
}

/** One SDK call whose failure becomes `awsFailure(action, permission)`: the facades' common shape. */
export async function mapFailure<T>(action: string, permission: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsFailure(error, action, permission);
  }
}

/** A read of one thing that may not exist: `undefined` when AWS says it does not. */
export async function unlessNotFound<T>(
  action: string,
  permission: string,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw awsFailure(error, action, permission);
  }
}

/** What a delete found: it removed the thing, or the thing was already gone. */
export type Deleted = "deleted" | "already-gone";

/** A delete that tolerates what is already gone; any other failure names the action and permission. */
export async function deleteTolerant(
  action: string,
  permission: string,
  call: () => Promise<unknown>,
): Promise<Deleted> {
  const done = await unlessNotFound(action, permission, async () => {
    await call();
    return "deleted" as const;
  });
  return done ?? "already-gone";
}
