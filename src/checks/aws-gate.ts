import { awsErrorName, awsFailure, sdkError } from "../adapters/aws-errors.js";
import { type Gen3dError, isAbort } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";

/** The SDK error's name (`AccessDeniedException`…), through a facade's mapping. */
export function sdkErrorName(error: unknown): string {
  return awsErrorName(sdkError(error));
}

/**
 * A short, actionable reading of an AWS failure for a gate: the message names the gate's action;
 * the hint is the facade's (which names the IAM permission where one is missing).
 */
export function describeAwsError(error: unknown, action = "AWS call"): { message: string; hint?: string } {
  const failure = awsFailure(error, action) as Gen3dError;
  const cause = sdkError(error);
  const message = cause === error ? failure.message : (awsFailure(cause, action) as Gen3dError).message;
  return { message, hint: failure.hint };
}

/**
 * Runs a gate's AWS reads. An interruption stops preflight; `onError` may turn a known failure
 * into its own result; any other failure fails the gate with the action and the fix.
 */
export async function guarded(
  id: string,
  title: string,
  body: () => Promise<GateResult>,
  onError?: (error: unknown) => GateResult | undefined,
): Promise<GateResult> {
  try {
    return await body();
  } catch (error) {
    if (isAbort(error)) throw error;
    const special = onError?.(error);
    if (special) return special;
    const { message, hint } = describeAwsError(error, title);
    return gate(id, title, "fail", message, { hint });
  }
}
