/**
 * Phase 4's and phase 9's teardowns: against fake facades for each outcome (deleted, already gone,
 * a refusal), and through the real facades over mocked SDK clients for what only the SDK shows
 * (ECR's failure list, S3's pages and DeleteObjects' 1,000-key limit).
 */
import {
  BatchDeleteImageCommand,
  ECRClient,
  ECRServiceException,
  ListImagesCommand,
  RepositoryNotFoundException,
} from "@aws-sdk/client-ecr";
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/adapters/aws.js";
import { createEcr, type Ecr, type ImageDeletion } from "../../src/adapters/ecr.js";
import { createS3, type ListedObject, type S3Objects } from "../../src/adapters/s3.js";
import { pushPhase } from "../../src/phases/04-push.js";
import { integrationPhase } from "../../src/phases/09-integration.js";
import { removeS3Prefix } from "../../src/phases/integration/teardown.js";
import type { PhaseContext } from "../../src/phases/phase.js";
import { removePushedImage } from "../../src/phases/push/teardown.js";
import { createTestContext, withProgress } from "../support/context.js";
import { validConfig } from "../support/project.js";

const DIGEST = `sha256:${"d".repeat(64)}`;
const signal = new AbortController().signal;
const ecrMock = mockClient(ECRClient);
const s3Mock = mockClient(S3Client);

beforeEach(() => {
  ecrMock.reset();
  s3Mock.reset();
});
afterAll(() => {
  ecrMock.restore();
  s3Mock.restore();
});

/** An ECR facade that answers BatchDeleteImage with `answer` and records what it was asked. */
function fakeEcr(answer: ImageDeletion | Error): Ecr & { deleted: [string, string][] } {
  const deleted: [string, string][] = [];
  const unexpected = async () => {
    throw new Error("unexpected ECR call");
  };
  return {
    deleted,
    describeRepository: unexpected,
    createRepository: unexpected,
    putImageTagMutability: unexpected,
    putImageScanningConfiguration: unexpected,
    getLifecyclePolicy: unexpected,
    putLifecyclePolicy: unexpected,
    getAuthorizationToken: unexpected,
    describeImages: unexpected,
    countImages: unexpected,
    async batchDeleteImage(name, digest) {
      deleted.push([name, digest]);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

/** An S3 facade whose listing yields `pages` (or throws `error`) and which records each delete. */
function fakeS3(pages: ListedObject[][], error?: Error): S3Objects & { deletes: string[][] } {
  const deletes: string[][] = [];
  const unexpected = async () => {
    throw new Error("unexpected S3 call");
  };
  return {
    deletes,
    headObject: unexpected,
    putObject: unexpected,
    getObject: unexpected,
    listObjects: unexpected,
    async *objectPages() {
      if (error) throw error;
      for (const page of pages) yield page;
    },
    async deleteObjects(_bucket, keys) {
      deletes.push([...keys]);
      return keys.length;
    },
  };
}

const objects = (n: number, from = 0): ListedObject[] =>
  Array.from({ length: n }, (_, i) => ({ key: `gen3d/output/${from + i}.out`, size: 1 }));

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    message: name,
    $fault: "client",
    $metadata: { httpStatusCode: status },
  });
}

/** A phase context whose AWS clients are the (mocked) SDK's, with a recorded image digest. */
async function phaseContext(config: Record<string, unknown> = validConfig()): Promise<PhaseContext> {
  const aws = {
    region: "us-east-1",
    endpoint: undefined,
    ecr: async () => new ECRClient({ region: "us-east-1" }),
    s3: async () => new S3Client({ region: "us-east-1" }),
  } as unknown as AwsClients;
  const ctx = await createTestContext({ config, aws });
  await ctx.state.setArtifacts({ imageDigest: DIGEST });
  return withProgress(ctx);
}

