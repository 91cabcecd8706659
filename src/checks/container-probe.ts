import { z } from "zod";
import type { TaskName } from "../config/schema.js";

/** Response shapes of the container (container/README.md), checked on every smoke test. */
const timing = z.record(z.string(), z.number()).optional();
const common = { status: z.literal("success"), session_id: z.string().min(1), timing_ms: timing };

export const taskResponses = {
  get_embedding: z.looseObject({
    ...common,
    task: z.literal("get_embedding"),
    embedding_s3_key: z.string().min(1),
    embedding_shape: z.array(z.number().int().positive()).min(1),
    cached: z.boolean(),
  }),
  segment: z.looseObject({
    ...common,
    task: z.literal("segment"),
    mask_s3_key: z.string().min(1),
    mask_size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    confidence_score: z.number().min(0).max(1),
  }),
  generate_3d: z.looseObject({
    ...common,
    task: z.literal("generate_3d"),
    asset_s3_keys: z
      .record(z.enum(["ply", "glb"]), z.string().min(1))
      .refine((v) => Object.keys(v).length > 0, "no assets"),
  }),
} satisfies Record<TaskName, z.ZodType>;

export const errorResponse = z.looseObject({
  status: z.literal("error"),
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    error_id: z.string().optional(),
  }),
});

export interface PingResult {
  status: number | undefined;
  ms: number;
  error?: string;
}

/** One GET /ping with SageMaker's 2 s limit. */
export async function ping(
  baseUrl: string,
  signal: AbortSignal,
  now: () => number = () => performance.now(),
): Promise<PingResult> {
  const started = now();
  try {
    const response = await fetch(`${baseUrl}/ping`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]),
    });
    await response.arrayBuffer();
    return { status: response.status, ms: Math.round(now() - started) };
  } catch (error) {
    if (signal.aborted) throw error;
    return {
      status: undefined,
      ms: Math.round(now() - started),
      error: (error as Error).name === "TimeoutError" ? "no answer within 2 s" : (error as Error).message,
    };
  }
}

export interface InvokeResult {
  status: number;
  ms: number;
  body: unknown;
}

export async function invoke(
  baseUrl: string,
  payload: unknown,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<InvokeResult> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/invocations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, ms: Math.round(performance.now() - started), body };
}

/** Lines of a container log that say something went wrong. */
export function logProblems(log: string): string[] {
  const patterns = [
    /Traceback \(most recent call last\)/,
    /"level"\s*:\s*"(ERROR|CRITICAL)"/,
    /\b(ERROR|CRITICAL)\b[: ]/,
    /CUDA out of memory/i,
    /exec format error/i,
  ];
  return log.split("\n").filter((line) => patterns.some((p) => p.test(line)));
}

export interface ListeningLine {
  port: number;
  line: string;
}

/**
 * The ports a server's log says it listens on, from the lines the usual Python servers print:
 * gunicorn `Listening at: http://0.0.0.0:8000 (1)`, uvicorn `Uvicorn running on http://…:8000`,
 * Flask/Werkzeug and hypercorn `Running on http://127.0.0.1:5000`, waitress `Serving on …`,
 * aiohttp `======== Running on http://0.0.0.0:8080 ========`, and `listening on [port] N`.
 */
export function listeningPorts(log: string): ListeningLine[] {
  const pattern =
    /\b(?:listening\s+(?:at|on)|running\s+on|serving\s+on)\b:?\s*(?:port\s+(\d{1,5})\b|(?:(?:https?|tcp):\/\/)?(?:\[[0-9a-f:.]*\]|[\w.-]+):(\d{1,5})\b)/i;
  const found: ListeningLine[] = [];
  for (const line of log.split("\n")) {
    const match = pattern.exec(line);
    const port = Number(match?.[1] ?? match?.[2]);
    if (match && port > 0 && port <= 65535) found.push({ port, line: line.trim().slice(0, 300) });
  }
  return found;
}
