import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { z } from "zod";

/** The published schema file, as a user's tool would read it. */
const published = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../../schema/gen3d-output.schema.json"), "utf8"),
) as { $defs: Record<string, unknown> };

/**
 * Parses one command's stdout as exactly one JSON document and checks it against the published
 * schema: the definition for that command and the file's top level (any command's document).
 */
export function expectContract(stdout: string, definition: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  const one = z.fromJSONSchema({ $defs: published.$defs, $ref: `#/$defs/${definition}` } as never);
  const result = one.safeParse(doc);
  expect(result.success, `${definition}: ${JSON.stringify(result.error?.issues, null, 2)}\n${stdout}`).toBe(
    true,
  );
  const any = z.fromJSONSchema(published as never);
  expect(any.safeParse(doc).success, `top level: ${stdout}`).toBe(true);
  return doc;
}
