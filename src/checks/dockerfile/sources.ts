import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import balena from "@balena/dockerignore";
import { type CopyMapping, cleanSource, imagePath } from "./parse.js";

export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Context paths matching a COPY source; wildcards (last segment) matched as Go's filepath.Match does, through the dockerignore port. */
export async function matchSource(contextDir: string, source: string): Promise<string[]> {
  const clean = cleanSource(source);
  if (clean === ".") return ["."];
  if (!/[*?[]/.test(clean)) return (await exists(path.join(contextDir, clean))) ? [clean] : [];
  const dir = path.posix.dirname(clean);
  const matcher = balena.default().add(path.posix.basename(clean));
  try {
    const entries = await readdir(path.join(contextDir, dir));
    return entries.filter((e) => matcher.ignores(e)).map((e) => (dir === "." ? e : `${dir}/${e}`));
  } catch {
    return [];
  }
}

/** Maps a path inside the image back to the context file a COPY put there. */
export async function contextFileFor(
  inImage: string,
  mappings: CopyMapping[],
  contextDir: string,
  workdir: string,
): Promise<string | undefined> {
  const target = imagePath(inImage, workdir);
  for (const mapping of [...mappings].reverse()) {
    if (mapping.fromStage) continue;
    const destination = imagePath(mapping.destination, workdir).replace(/\/$/, "");
    for (const source of mapping.sources) {
      const clean = cleanSource(source);
      const candidates: string[] = [];
      if (target === destination) candidates.push(clean);
      if (target.startsWith(`${destination}/`)) {
        const rest = target.slice(destination.length + 1);
        candidates.push(path.posix.join(clean, rest)); // COPY dir/ /dest/ copies the directory's contents
        if (path.posix.basename(clean) === rest) candidates.push(clean); // COPY file /dest/ keeps the name
      }
      for (const candidate of candidates) {
        const file = path.join(contextDir, candidate);
        if (await isFile(file)) return file;
      }
    }
  }
  return undefined;
}

/** Finds `module/__main__.py` or `module.py` anywhere in the context (bounded walk). */
export async function findModule(contextDir: string, module: string): Promise<string | undefined> {
  const relative = module.replace(/\./g, "/");
  const queue = [""];
  let visited = 0;
  while (queue.length > 0 && visited < 2000) {
    const dir = queue.shift() as string;
    visited++;
    for (const candidate of [`${relative}/__main__.py`, `${relative}.py`]) {
      const file = path.join(contextDir, dir, candidate);
      if (await isFile(file)) return file;
    }
    let entries: Dirent[] = [];
    try {
      entries = await readdir(path.join(contextDir, dir), { withFileTypes: true });
    } catch {}
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "models" && e.name !== "node_modules")
        queue.push(path.join(dir, e.name));
    }
  }
  return undefined;
}

/**
 * The names Python could import from the project's own code: every `name.py` and every package
 * directory (`name/__init__.py`) anywhere in the build context (one bounded walk).
 */
export async function localModules(contextDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const queue = [""];
  let visited = 0;
  while (queue.length > 0 && visited < 5000) {
    const dir = queue.shift() as string;
    visited++;
    let entries: Dirent[] = [];
    try {
      entries = await readdir(path.join(contextDir, dir), { withFileTypes: true });
    } catch {}
    for (const e of entries) {
      if (e.isFile() && e.name.endsWith(".py")) names.add(e.name.slice(0, -3));
      if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules") {
        if (await isFile(path.join(contextDir, dir, e.name, "__init__.py"))) names.add(e.name);
        queue.push(path.join(dir, e.name));
      }
    }
  }
  return names;
}
