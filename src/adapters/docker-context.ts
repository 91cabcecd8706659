import { lstat, readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** The build context the engine receives: .dockerignore applied with Docker's own rules. */
export interface IgnoreRules {
  ignores(relative: string): boolean;
  /** Whether some `!pattern` could re-include a path under this ignored directory. */
  mayReinclude(relativeDir: string): boolean;
}

/** .dockerignore with the engine's own matching rules (the @balena/dockerignore port of moby's). */
export async function ignoreRules(contextDir: string): Promise<IgnoreRules> {
  const text = await readFile(path.join(contextDir, ".dockerignore"), "utf8").catch(() => "");
  // A CommonJS module whose default export is the factory (and, bundled, its own `default`).
  type Factory = (options: { ignorecase: boolean }) => import("@balena/dockerignore").Ignore;
  const mod = (await import("@balena/dockerignore")) as unknown as {
    default: Factory & { default?: Factory };
  };
  const ig = (mod.default.default ?? mod.default)({ ignorecase: false }).add(text);
  const exceptions = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("!"))
    .map((l) => l.slice(1).replace(/^\/+/, ""));
  return {
    ignores: (relative) => ig.ignores(relative),
    mayReinclude: (dir) => exceptions.some((p) => p.startsWith(`${dir}/`) || /[*?[]/.test(p)),
  };
}

/** What the build context holds after .dockerignore (the Dockerfile and .dockerignore always go). */
export function contextFilter(rules: IgnoreRules, dockerfile: string) {
  return (relative: string, isDirectory: boolean): boolean => {
    if (relative === "." || relative === "") return true;
    if (relative === dockerfile || relative === ".dockerignore") return true;
    if (!rules.ignores(relative)) return true;
    return isDirectory && rules.mayReinclude(relative);
  };
}

export async function contextSize(
  contextDir: string,
  included: (relative: string, isDirectory: boolean) => boolean,
): Promise<number> {
  let total = 0;
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(path.join(contextDir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (!included(child, entry.isDirectory())) continue;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) total += (await lstat(path.join(contextDir, child))).size;
    }
  }
  await walk("");
  return total;
}
