import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { configSchema } from "./schema.js";

/** The config schema as JSON Schema, for editors (`"$schema": "./schema/gen3d.config.schema.json"`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

const target = process.argv[2];
if (target && /export-json-schema\.(js|ts)$/.test(process.argv[1] ?? "")) {
  await mkdir(path.dirname(path.resolve(target)), { recursive: true });
  await writeFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}
