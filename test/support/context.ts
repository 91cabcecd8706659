import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type AwsClients, createAwsClients } from "../../src/adapters/aws.js";
import type { Docker } from "../../src/adapters/docker.js";
import type { AppContext } from "../../src/app/context.js";
import { parseConfig } from "../../src/config/load.js";
import { createIo } from "../../src/engine/output.js";
import { StateStore } from "../../src/engine/state.js";
import type { Clock, PhaseContext } from "../../src/phases/phase.js";
import { dockerUp, fakeClock } from "./fakes.js";
import { validConfig } from "./project.js";

export interface TestContextOptions {
  /** Project directory (config + container); a temp dir when absent. */
  dir?: string;
  config?: Record<string, unknown>;
  docker?: Docker;
  aws?: AwsClients;
  clock?: Clock;
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

/** An AppContext over a temp STATE.json, with fakes where the test gives none. */
export async function createTestContext(
  options: TestContextOptions = {},
): Promise<AppContext & { output: { stderr: string; stdout: string } }> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "gen3d-ctx-")));
  const raw = options.config ?? validConfig();
  const file = path.join(dir, "gen3d.config.json");
  await writeFile(file, JSON.stringify(raw, null, 2));
  const config = parseConfig(raw, file);
  const output = { stderr: "", stdout: "" };
  const io = createIo({
    env: { CI: "true" },
    stdout: (t) => {
      output.stdout += t;
    },
    stderr: (t) => {
      output.stderr += t;
    },
  });
  const clock = options.clock ?? fakeClock();
  return {
    output,
    loaded: { config, file, baseDir: dir, raw: JSON.stringify(raw), warnings: [] },
    config,
    io,
    state: await StateStore.open(path.join(dir, "STATE.json"), config.project.name, () => clock.now()),
    docker: options.docker ?? dockerUp(),
    aws: options.aws ?? createAwsClients(config.aws),
    clock,
    prompt: { confirm: async () => true },
    signal: options.signal ?? new AbortController().signal,
    env: options.env ?? {},
  };
}

export function withProgress(ctx: AppContext, lines: string[] = []): PhaseContext {
  return { ...ctx, progress: (line) => lines.push(line) };
}
