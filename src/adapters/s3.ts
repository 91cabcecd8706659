import { ExternalError } from "../engine/errors.js";
import type { AwsClients } from "./aws.js";
import { awsFailure, isNotFound } from "./aws-errors.js";

/**
 * S3 behind one facade: one method per call gen3d makes, the abort signal, the error mapping
 * (naming the `s3:` permission) and the SDK's paginator inside. Phases and commands build no S3
 * command themselves.
 */

export interface S3Location {
  bucket: string;
  key: string;
}

export interface ListedObject {
  key: string;
  size: number;
}

export interface ObjectHead {
  /** Without quotes. */
  etag?: string;
  contentLength: number;
  metadata: Record<string, string>;
}

export interface S3Objects {
  /** The object's head, or undefined when there is none at `location` (404 / NotFound). */
  headObject(location: S3Location): Promise<ObjectHead | undefined>;
  putObject(
    location: S3Location,
    body: Uint8Array,
    options: { contentType: string; metadata?: Record<string, string> },
  ): Promise<void>;
  getObject(location: S3Location): Promise<Uint8Array>;
  /** Every object under `prefix`, page by page (ListObjectsV2 returns at most 1,000 keys a page). */
  objectPages(bucket: string, prefix: string): AsyncIterable<ListedObject[]>;
  /** Every object under `prefix`, all pages. */
  listObjects(bucket: string, prefix: string): Promise<ListedObject[]>;
  /** Deletes `keys`, 1,000 a DeleteObjects call (its limit); returns how many were asked. */
  deleteObjects(bucket: string, keys: readonly string[]): Promise<number>;
}

/** DeleteObjects takes at most this many keys a call. */
export const DELETE_BATCH = 1000;

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2])
    throw new ExternalError("AWS_UNEXPECTED", `not an s3://bucket/key URI: ${uri}`);
  return { bucket: match[1], key: match[2] };
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** A missing object or bucket: the SDK's NotFound / NoSuch* names, or a bare 404 (HEAD has no body). */
export function isMissing(error: unknown): boolean {
  return (
    isNotFound(error) ||
    (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode === 404
  );
}

/** The same, for an error the facade already mapped (its cause is the SDK's error). */
export function isMissingFailure(error: unknown): boolean {
  return isMissing(error) || isMissing((error as { cause?: unknown } | null)?.cause);
}

export function createS3(deps: { aws: Pick<AwsClients, "s3">; signal: AbortSignal }): S3Objects {
  const { aws, signal } = deps;
  const sdk = () => import("@aws-sdk/client-s3");
  const options = { abortSignal: signal };
  async function call<T>(action: string, permission: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw awsFailure(error, action, permission);
    }
  }
  const facade: S3Objects = {
    async headObject(location) {
      const { HeadObjectCommand } = await sdk();
      const client = await aws.s3();
      try {
        const head = await client.send(
          new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }),
          options,
        );
        return {
          ...(head.ETag ? { etag: head.ETag.replace(/"/g, "") } : {}),
          contentLength: head.ContentLength ?? 0,
          metadata: head.Metadata ?? {},
        };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw awsFailure(error, `HeadObject ${s3Uri(location.bucket, location.key)}`, "s3:GetObject");
      }
    },

    async putObject(location, body, put) {
      const { PutObjectCommand } = await sdk();
      const client = await aws.s3();
      await call(`PutObject ${s3Uri(location.bucket, location.key)}`, "s3:PutObject", () =>
        client.send(
          new PutObjectCommand({
            Bucket: location.bucket,
            Key: location.key,
            Body: body,
            ContentType: put.contentType,
            ...(put.metadata ? { Metadata: put.metadata } : {}),
          }),
          options,
        ),
      );
    },

    async getObject(location) {
      const { GetObjectCommand } = await sdk();
      const client = await aws.s3();
      return call(`GetObject ${s3Uri(location.bucket, location.key)}`, "s3:GetObject", async () => {
        const out = await client.send(
          new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
          options,
        );
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
      });
    },

    async *objectPages(bucket, prefix) {
      const { paginateListObjectsV2 } = await sdk();
      const client = await aws.s3();
      const pages = paginateListObjectsV2(
        { client, pageSize: 1000 },
        { Bucket: bucket, Prefix: prefix },
        options,
      );
      for (;;) {
        const page = await call(`ListObjectsV2 ${s3Uri(bucket, prefix)}`, "s3:ListBucket", () =>
          pages.next(),
        );
        if (page.done) return;
        const objects: ListedObject[] = [];
        for (const object of page.value.Contents ?? [])
          if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 });
        yield objects;
      }
    },

    async listObjects(bucket, prefix) {
      const objects: ListedObject[] = [];
      for await (const page of facade.objectPages(bucket, prefix)) objects.push(...page);
      return objects;
    },

    async deleteObjects(bucket, keys) {
      const { DeleteObjectsCommand } = await sdk();
      const client = await aws.s3();
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH).map((Key) => ({ Key }));
        await call(`DeleteObjects s3://${bucket} (${batch.length} keys)`, "s3:DeleteObject", () =>
          client.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
            options,
          ),
        );
      }
      return keys.length;
    },
  };
  return facade;
}
