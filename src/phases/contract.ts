import type { z } from "zod";
import { InternalError, REPORT_A_BUG, UserError } from "../engine/errors.js";
import type { GateResult } from "../engine/gate.js";
import type { Phase, PhaseContext, PhaseRunResult, Reality } from "./phase.js";

/**
 * What a phase reads from earlier phases: artifact key → the shape it reads there. A missing or
 * misshapen key stops the phase with UPSTREAM_MISSING naming the key and the phase that records it.
 */
export type Needs = Record<string, z.ZodType>;

/** `ctx.upstream`: the needed artifacts, parsed. */
export type Upstream<N extends Needs> = { readonly [K in keyof N]: z.output<N[K]> };

export type ContractContext<N extends Needs> = PhaseContext & { upstream: Upstream<N> };

/** A phase as written: its functions see `ctx.upstream` typed by its own `needs`. */
export interface PhaseDefinition<N extends Needs> {
  id: number;
  name: string;
  title: string;
  needs?: N;
  /** The artifacts it leaves in STATE.json for later phases; checked when it passes. */
  produces?: z.ZodObject;
  inputs(ctx: ContractContext<N>): Promise<unknown>;
  run(ctx: ContractContext<N>): Promise<PhaseRunResult>;
  verify(ctx: ContractContext<N>, fresh?: PhaseRunResult): Promise<GateResult[]>;
  reality?(ctx: ContractContext<N>): Promise<Reality>;
  /** Not typed by `needs`: a half-made deployment must still be removable (see Phase.teardown). */
  teardown?: Phase["teardown"];
}

type PhaseName = Pick<Phase, "id" | "name">;

/** Which phase records each artifact key, filled as phases are defined; for the error's hint. */
const producers = new Map<string, PhaseName[]>();

/** The phase before `consumer` that records `key`. */
export function producerOf(key: string, consumer: number, phases?: readonly Phase[]): PhaseName | undefined {
  const candidates = phases
    ? phases.filter((p) => p.produces !== undefined && key in p.produces.shape)
    : (producers.get(key) ?? []);
  return candidates.filter((p) => p.id < consumer).sort((a, b) => b.id - a.id)[0];
}

function upstreamMissing(
  phase: PhaseName,
  key: string,
  present: boolean,
  producer: PhaseName | undefined,
): UserError {
  const recorder = producer ? `, which phase ${producer.id} (${producer.name}) records` : "";
  return new UserError(
    "UPSTREAM_MISSING",
    `phase ${phase.id} needs ${key}: STATE.json has no ${present ? "valid " : ""}artifacts.${key}${recorder}`,
    {
      hint: producer
        ? `Run phase ${producer.id} first: \`gen3d deploy --from ${producer.id}\` (or \`gen3d resume\`).`
        : "Run the earlier phases first: `gen3d deploy` (or `gen3d resume`).",
    },
  );
}

function readNeed(
  phase: PhaseName & { needs?: Needs },
  key: string,
  artifacts: Record<string, unknown>,
  phases?: readonly Phase[],
): unknown {
  const schema = phase.needs?.[key];
  const value = artifacts[key];
  const parsed = schema?.safeParse(value);
  if (!parsed?.success)
    throw upstreamMissing(phase, key, value !== undefined, producerOf(key, phase.id, phases));
  return parsed.data;
}

/** The runner's check before `run`: every needed key is in STATE.json, in the shape declared. */
export function checkNeeds(phase: Phase, artifacts: Record<string, unknown>, phases: readonly Phase[]): void {
  for (const key of Object.keys(phase.needs ?? {})) readNeed(phase, key, artifacts, phases);
}

/** The artifact keys a phase declares that STATE.json lacks or holds misshapen (a record from an older gen3d). */
export function missingProduced(phase: Phase, artifacts: Record<string, unknown>): string[] {
  const parsed = phase.produces?.safeParse(artifacts);
  if (!parsed || parsed.success) return [];
  return [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "?")))];
}

/** A phase that passed must have left what it declares; anything else is a bug in gen3d. */
export function checkProduced(phase: Phase, artifacts: Record<string, unknown>): void {
  const parsed = phase.produces?.safeParse(artifacts);
  if (!parsed || parsed.success) return;
  throw new InternalError(
    "INTERNAL",
    `phase ${phase.id} (${phase.name}) passed without the artifacts it declares: ${parsed.error.issues
      .map((i) => `${i.path.join(".")}: ${i.message}`)
      .join("; ")}`,
    { hint: REPORT_A_BUG },
  );
}

/** Read lazily, at each call, from the state the call is given (verify runs on a scratch copy). */
function withUpstream<N extends Needs>(def: PhaseDefinition<N>, ctx: PhaseContext): ContractContext<N> {
  const upstream = {} as Upstream<N>;
  for (const key of Object.keys(def.needs ?? {})) {
    Object.defineProperty(upstream, key, {
      enumerable: true,
      get: () => readNeed(def, key, ctx.state.state.artifacts),
    });
  }
  return { ...ctx, upstream };
}

/** Types a phase's functions by its `needs` and registers what it `produces`. */
export function definePhase<N extends Needs = Record<never, z.ZodType>>(def: PhaseDefinition<N>): Phase {
  for (const key of Object.keys(def.produces?.shape ?? {})) {
    producers.set(key, [...(producers.get(key) ?? []), { id: def.id, name: def.name }]);
  }
  const { reality } = def;
  return {
    ...def,
    inputs: (ctx) => def.inputs(withUpstream(def, ctx)),
    run: (ctx) => def.run(withUpstream(def, ctx)),
    verify: (ctx, fresh) => def.verify(withUpstream(def, ctx), fresh),
    ...(reality ? { reality: (ctx: PhaseContext) => reality.call(def, withUpstream(def, ctx)) } : {}),
  };
}

/**
 * A phase's own run() evidence as the runner recorded it (`evidence.run`), parsed with the phase's
 * schema; undefined when there is none or it has another shape (a record from an older gen3d).
 */
export function recordedRun<T extends z.ZodType>(
  ctx: Pick<PhaseContext, "state">,
  phaseId: number,
  schema: T,
): z.output<T> | undefined {
  const parsed = schema.safeParse(runOf(ctx.state.phase(phaseId).evidence));
  return parsed.success ? parsed.data : undefined;
}

/** `evidence.run` of a phase record's evidence, whatever it holds. */
export function runOf(evidence: unknown): unknown {
  return typeof evidence === "object" && evidence !== null ? (evidence as { run?: unknown }).run : undefined;
}
