import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { modelPhase } from "../../src/phases/05-model.js";
import { useMoto } from "../support/use-moto.js";
import { createTestContext, runThrough, testConfig } from "./support/context.js";

const moto = useMoto();
const BUCKET = "gen3d-test-bucket";

async function s3Project() {
  const config = testConfig(moto.endpoint, (raw) => {
    for (const model of raw.models as { packaging?: string }[]) model.packaging = "s3";
  });
  const ctx = await createTestContext({ endpoint: moto.endpoint, config });
  const s3 = await ctx.aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  return { ctx, s3 };
}

async function put(s3: S3Client, keys: readonly string[], body = "w") {
  const bytes = new TextEncoder().encode(body);
  // A few at a time: moto on a shared two-core machine.
  for (let i = 0; i < keys.length; i += 25) {
    await Promise.all(
      keys.slice(i, i + 25).map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: bytes }))),
    );
  }
}

describe("uncompressed S3 model data: what SageMaker would refuse is refused before CreateModel", () => {
  it("reads every page of the prefix: a folder object after the first 1,000 keys is still found", async () => {
    const { ctx, s3 } = await s3Project();
    const shards = Array.from(
      { length: 1001 },
      (_, i) => `gen3d/models/sam3/shard-${String(i).padStart(4, "0")}.bin`,
    );
    await put(s3, shards);
    // Sorts after every shard: on the second page of ListObjectsV2 (the old check read one key).
    await put(s3, ["gen3d/models/sam3d/"], "");
    const mark = ctx.log.mark();
    await expect(runThrough(ctx, [modelPhase])).rejects.toMatchObject({ code: "MODEL_DATA_INVALID" });
    const error = ctx.state.phase(5).error;
    expect(error?.message).toMatch(/1 key\(s\) under s3:\/\/gen3d-test-bucket\/gen3d\/models\/ are refused/);
    expect(ctx.log.since(mark).filter((c) => c === "S3:ListObjectsV2").length).toBeGreaterThanOrEqual(2);
    expect(ctx.log.mutatingSince(mark)).toEqual([]);
  });

  it("names each refused key: folder object, empty segment, '.', '..', and a file that is also a directory", async () => {
    const { ctx, s3 } = await s3Project();
    await put(s3, [
      "gen3d/models/sam3/config.json",
      "gen3d/models/sam3/weights",
      "gen3d/models/sam3/weights/part1",
      "gen3d/models/sam3//double.bin",
      "gen3d/models/sam3/./dot.bin",
      "gen3d/models/sam3d/../up.bin",
    ]);
    await put(s3, ["gen3d/models/sam3d/"], "");
    const error = await runThrough(ctx, [modelPhase]).then(
      () => undefined,
      (e: { code?: string; message?: string; details?: string[] }) => e,
    );
    expect(error?.code).toBe("MODEL_DATA_INVALID");
    expect(error?.message).toMatch(/^5 key\(s\) under s3:\/\/gen3d-test-bucket\/gen3d\/models\//);
    expect(error?.details).toEqual([
      expect.stringMatching(/^• gen3d\/models\/sam3\/\.\/dot\.bin: a "\." path segment/),
      expect.stringMatching(/^• gen3d\/models\/sam3\/\/double\.bin: an empty or blank path segment/),
      expect.stringMatching(/^• gen3d\/models\/sam3\/weights: is a file and also the directory/),
      expect.stringMatching(/^• gen3d\/models\/sam3d\/: a 0-byte "folder" object/),
      expect.stringMatching(/^• gen3d\/models\/sam3d\/\.\.\/up\.bin: a "\.\." path segment/),
    ]);
  });

  it("passes clean keys and reports how much is there", async () => {
    const { ctx, s3 } = await s3Project();
    await put(s3, ["gen3d/models/sam3/sam3.pt", "gen3d/models/sam3d/pipeline.yaml"]);
    await runThrough(ctx, [modelPhase]);
    const gates = (
      ctx.state.phase(5).evidence as { gates: { id: string; status: string; message: string }[] }
    ).gates;
    const data = gates.find((g) => g.id === "model.data");
    expect(data?.status).toBe("pass");
    expect(data?.message).toMatch(/^2 object\(s\), 2 bytes under s3:\/\/gen3d-test-bucket\/gen3d\/models\//);
  });
});
