import path from "node:path";
import type { Instruction } from "dockerfile-ast";
import { runContexts } from "./env.js";
import { stagesOf, workdirAt } from "./parse.js";
import { runCommands, type ShellCommand, throughEnv } from "./shell.js";

/** `name==1.2.3` or `name===x` with one exact version; `==3.*` is a range, not a pin. */
export function isPinned(spec: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*===?\s*[^\s,;*<>=!~]+$/.test(spec.trim());
}

/** A path, URL or VCS reference: not a name to pin (its content is whatever the path holds). */
export function isLocation(spec: string): boolean {
  return /^(\.|\/|~|[a-z+]+:\/\/|git\+)|@|\.(whl|tar\.gz|zip|tgz)$/i.test(spec);
}

const PIP_WITH_VALUE = new Set([
  "-c",
  "--constraint",
  "-e",
  "--editable",
  "-i",
  "--index-url",
  "--extra-index-url",
  "-f",
  "--find-links",
  "-t",
  "--target",
  "--prefix",
  "--root",
  "--platform",
  "--python-version",
  "--implementation",
  "--abi",
  "--progress-bar",
  "--src",
  "--upgrade-strategy",
  "--global-option",
  "-C",
  "--config-settings",
  "--trusted-host",
  "--cache-dir",
  "--log",
  "--proxy",
  "--retries",
  "--timeout",
  "--exists-action",
  "--cert",
  "--client-cert",
  "--report",
  "--no-binary",
  "--only-binary",
  "--python",
  "--root-user-action",
  "--index",
  "--keyring-provider",
]);

/** The words after `install` when a command is pip's install (`pip3 install`, `python -m pip install`, `uv pip install`). */
export function pipInstallArgs(command: ShellCommand): (string | undefined)[] | undefined {
  const { args } = throughEnv(command);
  const program = args[0]?.split("/").at(-1) ?? "";
  let rest: (string | undefined)[] | undefined;
  if (/^pip(\d+(\.\d+)?)?$/.test(program)) rest = args.slice(1);
  else if (/^python(\d+(\.\d+)?)?$/.test(program)) {
    const m = args.indexOf("-m");
    if (m > 0 && args[m + 1] === "pip") rest = args.slice(m + 2);
  } else if (program === "uv" && args[1] === "pip") rest = args.slice(2);
  if (!rest) return undefined;
  const install = rest.indexOf("install");
  return install >= 0 && rest.slice(0, install).every((w) => w?.startsWith("-"))
    ? rest.slice(install + 1)
    : undefined;
}

export interface PipInstall {
  line: number;
  /** Requirement specs named on the command line without an exact pin. */
  unpinned: string[];
  /** `-r FILE` arguments, as paths inside the image (undefined: built from a variable unknown here). */
  requirementFiles: { path: string | undefined; workdir: string }[];
}

/** Splits a pip install's words into specs and -r files. */
export function readPipArgs(words: (string | undefined)[]): {
  unpinned: string[];
  requirementFiles: (string | undefined)[];
} {
  const unpinned: string[] = [];
  const requirementFiles: (string | undefined)[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === undefined) continue;
    if (word === "-r" || word === "--requirement") {
      requirementFiles.push(words[i + 1]);
      i++;
    } else if (/^(-r|--requirement=)./.test(word)) {
      requirementFiles.push(word.replace(/^(-r|--requirement=)/, ""));
    } else if (PIP_WITH_VALUE.has(word)) i++;
    else if (word.startsWith("-")) continue;
    else if (!isLocation(word) && !isPinned(word)) unpinned.push(word);
  }
  return { unpinned, requirementFiles };
}

/** Every `pip install` in a RUN line, with the WORKDIR its relative -r paths resolve against. */
export async function pipInstalls(
  instructions: Instruction[],
  buildArgs: Record<string, string>,
): Promise<PipInstall[]> {
  const workdirs = new Map<Instruction, string>();
  for (const stage of stagesOf(instructions)) {
    for (const [index, instruction] of stage.entries()) workdirs.set(instruction, workdirAt(stage, index));
  }
  const out: PipInstall[] = [];
  for (const run of runContexts(instructions, buildArgs)) {
    const script = await runCommands(run.instruction, run.vars);
    if ("error" in script) continue; // reported by the apt-get gate
    let workdir = workdirs.get(run.instruction) ?? "/";
    for (const command of script.commands) {
      const target = command.args[1];
      if (command.args[0] === "cd" && target) workdir = path.posix.resolve(workdir, target);
      const words = pipInstallArgs(command);
      if (!words) continue;
      const read = readPipArgs(words);
      out.push({
        line: command.line,
        unpinned: read.unpinned,
        requirementFiles: read.requirementFiles.map((file) => ({ path: file, workdir })),
      });
    }
  }
  return out;
}
