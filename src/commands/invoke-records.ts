import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { asyncJobRecord, isSubmitted, type SubmittedJob } from "../adapters/async-invoke.js";
import type { AppContext } from "../app/context.js";
import { UserError } from "../engine/errors.js";

/** What `--no-wait` leaves for `--result ID`: one file per job, beside STATE.json. */
export const invocationRecord = asyncJobRecord.extend({
  bucket: z.string(),
  image: z.object({ name: z.string(), width: z.number(), height: z.number() }).optional(),
});
export type InvocationRecord = z.infer<typeof invocationRecord>;

export function recordsDir(ctx: AppContext): string {
  return path.join(path.dirname(ctx.state.file), ".gen3d", "invocations");
}

export function recordFile(ctx: AppContext, id: string): string {
  return path.join(recordsDir(ctx), `${id}.json`);
}

export async function saveRecord(ctx: AppContext, record: InvocationRecord): Promise<void> {
  await mkdir(recordsDir(ctx), { recursive: true });
  const { default: writeFileAtomic } = await import("write-file-atomic");
  await writeFileAtomic(recordFile(ctx, record.inferenceId), `${JSON.stringify(record, null, 2)}\n`);
}

export async function loadRecord(ctx: AppContext, id: string): Promise<InvocationRecord & SubmittedJob> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new UserError("BAD_FLAG", `--result ${id}: not an InferenceId gen3d prints`, {
      hint: "Pass the id `gen3d invoke --no-wait` printed (gen3d-inv-…).",
    });
  }
  let raw: string;
  try {
    raw = await readFile(recordFile(ctx, id), "utf8");
  } catch {
    throw new UserError(
      "UNKNOWN_INVOCATION",
      `--result ${id}: no such invocation recorded in ${recordsDir(ctx)}`,
      {
        hint: "Use the InferenceId that `gen3d invoke --no-wait` printed, with the same --config/--state.",
      },
    );
  }
  const parsed = invocationRecord.safeParse(JSON.parse(raw));
  if (!parsed.success || !isSubmitted(parsed.data)) {
    throw new UserError("UNKNOWN_INVOCATION", `${recordFile(ctx, id)} does not record a submitted job`, {
      hint: "Submit it again with `gen3d invoke --task … --image …`.",
    });
  }
  return parsed.data;
}
