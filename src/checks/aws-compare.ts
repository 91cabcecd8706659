/**
 * Desired-versus-actual comparison for AWS Describe* output. AWS adds fields of its own (ARNs,
 * timestamps, defaults), so a desired object matches when every field it names is equal in the
 * actual one. Paths listed in `exact` must match key for key (an environment map with an extra
 * variable is a difference).
 */
export function subsetDiff(
  desired: unknown,
  actual: unknown,
  options: { exact?: string[] } = {},
  path = "",
): string[] {
  const exact = options.exact ?? [];
  const here = path === "" ? "(root)" : path;
  if (desired === undefined) return [];
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return [`${here}: wanted a list, found ${show(actual)}`];
    if (actual.length !== desired.length)
      return [`${here}: wanted ${desired.length} item(s), found ${actual.length}`];
    return desired.flatMap((d, i) => subsetDiff(d, actual[i], options, `${path}[${i}]`));
  }
  if (desired !== null && typeof desired === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      return [`${here}: wanted ${show(desired)}, found ${show(actual)}`];
    }
    const a = actual as Record<string, unknown>;
    const d = desired as Record<string, unknown>;
    const out: string[] = [];
    for (const [key, value] of Object.entries(d)) {
      out.push(...subsetDiff(value, a[key], options, path === "" ? key : `${path}.${key}`));
    }
    if (exact.includes(path)) {
      for (const key of Object.keys(a))
        if (!(key in d)) out.push(`${path}.${key}: not wanted, found ${show(a[key])}`);
    }
    return out;
  }
  return Object.is(desired, actual) ? [] : [`${here}: wanted ${show(desired)}, found ${show(actual)}`];
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
