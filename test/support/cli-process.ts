import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** The built CLI (`npm run build` or `node scripts/build.mjs` first). */
export const BIN = path.resolve("bin/gen3d.js");

export type CliProcess = ChildProcess & {
  output: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
  /** What the user's Ctrl-C does: SIGINT to the whole foreground process group (gen3d and its docker children). */
  ctrlC(): void;
  /** SIGKILL to the whole process group, as `kill -9 -PGID` or a crashed terminal would. */
  killGroup(): void;
};

/**
 * The CLI as its own process group, like a command started from a shell, so a test can signal
 * the group the way a terminal does.
 */
export function spawnCli(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: "true", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (d) => (stderr += d));
  child.stdout?.on("data", (d) => (stdout += d));
  const output = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    stdout: string;
  }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr, stdout })));
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return Object.assign(child, { output, ctrlC: () => group("SIGINT"), killGroup: () => group("SIGKILL") });
}

export async function waitFor(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function phaseStatus(dir: string, id: number): Promise<string | undefined> {
  try {
    const state = JSON.parse(await readFile(path.join(dir, "STATE.json"), "utf8")) as {
      phases: Record<string, { status: string }>;
    };
    return state.phases[String(id)]?.status;
  } catch {
    return undefined;
  }
}

/** Containers (any state) whose name contains `name`, as `NAME STATE` lines. */
export function containersNamed(name: string): string[] {
  const listed = spawnSync(
    "docker",
    ["ps", "--all", "--filter", `name=${name}`, "--format", "{{.Names}} {{.State}}"],
    { encoding: "utf8" },
  );
  return listed.stdout.split("\n").filter(Boolean);
}
