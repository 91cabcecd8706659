/**
 * The one rule for names that say "this value is a secret": HF_TOKEN, MODEL_API_KEY, DB_PASSWORD,
 * AWS_SECRET_ACCESS_KEY, githubToken, x-amz-security-token. STATE.json's redaction, the display of
 * environments and drift, and `verify --json` all ask this function. A name is split into words
 * (on `_`, `-`, `.` and camelCase) and any word that names a secret marks the whole name; so does a
 * word that ends in one (HFTOKEN, dbpassword), but not one that starts with one (TOKENIZER). "key"
 * alone is ambiguous (GEN3D_KEY_PREFIX, an S3 `imageKey`): it names a secret after "api", "access",
 * "private", "secret", "session", "signing", "encryption" or "client", or as the last word of an
 * environment-style name (STRIPE_KEY).
 */
const SECRET_WORDS = new Set([
  "token",
  "tokens",
  "secret",
  "secrets",
  "password",
  "passwd",
  "passphrase",
  "pwd",
  "credential",
  "credentials",
  "apikey",
  "accesskey",
  "privatekey",
  "authorization",
  "auth",
  "cookie",
]);
const KEY_QUALIFIERS = new Set([
  "api",
  "access",
  "private",
  "secret",
  "session",
  "signing",
  "encryption",
  "client",
]);
/** Run together with what precedes them (HFTOKEN, dbpassword, myapikey): still secret. */
const SECRET_ENDINGS =
  /(token|tokens|secret|secrets|password|passwd|passphrase|credentials?|apikey|accesskey|privatekey|sessionkey)$/;

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function isSecretName(name: string): boolean {
  const parts = words(name);
  return parts.some((word, i) => {
    if (SECRET_WORDS.has(word) || SECRET_ENDINGS.test(word)) return true;
    if (word !== "key" && word !== "keys") return false;
    if (KEY_QUALIFIERS.has(parts[i - 1] ?? "")) return true;
    return i === parts.length - 1 && /^[A-Z][A-Z0-9_]*$/.test(name);
  });
}

export const REDACTED_VALUE = "[redacted]";

/**
 * A copy of `value` for display: the value under any secret-named key is replaced, and so is the
 * value in a `NAME=value` string (an argv entry, an env line) whose NAME is secret-named.
 */
export function redactSecretNamed<T>(value: T): T {
  if (typeof value === "string") {
    return value.replace(/\b([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g, (whole, name: string) =>
      isSecretName(name) ? `${name}=${REDACTED_VALUE}` : whole,
    ) as T;
  }
  if (Array.isArray(value)) return value.map((v) => redactSecretNamed(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    // { Name: "HF_TOKEN", Value: "…" } (ECS, CloudFormation) as well as { HF_TOKEN: "…" }.
    const pairName =
      typeof record.Name === "string"
        ? record.Name
        : typeof record.name === "string"
          ? record.name
          : undefined;
    for (const [key, v] of Object.entries(record)) {
      const secretPair = pairName !== undefined && /^value$/i.test(key) && isSecretName(pairName);
      out[key] =
        (isSecretName(key) && v !== null && typeof v !== "object") || secretPair
          ? REDACTED_VALUE
          : redactSecretNamed(v);
    }
    return out as T;
  }
  return value;
}
