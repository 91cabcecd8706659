import { type Deleted, deleteTolerant } from "../adapters/aws-errors.js";
import type { Removal } from "./phase.js";

/** The names a teardown removes: every string in the lists, once each, sorted. */
export function namesToRemove(...lists: unknown[]): string[] {
  const names = lists.flat().filter((v): v is string => typeof v === "string" && v !== "");
  return [...new Set(names)].sort();
}

/** A delete that reports "already-gone" itself (the SageMaker facade's), as a Removal. */
export async function removal(
  kind: Removal["kind"],
  name: string,
  remove: (name: string) => Promise<Deleted>,
): Promise<Removal> {
  return { kind, name, result: await remove(name) };
}

/** Removes each name in turn; what is already gone is reported so, anything else stops the teardown. */
export async function removeEach(
  kind: Removal["kind"],
  names: readonly string[],
  remove: (name: string) => Promise<Deleted>,
): Promise<Removal[]> {
  const removed: Removal[] = [];
  for (const name of names) removed.push(await removal(kind, name, remove));
  return removed;
}

/**
 * A raw SDK delete as a Removal: NotFound is "already-gone", any other failure names the
 * permission. For a service whose facade does not yet answer "already-gone" itself.
 */
export async function tolerant(
  kind: Removal["kind"],
  name: string,
  permission: string,
  call: () => Promise<unknown>,
): Promise<Removal> {
  return removal(kind, name, () => deleteTolerant(`deleting ${kind} ${name}`, permission, call));
}
