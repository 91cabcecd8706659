import type { z } from "zod";
import { compared, gone } from "../checks/reality.js";
import { awsCli } from "../config/aws-cli.js";
import { type ErrorCode, ExternalError } from "../engine/errors.js";
import type { Reality } from "../engine/gate.js";
import type { PhaseContext } from "./phase.js";

/**
 * Phases 5 and 6 make resources SageMaker cannot change, named by a hash of their settings: one
 * that already exists under the name must match (else it is someone else's), and the names
 * gen3d created are kept in a list so that destroy removes them all.
 */
export interface ContentNamed {
  /** "model", "endpoint config": for messages. */
  kind: string;
  name: string;
  /** The `aws …` arguments that delete it, for the conflict's hint. */
  deleteCommand: string;
  /** The stable code of the conflict error. */
  conflictCode: ErrorCode;
}

/** An existing resource that matches is "unchanged" when gen3d recorded creating it, else "adopted". */
export function acceptExisting(
  ctx: Pick<PhaseContext, "config" | "progress">,
  resource: ContentNamed,
  differences: readonly string[],
  created: readonly string[] | undefined,
): "unchanged" | "adopted" {
  if (differences.length > 0) {
    // The name carries a hash of the settings, so this is someone else's resource under our name.
    throw new ExternalError(
      resource.conflictCode,
      `${resource.kind} ${resource.name} exists but differs from what gen3d derives`,
      {
        details: differences.map((d) => `• ${d}`),
        hint: `Delete it (\`${awsCli(ctx.config, resource.deleteCommand)}\`) and run \`gen3d resume\`.`,
      },
    );
  }
  ctx.progress(`${resource.kind} ${resource.name} already exists and matches`);
  return created?.includes(resource.name) ? "unchanged" : "adopted";
}

/** `created` with `name` added, once. */
export function withCreated(created: readonly string[] | undefined, name: string): string[] {
  return [...new Set([...(created ?? []), name])];
}

/** Reality of a content-named resource: gone, unreadable, or compared with what gen3d derives. */
export function contentNamedReality<T>(
  what: { kind: string; name: string; label: string },
  raw: unknown,
  schema: z.ZodType<T>,
  differences: (actual: T) => string[],
): Reality {
  if (raw === undefined) return gone(`${what.kind} ${what.name} no longer exists`);
  const parsed = schema.safeParse(raw);
  return compared(
    what.label,
    parsed.success ? differences(parsed.data) : ["(root): unreadable"],
    `${what.kind} ${what.name} exists`,
  );
}
