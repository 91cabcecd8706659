import { isMissingFailure, type S3Objects } from "../../adapters/s3.js";
import type { Removal } from "../phase.js";

/** Deletes every object under one s3:// prefix, a listing page at a time; counts what it deleted. */
export async function removeS3Prefix(s3: S3Objects, uri: string): Promise<Removal> {
  const rest = uri.replace(/^s3:\/\//, "");
  const bucket = rest.split("/")[0] ?? "";
  const prefix = rest.slice(bucket.length + 1).replace(/\/?$/, "/");
  const name = `s3://${bucket}/${prefix}`;
  let count = 0;
  try {
    for await (const page of s3.objectPages(bucket, prefix)) {
      if (page.length > 0)
        count += await s3.deleteObjects(
          bucket,
          page.map((o) => o.key),
        );
    }
  } catch (error) {
    // The bucket itself is gone: so is everything under the prefix.
    if (isMissingFailure(error)) return { kind: "s3-prefix", name: uri, result: "already-gone" };
    throw error;
  }
  return {
    kind: "s3-prefix",
    name,
    result: count > 0 ? "deleted" : "already-gone",
    detail: `${count} object(s)`,
  };
}

/** Each prefix in turn (async output, failures, embeddings). */
export async function removeS3Prefixes(s3: S3Objects, uris: readonly string[]): Promise<Removal[]> {
  const removed: Removal[] = [];
  for (const uri of uris) removed.push(await removeS3Prefix(s3, uri));
  return removed;
}
