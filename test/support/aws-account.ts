import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { MotoServer } from "./moto/moto.js";

/** What a real account must already have for gen3d: the bucket and a role SageMaker may assume. */
export async function seedAccount(
  moto: MotoServer,
  bucket = "gen3d-test-bucket",
  roleName = "gen3d-sagemaker",
) {
  const common = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  await new S3Client({ ...common, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
  await new IAMClient(common).send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "sagemaker.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
    }),
  );
}
