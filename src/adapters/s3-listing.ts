import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { awsFailure } from "./aws-errors.js";

export interface ListedObject {
  key: string;
  size: number;
}

/** Every object under `prefix`, all pages (ListObjectsV2 returns at most 1,000 keys a page). */
export async function listAllObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 1000 },
      { Bucket: bucket, Prefix: prefix },
      ...(signal ? [{ abortSignal: signal }] : []),
    )) {
      for (const object of page.Contents ?? [])
        if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 });
    }
  } catch (error) {
    throw awsFailure(error, `ListObjectsV2 s3://${bucket}/${prefix}`, "s3:ListBucket");
  }
  return objects;
}
