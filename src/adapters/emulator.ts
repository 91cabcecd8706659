import { z } from "zod";

/**
 * The local emulator's own view of an endpoint (GET /local-sagemaker/endpoints/NAME): counters,
 * instances, backlog and cold starts that real AWS does not report. Absent on real AWS.
 */
export const emulatorEndpointView = z.looseObject({
  counters: z.record(z.string(), z.unknown()).optional(),
  instances: z.array(z.unknown()).optional(),
  backlog: z.unknown().optional(),
  coldStarts: z.array(z.unknown()).optional(),
});
export type EmulatorEndpointView = z.infer<typeof emulatorEndpointView>;

/** The emulator's backlog for the endpoint, when it reports one as a number. */
export async function emulatorBacklog(
  awsEndpoint: string | undefined,
  endpointName: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const backlog = (await emulatorEndpoint(awsEndpoint, endpointName, signal))?.backlog;
  return typeof backlog === "number" ? backlog : undefined;
}

/**
 * Best effort: only asked when an endpoint override (a local emulator) is configured; any failure
 * (404, connection refused, another shape) is "no breakdown", never an error.
 */
export async function emulatorEndpoint(
  awsEndpoint: string | undefined,
  endpointName: string,
  signal: AbortSignal,
): Promise<EmulatorEndpointView | undefined> {
  if (!awsEndpoint) return undefined;
  try {
    const url = new URL(`/local-sagemaker/endpoints/${encodeURIComponent(endpointName)}`, awsEndpoint);
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
    if (!response.ok) return undefined;
    const parsed = emulatorEndpointView.safeParse(await response.json());
    return parsed.success ? parsed.data : undefined;
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
}
