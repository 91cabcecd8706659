import type { ListedObject } from "../adapters/s3.js";

/**
 * What SageMaker refuses in uncompressed model data (`S3DataType: S3Prefix`, `CompressionType:
 * None`). It trims each key by the prefix and writes the rest, split on `/`, under /opt/ml/model,
 * so (SageMaker API reference, S3ModelDataSource.CompressionType): no file or directory name may
 * be empty or blank, contain a null byte, be longer than 255 bytes, or be `.` or `..`; a key that
 * is a file and also the directory of other keys is an ambiguous name that fails the deployment;
 * and the 0-byte "folder" objects the S3 console creates (keys ending in `/`) must not be there.
 */
export interface ModelDataReport {
  prefix: string;
  count: number;
  bytes: number;
  problems: string[];
}

function segmentProblem(segment: string): string | undefined {
  if (segment.trim() === "") return "an empty or blank path segment";
  if (segment.includes("\0")) return "a null byte";
  if (Buffer.byteLength(segment, "utf8") > 255) return "a path segment longer than 255 bytes";
  if (segment === "." || segment === "..") return `a "${segment}" path segment`;
  return undefined;
}

/** Problems with the keys under `keyPrefix` (ending in `/`), one line each, for the error's details. */
export function modelDataProblems(keyPrefix: string, objects: readonly ListedObject[]): string[] {
  const problems: string[] = [];
  // Every directory some key implies, relative to the prefix.
  const directories = new Set<string>();
  for (const { key } of objects) {
    const segments = key.slice(keyPrefix.length).split("/");
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join("/"));
  }
  for (const { key, size } of objects) {
    const relative = key.slice(keyPrefix.length);
    if (key.endsWith("/")) {
      problems.push(
        `${key}: a ${size === 0 ? "0-byte " : ""}"folder" object (the key ends in "/"): delete it, folders are implied by the file keys`,
      );
      continue;
    }
    const bad = relative
      .split("/")
      .map(segmentProblem)
      .find((p) => p !== undefined);
    if (bad) problems.push(`${key}: ${bad}: upload it again under a clean key`);
    if (directories.has(relative)) {
      problems.push(`${key}: is a file and also the directory of other keys: rename one of them`);
    }
  }
  return problems;
}

export function modelDataReport(
  uri: string,
  keyPrefix: string,
  objects: readonly ListedObject[],
): ModelDataReport {
  return {
    prefix: uri,
    count: objects.length,
    bytes: objects.reduce((sum, o) => sum + o.size, 0),
    problems: modelDataProblems(keyPrefix, objects),
  };
}
