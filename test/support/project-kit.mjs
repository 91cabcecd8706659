/**
 * What the chaos harness (test/chaos/harness.mjs), the reliability bench (bench/reliability.mjs)
 * and the test support (test/support/local-stack.ts) build a throwaway project and account from:
 * the container sources, the stand-in models' config, the data-plane deploy settings, the local
 * AWS's test account, and a seeded generator for replayable draws.
 */
import { cp } from "node:fs/promises";
import path from "node:path";

/** What container/Dockerfile builds from (per its .dockerignore), weights aside. */
export const CONTAINER_SOURCES = [
  "Dockerfile",
  ".dockerignore",
  "requirements.txt",
  "requirements-sam3.txt",
  "docker",
  "gen3d_serving",
];

/** Copies CONTAINER_SOURCES from `containerDir` into `contextDir`, Python's caches left out. */
export async function copyContainer(containerDir, contextDir) {
  for (const entry of CONTAINER_SOURCES) {
    await cp(path.join(containerDir, entry), path.join(contextDir, entry), {
      recursive: true,
      filter: (p) => !p.includes("__pycache__"),
    });
  }
}

/** config.models for the stand-in weights of make-test-models.mjs (`bytes`: what it returned). */
export function testModels(bytes) {
  return [
    {
      name: "sam3",
      localPath: "container/models/sam3",
      expectedSizeBytes: bytes.sam3,
      gpuMemoryGb: 6,
      tasks: ["get_embedding", "segment"],
    },
    {
      name: "sam3d",
      localPath: "container/models/sam3d",
      expectedSizeBytes: bytes.sam3d,
      gpuMemoryGb: 32,
      tasks: ["generate_3d"],
    },
  ];
}

/**
 * What a deploy 1 → 10 on the local SageMaker's data plane sets: one instance that scales to zero
 * and back (up to `maxCount`), phase timeouts for the whole run, the cold start measured.
 */
export function dataPlaneSettings(maxCount) {
  return {
    instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount },
    timeouts: {
      startupSeconds: 60,
      buildSeconds: 600,
      deploySeconds: 300,
      invocationSeconds: 300,
      scaleToZeroSeconds: 300,
    },
    scaleToZero: { coldStart: true },
  };
}

/** An AWS SDK client's config for the local AWS at `endpoint`. */
export const awsConfig = (endpoint) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});

/** The local AWS's account as gen3d expects it: the S3 bucket and the SageMaker execution role. */
export async function seedAccount(endpoint, bucket) {
  const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
  const { IAMClient, CreateRoleCommand } = await import("@aws-sdk/client-iam");
  await new S3Client({ ...awsConfig(endpoint), forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: bucket }),
  );
  await new IAMClient(awsConfig(endpoint)).send(
    new CreateRoleCommand({
      RoleName: "gen3d-sagemaker",
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "sagemaker.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
    }),
  );
}

/** mulberry32: a small seeded generator, so a violation can be replayed from its seed. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
