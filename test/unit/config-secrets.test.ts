import { describe, expect, it } from "vitest";
import { describeChange, isSecretName as realityIsSecretName } from "../../src/checks/reality.js";
import { parseConfig } from "../../src/config/load.js";
import { UserError } from "../../src/engine/errors.js";
import { REDACTED, redact, redactText } from "../../src/engine/redact.js";
import { isSecretName, redactSecretNamed } from "../../src/engine/secret-names.js";
import { validConfig } from "../support/project.js";

function refusal(overrides: Record<string, unknown>): string[] {
  try {
    parseConfig(validConfig(overrides), "gen3d.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).details;
  }
  throw new Error("expected the config to be refused");
}

// Built at run time so no credential-shaped literal sits in the repository.
const AWS_KEY_ID = ["AKIA", "Z7Q2", "X9W4", "T6R1", "P3N8"].join("");
const AWS_SECRET = `${"wJalrXUtnFEMI/K7MDENG/bPxRfiCY".padEnd(40, "Q")}`;
const HF = `hf_${"aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3h"}`;
const PRIVATE_KEY = ["-----BEGIN", "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA", "PRIVATE KEY-----"].join(
  " ",
);

describe("one rule for secret names", () => {
  it("the names STATE.json's redaction drops are the names the display and drift hide", () => {
    const names = [
      "MODEL_API_KEY",
      "HF_TOKEN",
      "HFTOKEN",
      "hfToken",
      "OPENAI_API_KEY",
      "DB_PASSWORD",
      "dbpassword",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "awsSessionKey",
      "x-amz-security-token",
      "Authorization",
      "STRIPE_KEY",
      "GEN3D_LOG_LEVEL",
      "GEN3D_KEY_PREFIX",
      "GEN3D_TOKENIZER_PATH",
      "imageKey",
      "mask_s3_key",
      "maxConcurrency",
    ];
    for (const name of names) {
      const dropped = (redact({ [name]: "v" }) as Record<string, unknown>)[name] === REDACTED;
      const hidden = (redactSecretNamed({ [name]: "v" }) as Record<string, unknown>)[name] !== "v";
      expect([name, dropped, hidden, realityIsSecretName(name)]).toEqual([
        name,
        isSecretName(name),
        isSecretName(name),
        isSecretName(name),
      ]);
    }
    expect(["MODEL_API_KEY", "HFTOKEN", "awsSessionKey", "AWS_SESSION_TOKEN"].every(isSecretName)).toBe(true);
    expect(["GEN3D_TOKENIZER_PATH", "GEN3D_KEY_PREFIX", "imageKey"].some(isSecretName)).toBe(false);
  });

  it("STATE.json's redaction drops MODEL_API_KEY's value (it kept it before)", () => {
    expect(redact({ environment: { MODEL_API_KEY: "s3cr3t-value", GEN3D_BACKEND: "test" } })).toEqual({
      environment: { MODEL_API_KEY: REDACTED, GEN3D_BACKEND: "test" },
    });
    expect(describeChange("Environment.MODEL_API_KEY: wanted a, found b")).toBe(
      "MODEL_API_KEY changed (value not shown)",
    );
  });

  it("a record under a secret-like name is judged key by key, so evidence about credentials survives", () => {
    expect(
      redact({
        credentials: { via: "endpoint", requests: 2 },
        provider: {
          credentials: { accessKeyId: "id", secretAccessKey: "s", sessionToken: "t", expiration: "e" },
        },
        tokens: ["a", "b"],
      }),
    ).toEqual({
      credentials: { via: "endpoint", requests: 2 },
      provider: {
        credentials: {
          accessKeyId: REDACTED,
          secretAccessKey: REDACTED,
          sessionToken: REDACTED,
          expiration: "e",
        },
      },
      tokens: REDACTED,
    });
  });

  it("masks credential-shaped values in free text, whatever they sit under", () => {
    const text = `pulled with ${HF} as ${AWS_KEY_ID}`;
    expect(redactText(text)).toBe(`pulled with ${REDACTED} as ${REDACTED}`);
  });
});

describe("a credential-looking value in the container environment is refused at config load", () => {
  it.each([
    ["GEN3D_S3_USER", AWS_KEY_ID, /an AWS access key id/],
    ["AWS_SECRET_ACCESS_KEY", AWS_SECRET, /an AWS secret access key \(40 base64 characters\)/],
    [
      "MODEL_API_KEY",
      "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5",
      /a secret \(a long opaque value under a secret-like name\)/,
    ],
    ["HF_HOME_TOKEN", HF, /a Hugging Face token/],
    ["TLS_MATERIAL", PRIVATE_KEY, /a private key/],
    ["DATABASE_URL", "postgres://gen3d:hunter2hunter2@db.internal:5432/app", /a URL with a password in it/],
  ])("%s", (name, value, shape) => {
    const lines = refusal({ localTest: { environment: { [name]: value, GEN3D_BACKEND: "test" } } });
    expect(lines).toHaveLength(1);
    const [line] = lines as [string];
    expect(line.startsWith(`• localTest.environment.${name}: the value looks like `)).toBe(true);
    expect(line).toMatch(shape);
    expect(line).toMatch(/Secrets Manager or SSM Parameter Store .* \(e\.g\. HF_TOKEN_SECRET_ARN\)$/);
    expect(line).not.toContain(value.slice(4, 20));
  });

  it("in a build argument too (it stays in the image's history)", () => {
    const lines = refusal({
      image: { name: "gen3d-test", version: "1.0.0", buildArgs: { HF_TOKEN: HF } },
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^• image\.buildArgs\.HF_TOKEN: the value looks like a Hugging Face token \(hf_…\); .*docker history/,
      ),
    ]);
  });

  it("ordinary settings, and a short placeholder under a secret name, still load", () => {
    const config = parseConfig(
      validConfig({
        localTest: {
          environment: {
            GEN3D_BACKEND: "test",
            GEN3D_KEY_PREFIX: "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5",
            HF_TOKEN_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf",
            HF_TOKEN: "sentinel-1234abcd",
            MODEL_API_KEY: "sentinel-9c41d7e2-not-for-output",
            CLIENT_SECRET_ID: "0b5e7d3c-2f1a-4c8e-9d6b-3a7f1e2c4b5d",
          },
        },
      }),
      "gen3d.config.json",
    );
    expect(config.localTest.environment.GEN3D_BACKEND).toBe("test");
  });
});
