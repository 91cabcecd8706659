import { awsFailure, isNotFound } from "../adapters/aws-errors.js";
import type { Deletion } from "../adapters/sagemaker.js";
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
  remove: (name: string) => Promise<Deletion>,
): Promise<Removal> {
  return { kind, name, result: await remove(name) };
}

/** Removes each name in turn; what is already gone is reported so, anything else stops the teardown. */
export async function removeEach(
  kind: Removal["kind"],
  names: readonly string[],
  remove: (name: string) => Promise<Deletion>,
): Promise<Removal[]> {
  const removed: Removal[] = [];
  for (const name of names) removed.push(await removal(kind, name, remove));
  return removed;
}

/**
 * A raw SDK delete as a Removal: NotFound is "already-gone", any other failure names the
 * permission. For services whose adapter does not yet tell "already gone" itself.
 */
export async function tolerant(
  kind: Removal["kind"],
  name: string,
  permission: string,
  call: () => Promise<unknown>,
): Promise<Removal> {
  try {
    await call();
    return { kind, name, result: "deleted" };
  } catch (error) {
    if (isNotFound(error)) return { kind, name, result: "already-gone" };
    throw awsFailure(error, `deleting ${kind} ${name}`, permission);
  }
}
