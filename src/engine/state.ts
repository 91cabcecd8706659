import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
// zod/mini: the same validation, tree-shaken, so `gen3d status` does not pay for all of zod at start.
import * as z from "zod/mini";
import { StateError, stateWriteError } from "./errors.js";
import { redact } from "./redact.js";

export const STATE_SCHEMA_VERSION = 1;
const HISTORY_LIMIT = 200;

export const phaseStatus = z.enum(["pending", "running", "passed", "failed", "interrupted", "stale"]);
export type PhaseStatus = z.infer<typeof phaseStatus>;

export const errorRecord = z.strictObject({
  code: z.string(),
  message: z.string(),
  hint: z.optional(z.string()),
  details: z.optional(z.array(z.string())),
});
export type ErrorRecord = z.infer<typeof errorRecord>;

const json = z.unknown();

export const phaseRecord = z.strictObject({
  status: phaseStatus,
  attempts: z.number().check(z.int(), z.minimum(0)),
  startedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  durationMs: z.optional(z.number()),
  inputHash: z.optional(z.string()),
  /** Gate results and what they read. */
  evidence: z.optional(json),
  error: z.optional(errorRecord),
  /** Why a later run skipped it, or why it went stale. */
  note: z.optional(z.string()),
});
export type PhaseRecord = z.infer<typeof phaseRecord>;

/** Names and identifiers of what the deployment made; phases fill these in. */
export const artifacts = z.catchall(
  z.partial(
    z.object({
      imageTag: z.string(),
      imageId: z.string(),
      repositoryUri: z.string(),
      imageDigest: z.string(),
      imageUri: z.string(),
      modelName: z.string(),
      endpointConfigName: z.string(),
      endpointName: z.string(),
      scalableTargetResourceId: z.string(),
      scalingPolicyArns: z.array(z.string()),
      alarmNames: z.array(z.string()),
      createdModels: z.array(z.string()),
      createdEndpointConfigs: z.array(z.string()),
    }),
  ),
  z.unknown(),
);
export type Artifacts = z.infer<typeof artifacts>;

export const historyEntry = z.strictObject({
  at: z.string(),
  event: z.string(),
  phase: z.optional(z.number().check(z.int())),
  detail: z.optional(z.string()),
});

export const stateSchema = z.strictObject({
  schemaVersion: z.literal(STATE_SCHEMA_VERSION),
  project: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  phases: z.record(z.string().check(z.regex(/^\d+$/)), phaseRecord),
  artifacts,
  history: z.array(historyEntry),
});
export type DeploymentState = z.infer<typeof stateSchema>;

export function emptyState(project: string, now: Date): DeploymentState {
  const at = now.toISOString();
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    project,
    createdAt: at,
    updatedAt: at,
    phases: {},
    artifacts: {},
    history: [],
  };
}

const RECOVERY_HINT =
  "gen3d never overwrites a state file it cannot read. Restore it from git (`git checkout -- STATE.json`), " +
  "or move it aside (`mv STATE.json STATE.json.bad`) to start a fresh record; AWS resources are then re-adopted by name.";

/** Reads and validates STATE.json; undefined when it does not exist. Refuses anything it cannot trust. */
export async function readState(file: string): Promise<DeploymentState | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StateError("STATE_UNREADABLE", `cannot read ${file}: ${(error as Error).message}`, {
      hint: RECOVERY_HINT,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new StateError(
      "STATE_CORRUPT",
      `${file} is not valid JSON (truncated or corrupt; ${raw.length} bytes)`,
      {
        hint: RECOVERY_HINT,
      },
    );
  }
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== STATE_SCHEMA_VERSION) {
    throw new StateError(
      "STATE_VERSION",
      `${file} has schemaVersion ${JSON.stringify(version)}; this gen3d reads version ${STATE_SCHEMA_VERSION}`,
      {
        hint:
          typeof version === "number" && version > STATE_SCHEMA_VERSION
            ? "It was written by a newer gen3d: upgrade gen3d."
            : RECOVERY_HINT,
      },
    );
  }
  const parsed = stateSchema.safeParse(value);
  if (!parsed.success) {
    throw new StateError("STATE_INVALID", `${file} does not match the state schema`, {
      details: parsed.error.issues.slice(0, 10).map((i) => `• ${i.path.join(".")}: ${i.message}`),
      hint: RECOVERY_HINT,
    });
  }
  return parsed.data;
}

/**
 * Removes the temp files a killed write left beside the state file. write-file-atomic writes
 * `STATE.json.<decimal hash>` and renames it; SIGKILL between the two leaves it, a full copy of the
 * state next to a file meant to be committed. Only the lock holder may call this: a live writer's
 * temp file would otherwise be pulled from under its rename. Returns the names removed.
 */
export async function reapTempFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const names = await readdir(dir).catch(() => [] as string[]);
  const temp = names.filter((n) => n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)));
  for (const name of temp) await rm(path.join(dir, name), { force: true });
  return temp;
}

/**
 * The deployment record of one run. Every mutation goes through `update`, which writes the whole
 * file atomically (temp file, fsync, rename), so a crash at any moment leaves the old or the new
 * file, never half of one.
 */
export class StateStore {
  private constructor(
    readonly file: string,
    private current: DeploymentState,
    private readonly now: () => Date,
  ) {}

  static async open(file: string, project: string, now: () => Date = () => new Date()): Promise<StateStore> {
    const existing = await readState(file);
    if (existing && existing.project !== project) {
      throw new StateError(
        "STATE_PROJECT_MISMATCH",
        `${file} records project "${existing.project}", but the config names "${project}"`,
        { hint: "Pass --state with the right file, or fix project.name in the config." },
      );
    }
    return new StateStore(file, existing ?? emptyState(project, now()), now);
  }

  get state(): Readonly<DeploymentState> {
    return this.current;
  }

  phase(id: number): PhaseRecord {
    return this.current.phases[String(id)] ?? { status: "pending", attempts: 0 };
  }

  async update(
    mutate: (draft: DeploymentState) => void,
    event?: { event: string; phase?: number; detail?: string },
  ) {
    const draft = structuredClone(this.current);
    mutate(draft);
    const at = this.now().toISOString();
    draft.updatedAt = at;
    if (event) {
      draft.history.push({ at, ...event });
      if (draft.history.length > HISTORY_LIMIT) draft.history.splice(0, draft.history.length - HISTORY_LIMIT);
    }
    const clean = stateSchema.parse(redact(draft));
    const { default: writeFileAtomic } = await import("write-file-atomic");
    try {
      await writeFileAtomic(this.file, `${JSON.stringify(clean, null, 2)}\n`, { fsync: true });
    } catch (error) {
      // write-file-atomic removes its temporary file on failure; the old STATE.json is untouched.
      throw stateWriteError(this.file, error);
    }
    this.current = clean;
  }

  async setPhase(id: number, patch: Partial<PhaseRecord>, event?: { event: string; detail?: string }) {
    await this.update(
      (draft) => {
        const before = draft.phases[String(id)] ?? { status: "pending", attempts: 0 };
        const next: PhaseRecord = { ...before, ...patch };
        for (const key of Object.keys(next) as (keyof PhaseRecord)[])
          if (next[key] === undefined) delete next[key];
        draft.phases[String(id)] = next;
      },
      event ? { ...event, phase: id } : undefined,
    );
  }

  async setArtifacts(patch: Partial<Artifacts>) {
    await this.update((draft) => {
      Object.assign(draft.artifacts, patch);
    });
  }
}
