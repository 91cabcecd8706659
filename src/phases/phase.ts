import type { z } from "zod";
import type { AwsClients } from "../adapters/aws.js";
import type { Docker } from "../adapters/docker.js";
import type { LoadedConfig } from "../config/load.js";
import type { Gen3dConfig } from "../config/schema.js";
import type { Clock } from "../engine/clock.js";
import type { GateResult, Reality } from "../engine/gate.js";
import type { Io } from "../engine/output.js";
import type { Artifacts, StateStore } from "../engine/state.js";

export type { Clock } from "../engine/clock.js";
export { type GateResult, type GateStatus, gate, type Reality } from "../engine/gate.js";

export interface Prompter {
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
}

/** Everything a phase may touch. Phases import no process, console, execa or SDK client themselves. */
export interface PhaseContext {
  loaded: LoadedConfig;
  config: Gen3dConfig;
  io: Io;
  state: StateStore;
  docker: Docker;
  aws: AwsClients;
  clock: Clock;
  prompt: Prompter;
  signal: AbortSignal;
  /** A line of progress for the running task (shown under it; kept short). */
  progress(line: string): void;
  /** Environment the phases read (a copy of process.env, or a test's). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface PhaseRunResult {
  /** What the phase did, for STATE.json. */
  evidence?: unknown;
  artifacts?: Partial<Artifacts>;
  /** `created`, `adopted`, `unchanged`, … for the summary line. */
  outcome?: string;
}

export interface Phase {
  id: number;
  name: string;
  title: string;
  /**
   * Artifact keys it reads from earlier phases, each with the shape it reads: checked by the
   * runner before `run`, handed to the phase as `ctx.upstream` (phases/contract.ts definePhase).
   */
  needs?: Record<string, z.ZodType>;
  /** What it leaves in STATE.json's artifacts for later phases: checked when it passes. */
  produces?: z.ZodObject;
  /** What the phase depends on; its hash decides whether a passed phase is still valid. */
  inputs(ctx: PhaseContext): Promise<unknown>;
  /** Does the work. Idempotent: decides "already done" by looking at reality. */
  run(ctx: PhaseContext): Promise<PhaseRunResult>;
  /**
   * Read-only gates against reality; `gen3d verify --phase N` runs only this. After `run`, the
   * runner passes run's result; standalone, a phase reads its recorded evidence from STATE.json.
   */
  verify(ctx: PhaseContext, fresh?: PhaseRunResult): Promise<GateResult[]>;
  /**
   * One cheap read of what the phase produced (DescribeEndpoint, an image inspect): a passed
   * phase whose inputs are unchanged is skipped only when this confirms it; `plan` shows it as
   * drift. Absent for phases that leave nothing behind to read.
   */
  reality?(ctx: PhaseContext): Promise<Reality>;
  /**
   * Removes what this phase created in AWS (or elsewhere), for `gen3d destroy`, which calls the
   * phases from 10 down to 1 and owns only ordering, confirmation and reporting. Idempotent: what
   * is already gone is reported as such. It reads STATE.json's artifacts, not `ctx.upstream`: a
   * half-made deployment must still be removable.
   */
  teardown?(ctx: PhaseContext, options: TeardownOptions): Promise<Removal[]>;
}

export interface TeardownOptions {
  /** Also delete the pushed ECR image (by digest). */
  deleteImages?: boolean;
  /** Also delete gen3d's S3 prefixes: async output, failures, embeddings. */
  deleteS3?: boolean;
  /** Endpoint-deletion waiter polling, in seconds (tests shorten it). */
  waiter?: { minDelaySeconds: number; maxDelaySeconds: number };
}

/** One thing a teardown removed, or found already gone. */
export interface Removal {
  kind:
    | "alarm"
    | "scaling-policy"
    | "scalable-target"
    | "endpoint"
    | "endpoint-config"
    | "model"
    | "image"
    | "s3-prefix";
  name: string;
  result: "deleted" | "already-gone";
  detail?: string;
}
