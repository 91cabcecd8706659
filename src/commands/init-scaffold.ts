import { access, cp, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { listTree } from "../engine/fingerprint.js";

/**
 * What of the reference container a project gets: what the Dockerfile copies plus its README.
 * Never weights (models/), environments (.venv) or the container's own tests and benchmarks.
 * package.json "files" ships the same list.
 */
export const SCAFFOLD_ENTRIES = [
  "Dockerfile",
  ".dockerignore",
  "README.md",
  "requirements.txt",
  "requirements-sam3.txt",
  "requirements-sam3d.txt",
  "docker",
  "gen3d_serving",
] as const;

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** The installed gen3d package: the nearest package.json named gen3d above this module. */
export async function packageRoot(
  from = path.dirname(fileURLToPath(import.meta.url)),
): Promise<string | undefined> {
  let dir = from;
  for (;;) {
    const manifest = await readFile(path.join(dir, "package.json"), "utf8").catch(() => undefined);
    if (manifest && (JSON.parse(manifest) as { name?: string }).name === "gen3d") return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The JSON Schema the package ships, if this installation has it. */
export async function schemaFile(): Promise<string | undefined> {
  const root = await packageRoot();
  const file = root && path.join(root, "schema", "gen3d.config.schema.json");
  return file && (await exists(file)) ? file : undefined;
}

/** The reference container's sources in the installed package, if it ships them. */
export async function referenceContainer(): Promise<string | undefined> {
  const root = await packageRoot();
  const dir = root && path.join(root, "container");
  return dir && (await exists(path.join(dir, "Dockerfile"))) ? dir : undefined;
}

/** Copies the reference container into `target` (which must not hold a Dockerfile yet). */
export async function scaffoldContainer(source: string, target: string): Promise<string[]> {
  const copied: string[] = [];
  for (const entry of SCAFFOLD_ENTRIES) {
    const from = path.join(source, entry);
    if (!(await exists(from))) continue;
    await cp(from, path.join(target, entry), {
      recursive: true,
      errorOnExist: true,
      force: false,
      filter: (p) => !/(^|[/\\])(__pycache__|\.pytest_cache)([/\\]|$)|\.pyc$/.test(p),
    });
    copied.push(entry);
  }
  for (const model of ["sam3", "sam3d"]) await mkdir(path.join(target, "models", model), { recursive: true });
  return copied;
}

export async function hasDockerfile(dir: string): Promise<boolean> {
  return exists(path.join(dir, "Dockerfile"));
}

/** Bytes of every file under `dir`, or undefined when it is missing or empty. */
export async function directoryBytes(dir: string): Promise<number | undefined> {
  const files = await listTree(dir).catch(() => []);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  return total > 0 ? total : undefined;
}
