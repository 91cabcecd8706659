import { isSecretName } from "../checks/reality.js";
import type { Gen3dConfig } from "../config/schema.js";
import { REDACTED, redact } from "../engine/redact.js";

/** Values shorter than this are not masked by value: "1" or "on" would mask half the document. */
const MIN_SECRET_LENGTH = 4;

/**
 * What `verify` prints, with secrets out: keys STATE.json's redaction drops are dropped the same
 * way, and the value of every secret-named `localTest.environment` variable (which reaches the
 * SageMaker model's environment) is masked wherever it appears, in a gate message too.
 */
export function redactVerifyDocument<T>(doc: T, config: Pick<Gen3dConfig, "localTest">): T {
  const secrets = Object.entries(config.localTest.environment)
    .filter(([key, value]) => isSecretName(key) && value.length >= MIN_SECRET_LENGTH)
    .map(([, value]) => value)
    .sort((a, b) => b.length - a.length);
  const mask = (value: unknown): unknown => {
    if (typeof value === "string") return secrets.reduce((text, s) => text.split(s).join(REDACTED), value);
    if (Array.isArray(value)) return value.map((v) => mask(v));
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v)]));
    return value;
  };
  return mask(redact(doc)) as T;
}
