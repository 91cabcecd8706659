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
