import { describe, expect, it } from "vitest";
import { awsFailure } from "../../src/adapters/aws-errors.js";

const sdkError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 404 } });

describe("awsFailure's hints", () => {
  it("a bucket that is gone names the bucket, how to create it and the config key", () => {
    const error = awsFailure(
      sdkError("NoSuchBucket", "The specified bucket does not exist"),
      "PutObject s3://walk-bucket/gen3d/input/x.png",
      "s3:PutObject",
    ) as Error & { hint?: string; code?: string };
    expect(error.code).toBe("AWS_CALL_FAILED");
    expect(error.message).toMatch(/PutObject s3:\/\/walk-bucket\/.* failed: NoSuchBucket/);
    expect(error.hint).toMatch(/bucket walk-bucket does not exist/);
    expect(error.hint).toContain("aws s3 mb s3://walk-bucket");
    expect(error.hint).toContain("s3.bucket");
  });

  it("another 404 gets no bucket advice", () => {
    const error = awsFailure(
      sdkError("NoSuchKey", "The specified key does not exist."),
      "GetObject s3://walk-bucket/a",
    ) as Error & { hint?: string };
    expect(error.hint ?? "").not.toMatch(/s3 mb/);
  });
});
