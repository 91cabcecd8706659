import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/** JSON with sorted keys, so equal values hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function hashValue(value: unknown, length = 16): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, length);
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export interface TreeEntry {
  path: string;
  size: number;
}

/** Every regular file under `dir`, sorted, with sizes; symlinks are not followed. */
export async function listTree(
  dir: string,
  exclude: (relative: string) => boolean = () => false,
): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function walk(relative: string) {
    const entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (exclude(child)) continue;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) out.push({ path: child, size: (await stat(path.join(dir, child))).size });
    }
  }
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * A content hash of a directory: names, sizes and bytes of every file. Files above `sampleAbove`
 * bytes are hashed by size plus their first and last MiB, so multi-GB weights don't cost a full read.
 */
export async function hashTree(
  dir: string,
  options: { exclude?: (relative: string) => boolean; sampleAbove?: number } = {},
): Promise<string> {
  const sampleAbove = options.sampleAbove ?? 64 * 1024 * 1024;
  const hash = createHash("sha256");
  for (const entry of await listTree(dir, options.exclude)) {
    hash.update(`${entry.path}\0${entry.size}\0`);
    const file = path.join(dir, entry.path);
    if (entry.size <= sampleAbove) {
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    } else {
      const mib = 1024 * 1024;
      for await (const chunk of createReadStream(file, { start: 0, end: mib - 1 }))
        hash.update(chunk as Buffer);
      for await (const chunk of createReadStream(file, { start: entry.size - mib }))
        hash.update(chunk as Buffer);
    }
  }
  return hash.digest("hex");
}
