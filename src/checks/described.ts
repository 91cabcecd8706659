import type { z } from "zod";
import { type GateResult, gate } from "../engine/gate.js";

/** The "exists" gate of a Describe* answer: what to say when there is none or it is unreadable. */
export interface ExistsGate {
  id: string;
  title: string;
  /** The message when SageMaker has none. */
  missing: string;
  /** How to make it. */
  hint: string;
  /** Which call answered, for an unreadable answer. */
  call: string;
}

/**
 * A Describe* answer parsed, or the failing "exists" gate when there was none (undefined) or it
 * came in a shape gen3d cannot read.
 */
export function describedOrFailed<T>(
  raw: unknown,
  schema: z.ZodType<T>,
  exists: ExistsGate,
): { found: T } | { failed: GateResult[] } {
  if (raw === undefined) {
    return { failed: [gate(exists.id, exists.title, "fail", exists.missing, { hint: exists.hint })] };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const message = `${exists.call} answered in an unexpected shape: ${parsed.error.message}`;
    return { failed: [gate(exists.id, exists.title, "fail", message)] };
  }
  return { found: parsed.data };
}