describe("phase 4 teardown: the pushed image", () => {
  const image = { repository: "gen3d-test", digest: DIGEST, registry: undefined };

  it("deletes the image by its digest", async () => {
    const ecr = fakeEcr({ type: "deleted" });
    expect(await removePushedImage(ecr, image)).toEqual([
      { kind: "image", name: `gen3d-test@${DIGEST}`, result: "deleted" },
    ]);
    expect(ecr.deleted).toEqual([["gen3d-test", DIGEST]]);
  });

  it("reports an image (or repository) ECR no longer has as already gone", async () => {
    expect(await removePushedImage(fakeEcr({ type: "not-found" }), image)).toEqual([
      { kind: "image", name: `gen3d-test@${DIGEST}`, result: "already-gone" },
    ]);
  });

  it("fails naming ECR's failure code when it refuses the delete", async () => {
    const refusal = { type: "failed", code: "ImageReferencedByManifestList", reason: "in use" } as const;
    await expect(removePushedImage(fakeEcr(refusal), image)).rejects.toMatchObject({
      code: "ECR_DELETE_FAILED",
      message: `deleting gen3d-test@${DIGEST}: ImageReferencedByManifestList: in use`,
      hint: expect.stringMatching(/ecr:BatchDeleteImage/),
    });
  });

  it("deletes nothing through a registry standing in for ECR, nor without a recorded digest", async () => {
    const ecr = fakeEcr({ type: "deleted" });
    expect(await removePushedImage(ecr, { ...image, registry: "127.0.0.1:5000" })).toEqual([]);
    expect(await removePushedImage(ecr, { ...image, digest: undefined })).toEqual([
      { kind: "image", name: "gen3d-test", result: "already-gone", detail: "no digest recorded" },
    ]);
    expect(ecr.deleted).toEqual([]);
  });

  it("the phase deletes only with deleteImages, through ECR's BatchDeleteImage", async () => {
    ecrMock.on(BatchDeleteImageCommand).resolves({ imageIds: [{ imageDigest: DIGEST }], failures: [] });
    const ctx = await phaseContext();
    expect(await pushPhase.teardown?.(ctx, {})).toEqual([]);
    expect(ecrMock.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(await pushPhase.teardown?.(ctx, { deleteImages: true })).toEqual([
      { kind: "image", name: `gen3d-test@${DIGEST}`, result: "deleted" },
    ]);
    expect(ecrMock.commandCalls(BatchDeleteImageCommand)[0]?.args[0].input).toEqual({
      repositoryName: "gen3d-test",
      imageIds: [{ imageDigest: DIGEST }],
    });
  });

  it("the phase leaves an image in aws.registry to destroy's report of what remains", async () => {
    const config = validConfig();
    Object.assign(config, {
      aws: { region: "us-east-1", endpoint: "http://127.0.0.1:4566", registry: "127.0.0.1:5000" },
    });
    const ctx = await phaseContext(config);
    expect(await pushPhase.teardown?.(ctx, { deleteImages: true })).toEqual([]);
    expect(ecrMock.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });
});

describe("the ECR facade's BatchDeleteImage outcomes", () => {
  const ecr = createEcr({ aws: { ecr: async () => new ECRClient({ region: "us-east-1" }) }, signal });

  it("reads ImageNotFound and a missing repository as not-found, another code as failed", async () => {
    ecrMock
      .on(BatchDeleteImageCommand)
      .resolvesOnce({ failures: [{ failureCode: "ImageNotFound", failureReason: "gone" }] })
      .rejectsOnce(new RepositoryNotFoundException({ message: "no repo", $metadata: {} }))
      .resolvesOnce({ failures: [{ failureCode: "KmsError", failureReason: "key disabled" }] });
    expect(await ecr.batchDeleteImage("r", DIGEST)).toEqual({ type: "not-found" });
    expect(await ecr.batchDeleteImage("r", DIGEST)).toEqual({ type: "not-found" });
    expect(await ecr.batchDeleteImage("r", DIGEST)).toEqual({
      type: "failed",
      code: "KmsError",
      reason: "key disabled",
    });
  });

  it("counts the images of every ListImages page, and none in a repository that does not exist", async () => {
    ecrMock
      .on(ListImagesCommand)
      .resolvesOnce({ imageIds: [{ imageDigest: "a" }, { imageDigest: "b" }], nextToken: "t" })
      .resolvesOnce({ imageIds: [{ imageDigest: "c" }] })
      .rejectsOnce(new RepositoryNotFoundException({ message: "no repo", $metadata: {} }));
    expect(await ecr.countImages("r")).toBe(3);
    expect(await ecr.countImages("r")).toBe(0);
  });

  it("names the ecr: permission when the call is refused", async () => {
    ecrMock.on(BatchDeleteImageCommand).rejects(
      new ECRServiceException({
        name: "AccessDeniedException",
        message: "not allowed",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(ecr.batchDeleteImage("r", DIGEST)).rejects.toMatchObject({
      code: "AWS_CALL_FAILED",
      message: expect.stringMatching(/ECR BatchDeleteImage failed: AccessDeniedException/),
      hint: expect.stringMatching(/ecr:BatchDeleteImage/),
    });
  });
});

describe("phase 9 teardown: gen3d's S3 prefixes", () => {
  it("deletes a listing page at a time: 1,500 objects in two batches, counted", async () => {
    const s3 = fakeS3([objects(1000), objects(500, 1000)]);
    expect(await removeS3Prefix(s3, "s3://b/gen3d/output")).toEqual({
      kind: "s3-prefix",
      name: "s3://b/gen3d/output/",
      result: "deleted",
      detail: "1500 object(s)",
    });
    expect(s3.deletes.map((keys) => keys.length)).toEqual([1000, 500]);
    expect(s3.deletes[1]?.[0]).toBe("gen3d/output/1000.out");
  });

  it("reports an empty prefix, and a bucket that no longer exists, as already gone", async () => {
    expect(await removeS3Prefix(fakeS3([[]]), "s3://b/gen3d/failure/")).toMatchObject({
      result: "already-gone",
      detail: "0 object(s)",
    });
    const noBucket = createS3({ aws: { s3: async () => new S3Client({ region: "us-east-1" }) }, signal });
    s3Mock.on(ListObjectsV2Command).rejects(s3Error("NoSuchBucket", 404));
    expect(await removeS3Prefix(noBucket, "s3://b/gen3d/failure")).toEqual({
      kind: "s3-prefix",
      name: "s3://b/gen3d/failure",
      result: "already-gone",
    });
  });

  it("fails on any other refusal, naming the call and the permission", async () => {
    const s3 = createS3({ aws: { s3: async () => new S3Client({ region: "us-east-1" }) }, signal });
    s3Mock.on(ListObjectsV2Command).rejects(s3Error("AccessDenied", 403));
    await expect(removeS3Prefix(s3, "s3://b/gen3d/output")).rejects.toMatchObject({
      code: "AWS_CALL_FAILED",
      message: expect.stringMatching(/ListObjectsV2 s3:\/\/b\/gen3d\/output\/ failed: AccessDenied/),
      hint: expect.stringMatching(/s3:ListBucket/),
    });
  });

  it("the facade sends DeleteObjects 1,000 keys at a time", async () => {
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const s3 = createS3({ aws: { s3: async () => new S3Client({ region: "us-east-1" }) }, signal });
    const keys = objects(2500).map((o) => o.key);
    expect(await s3.deleteObjects("b", keys)).toBe(2500);
    const batches = s3Mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects);
    expect(batches.map((b) => b?.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat().map((o) => o?.Key)).toEqual(keys);
  });

  it("the phase deletes only with deleteS3: async output, failures and embeddings, every page", async () => {
    s3Mock
      .on(ListObjectsV2Command, { Prefix: "gen3d/output/" })
      .resolvesOnce({
        Contents: objects(1000).map((o) => ({ Key: o.key })),
        IsTruncated: true,
        NextContinuationToken: "t",
      })
      .resolvesOnce({ Contents: objects(3, 1000).map((o) => ({ Key: o.key })) })
      .on(ListObjectsV2Command, { Prefix: "gen3d/failures/" })
      .resolves({})
      .on(ListObjectsV2Command, { Prefix: "gen3d/embeddings/" })
      .resolves({ Contents: [{ Key: "gen3d/embeddings/a.npy" }] });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const ctx = await phaseContext();
    expect(await integrationPhase.teardown?.(ctx, {})).toEqual([]);
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
    const removed = await integrationPhase.teardown?.(ctx, { deleteS3: true });
    expect(removed?.map((r) => [r.name, r.result, r.detail])).toEqual([
      ["s3://gen3d-test-bucket/gen3d/output/", "deleted", "1003 object(s)"],
      ["s3://gen3d-test-bucket/gen3d/failures/", "already-gone", "0 object(s)"],
      ["s3://gen3d-test-bucket/gen3d/embeddings/", "deleted", "1 object(s)"],
    ]);
    expect(
      s3Mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length),
    ).toEqual([1000, 3, 1]);
  });
});
