import type { Reality } from "../engine/gate.js";
import { isSecretName } from "../engine/secret-names.js";

/** The one rule for secret names lives in engine/secret-names; re-exported for the checks' callers. */
export { isSecretName };

const DIFF = /^(.*): wanted (.+), found (.+)$/s;
const NOT_WANTED = /^(.*): not wanted, found (.+)$/s;

/** The last name in a Describe* path: `AsyncInferenceConfig.ClientConfig.MaxConcurrent…` → `MaxConcurrent…`. */
function leaf(path: string): string {
  return (path.split(/[.\s]/).pop() ?? path).replace(/\[\d+\]$/, "") || path;
}

/**
 * One difference as a person reads it: `MaxConcurrentInvocationsPerInstance 2 → 4` (what gen3d
 * made → what is there now). A secret-named value is never shown, only that it changed.
 */
export function describeChange(difference: string): string {
  const notWanted = NOT_WANTED.exec(difference);
  if (notWanted) {
    const name = leaf(notWanted[1] as string);
    return isSecretName(name) ? `${name} added` : `${name} added (${notWanted[2]})`;
  }
  const diff = DIFF.exec(difference);
  if (!diff) return difference;
  const name = leaf(diff[1] as string);
  if (isSecretName(name)) return `${name} changed (value not shown)`;
  return `${name} ${diff[2]} → ${diff[3]}`;
}

export function confirmed(detail: string): Reality {
  return { type: "confirmed", detail };
}

export function gone(reason: string): Reality {
  return { type: "gone", reason };
}

/** Differences between what gen3d made and what is there now; none means confirmed. */
export function compared(what: string, differences: readonly string[], detail: string): Reality {
  if (differences.length === 0) return confirmed(detail);
  const changes = differences.map(describeChange);
  return {
    type: "changed",
    reason: `${what} changed outside gen3d: ${changes.slice(0, 3).join(", ")}${changes.length > 3 ? `, … (${changes.length} in all)` : ""}`,
    changes,
  };
}
