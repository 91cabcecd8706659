import type { AwsClients } from "../../src/adapters/aws.js";
import type { Runtime } from "../../src/app/context.js";
import { main } from "../../src/cli.js";
import { TEST_ENV } from "../aws/support/context.js";

/**
 * The CLI through its real entry point (`main(argv, runtime)`) in this process, in `dir`, without a
 * terminal, with the emulator's credentials (TEST_ENV) plus `env`; `aws` replaces the clients the
 * CLI would build from the config. What it wrote to stdout and stderr comes back with the exit code.
 */
export async function runCli(
  dir: string,
  argv: string[],
  options: { env?: Record<string, string>; aws?: AwsClients } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const runtime: Runtime = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env: { ...TEST_ENV, ...options.env },
    cwd: dir,
    isTTY: false,
    signal: new AbortController().signal,
    ...(options.aws ? { aws: options.aws } : {}),
  };
  const code = await main(argv, runtime);
  return { code, ...out };
}
