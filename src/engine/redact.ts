/**
 * Keeps secrets out of STATE.json and logs. Keys that name a secret are dropped; values that look
 * like credentials are masked wherever they appear.
 */
const SECRET_KEY =
  /(password|passwd|secret|token|credential|authorization|sessionkey|accesskey|private_?key)/i;
const SECRET_VALUE: RegExp[] = [
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(?:Basic|Bearer)\s+[A-Za-z0-9+/=._-]{16,}/g,
  /(?<=aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+]{30,}/gi,
];

export const REDACTED = "[redacted]";

export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUE) out = out.replace(pattern, REDACTED);
  return out;
}

export function redact<T>(value: T): T {
  if (typeof value === "string") return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? REDACTED : redact(v);
    }
    return out as T;
  }
  return value;
}
