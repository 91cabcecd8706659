import { isSecretName } from "./secret-names.js";

/**
 * Keeps secrets out of STATE.json and logs. The value under a secret-named key (`isSecretName`, the
 * one rule) is dropped; values that look like credentials are masked wherever they appear.
 */
const SECRET_VALUE: RegExp[] = [
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(?:Basic|Bearer)\s+[A-Za-z0-9+/=._-]{16,}/g,
  /(?<=aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+]{30,}/gi,
  /\bhf_[A-Za-z0-9]{30,}\b/g,
  /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
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
      // A record under a secret-like name (phase 3's `credentials: { via, requests }`) is
      // described, not a secret: its own keys are judged one by one. A value or list is dropped.
      const record = v !== null && typeof v === "object" && !Array.isArray(v);
      out[key] = isSecretName(key) && !record ? REDACTED : redact(v);
    }
    return out as T;
  }
  return value;
}
