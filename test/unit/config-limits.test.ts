import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { UserError } from "../../src/engine/errors.js";
import { validConfig } from "../support/project.js";

function problems(value: unknown): string[] {
  try {
    parseConfig(value, "gen3d.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).details;
  }
  throw new Error("expected the config to be rejected");
}

const s3Models = (prefixes: Record<string, string>) =>
  validConfig({
    s3: { bucket: "gen3d-test-bucket", prefixes },
    models: [
      {
        name: "sam3",
        localPath: "container/models/sam3",
        expectedSizeBytes: 1000,
        gpuMemoryGb: 6,
        packaging: "s3",
        tasks: ["segment"],
      },
    ],
  });

describe("S3 model data prefix", () => {
  it("an empty models prefix with packaging s3 is a config error: it would copy the whole bucket", () => {
    expect(problems(s3Models({ models: "" }))).toEqual([
      expect.stringMatching(
        /^• s3\.prefixes\.models: empty with packaging "s3": SageMaker would copy the whole bucket/,
      ),
    ]);
  });

  it("another gen3d prefix inside the models prefix is refused too", () => {
    const lines = problems(s3Models({ models: "gen3d" }));
    // The defaults gen3d/input, gen3d/output, gen3d/failures and gen3d/embeddings all are.
    expect(lines).toHaveLength(4);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^• s3\.prefixes\.output: "gen3d\/output" is inside s3\.prefixes\.models \("gen3d"\)/,
      ),
    );
  });

  it("an empty models prefix is fine when the weights are baked into the image", () => {
    expect(() =>
      parseConfig(validConfig({ s3: { bucket: "gen3d-test-bucket", prefixes: { models: "" } } }), "x"),
    ).not.toThrow();
  });
});

const withEnvironment = (environment: Record<string, string>) => validConfig({ localTest: { environment } });

describe("container environment limits (CreateModel), before anything is built", () => {
  it("refuses a key SageMaker's pattern refuses, naming it and the rule", () => {
    expect(problems(withEnvironment({ "HF-TOKEN-PATH": "x", "1ST": "y" }))).toEqual([
      expect.stringMatching(
        /^• localTest\.environment\.HF-TOKEN-PATH: SageMaker refuses this environment key: use letters, digits and "_"/,
      ),
      expect.stringMatching(/^• localTest\.environment\.1ST: SageMaker refuses this environment key/),
    ]);
  });

  it("refuses a value over 1024 bytes (multi-byte characters count as bytes)", () => {
    expect(problems(withEnvironment({ PROMPT: "é".repeat(513) }))).toEqual([
      expect.stringMatching(/^• localTest\.environment\.PROMPT: keep values to 1024 bytes/),
    ]);
  });

  it("counts gen3d's own GEN3D_* variables toward the 100 entries", () => {
    const many = Object.fromEntries(Array.from({ length: 95 }, (_, i) => [`VAR_${i}`, "1"]));
    expect(problems(withEnvironment(many))).toEqual([
      expect.stringMatching(/^• localTest\.environment: 10[0-9] variables; SageMaker allows 100/),
    ]);
  });

  it("refuses more than 32 KB of keys and values in all", () => {
    const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`BLOB_${i}`, "x".repeat(1000)]));
    expect(problems(withEnvironment(big))).toEqual([
      expect.stringMatching(
        /^• localTest\.environment: keys and values come to \d+ bytes; SageMaker allows 32768/,
      ),
    ]);
  });
});

describe("the spec refuses what slipped past the config (defence in depth)", () => {
  it("desiredModel throws SAGEMAKER_LIMITS naming the key", async () => {
    const { desiredModel } = await import("../../src/spec/sagemaker.js");
    const config = parseConfig(validConfig(), "x");
    (config.localTest.environment as Record<string, string>)["BAD-KEY"] = "1";
    const image = { imageUri: `r@sha256:${"a".repeat(64)}`, imageDigest: `sha256:${"a".repeat(64)}` };
    expect(() => desiredModel({ config, ...image })).toThrow(
      expect.objectContaining({
        code: "SAGEMAKER_LIMITS",
        details: [
          expect.stringMatching(/^• localTest\.environment\.BAD-KEY: SageMaker refuses this environment key/),
        ],
      }),
    );
  });
});
