import { isSecretName } from "../engine/secret-names.js";
import { formatPath } from "./format-issues.js";
import type { Gen3dConfig } from "./schema.js";

/**
 * Values that are credentials whatever their name: each would reach the SageMaker model's
 * Environment in clear text (anyone allowed sagemaker:DescribeModel reads it, and so does
 * `docker inspect` of the local test) or, as a build argument, the image's history.
 */
const CREDENTIAL_SHAPES: { pattern: RegExp; what: string }[] = [
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, what: "an AWS access key id (AKIA…/ASIA…)" },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: "a private key (-----BEGIN … PRIVATE KEY-----)" },
  { pattern: /\bhf_[A-Za-z0-9]{30,}\b/, what: "a Hugging Face token (hf_…)" },
  { pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/, what: "a GitHub token" },
  { pattern: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/, what: "an API secret key (sk-…)" },
  { pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, what: "a Slack token (xox…)" },
  {
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
    what: "a signed token (JWT)",
  },
  { pattern: /:\/\/[^/\s:@]+:[^/\s@]+@/, what: "a URL with a password in it (user:password@host)" },
];

/**
 * Under a secret-like name, an opaque run of key characters is a secret too: an AWS secret access
 * key is 40 base64 characters, a session token several hundred, an API key 32+ hex or base62. A
 * value made of short dash-separated words ("sentinel-9c41d7e2-not-for-output", a UUID) is not.
 */
function opaque(value: string): boolean {
  const v = value.trim();
  if (v.length < 32 || /\s/.test(v)) return false;
  return v
    .split(/[-_.~:]/)
    .some(
      (part) =>
        part.length >= 24 && /^[A-Za-z0-9/+=]+$/.test(part) && /\d/.test(part) && /[A-Za-z]/.test(part),
    );
}

/** What a credential-looking value looks like, or undefined. The value itself is never echoed. */
export function credentialShape(name: string, value: string): string | undefined {
  for (const { pattern, what } of CREDENTIAL_SHAPES) if (pattern.test(value)) return what;
  if (isSecretName(name) && opaque(value)) {
    return value.trim().length === 40 && /^[A-Za-z0-9/+]{40}$/.test(value.trim())
      ? "an AWS secret access key (40 base64 characters) under a secret-like name"
      : "a secret (a long opaque value under a secret-like name)";
  }
  return undefined;
}

const ENVIRONMENT_FIX =
  "remove it: the container's environment is stored in clear text in the SageMaker model (anyone allowed DescribeModel reads it) and shown by docker inspect of the local test. Have the container fetch the secret at start-up from AWS Secrets Manager or SSM Parameter Store with its execution role, and put only the secret's name here (e.g. HF_TOKEN_SECRET_ARN)";

/** `path: message` for every credential-looking value in what becomes the container's environment or build. */
export function credentialProblems(config: Gen3dConfig): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(config.localTest.environment)) {
    const shape = credentialShape(name, value);
    if (shape)
      problems.push(
        `${formatPath(["localTest", "environment", name])}: the value looks like ${shape}; ${ENVIRONMENT_FIX}`,
      );
  }
  for (const [name, value] of Object.entries(config.image.buildArgs)) {
    const shape = credentialShape(name, value);
    if (shape)
      problems.push(
        `${formatPath(["image", "buildArgs", name])}: the value looks like ${shape}; build arguments stay in the image's history (docker history shows them) and travel with every push: remove it, and fetch what the build needs without baking it in`,
      );
  }
  return problems;
}
