import { open, readFile } from "node:fs/promises";
import path from "node:path";
import type { Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../../engine/gate.js";
import {
  type CopyMapping,
  type DockerfileInput,
  execArgv,
  lineOf,
  looksExecForm,
  workdirAt,
} from "./parse.js";
import { topLevel } from "./python-script.js";
import { contextFileFor, findModule, isFile, localModules } from "./sources.js";

const PYTHON = /^python(\d+(\.\d+)?)?$/;
/** Python options that take the next word as their value. */
const PYTHON_WITH_VALUE = new Set(["-X", "-W", "-Q"]);
/** Servers whose command line takes exactly one application argument: `serve` is one too many. */
const ONE_APP_ARGUMENT = new Set(["uvicorn", "hypercorn"]);

const SERVE_FIX =
  'Use an exec-form ENTRYPOINT that starts the HTTP server and accepts `serve`, e.g. ENTRYPOINT ["python3", "-m", "gen3d_serving"] ' +
  "(SageMaker starts the container as `docker run IMAGE serve`; it must answer GET /ping and POST /invocations on 8080).";

const PHASE3 = "whether it starts an HTTP server on 8080 is decided in phase 3, which runs the image";

/** The first bytes of a file: enough for a `#!` line, without reading a binary whole. */
async function firstLine(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(128);
    const { bytesRead } = await handle.read(buffer, 0, 128, 0);
    return buffer.subarray(0, bytesRead).toString("latin1").split("\n")[0] ?? "";
  } finally {
    await handle.close();
  }
}

/** The Python file an exec-form argv runs, when it is in the build context. */
async function pythonSource(
  argv: string[],
  input: DockerfileInput,
  mappings: CopyMapping[],
  workdir: string,
): Promise<{ described: string; file?: string } | { bare: true }> {
  const program = path.posix.basename(argv[0] as string);
  if (!PYTHON.test(program)) {
    const file = await contextFileFor(argv[0] as string, mappings, input.contextDir, workdir);
    const python = file && (file.endsWith(".py") || /^#!.*python/.test(await firstLine(file)));
    return python ? { described: argv[0] as string, file } : { described: argv[0] as string };
  }
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === "-m" && argv[i + 1]) {
      const module = argv[i + 1] as string;
      const file = await findModule(input.contextDir, module);
      return file ? { described: `module ${module}`, file } : { described: `module ${module}` };
    }
    if (word === "-c") return { described: "an inline -c program" };
    if (PYTHON_WITH_VALUE.has(word)) i++;
    else if (!word.startsWith("-")) {
      const file = await contextFileFor(word, mappings, input.contextDir, workdir);
      return file ? { described: word, file } : { described: word };
    }
  }
  return { bare: true };
}

/** Does running this file only define things (and so exit at once)? A package's __init__ runs first. */
async function definesOnly(file: string, contextDir: string) {
  const local = await localModules(contextDir);
  const files = [file];
  const init = path.join(path.dirname(file), "__init__.py");
  if (path.basename(file) === "__main__.py" && (await isFile(init))) files.unshift(init);
  const defined: string[] = [];
  for (const f of files) {
    const source = await readFile(f, "utf8");
    const top = topLevel(source, (module) => local.has(module));
    if (!top.definesOnly) return undefined;
    defined.push(...top.defined);
  }
  return defined;
}

/**
 * ENTRYPOINT/CMD as `docker run IMAGE serve` runs them (the usual reason an endpoint never leaves Creating). What phase 1
 * can know from the files: exec form, where `serve` lands, and a script that only defines
 * functions. Whether a program serves HTTP is decided by running it, in phase 3.
 */
export async function entrypointGate(
  input: DockerfileInput,
  stage: Instruction[],
  mappings: CopyMapping[],
): Promise<GateResult> {
  const id = "dockerfile.entrypoint";
  const title = "`docker run IMAGE serve` reaches the entry point";
  const location = (line: number) => ({ location: { file: input.displayFile, line } });
  const entrypoint = stage.filter((i) => i.getKeyword() === "ENTRYPOINT").at(-1);
  const cmd = stage.filter((i) => i.getKeyword() === "CMD").at(-1);

  if (!entrypoint) {
    const servesOnPath = mappings.some((m) => path.posix.basename(m.destination) === "serve");
    if (servesOnPath)
      return gate(
        id,
        title,
        "pass",
        `no ENTRYPOINT; a \`serve\` executable is copied into the image: ${PHASE3}`,
      );
    return gate(
      id,
      title,
      "fail",
      `no ENTRYPOINT: \`docker run IMAGE serve\` replaces CMD${cmd ? ` (line ${lineOf(cmd)})` : ""} and runs a program named \`serve\`, which this image does not provide`,
      { hint: SERVE_FIX, ...location(cmd ? lineOf(cmd) : 1) },
    );
  }
  const line = lineOf(entrypoint);
  const argv = execArgv(entrypoint);
  if (!argv) {
    const why = looksExecForm(entrypoint)
      ? "is not a valid JSON array of strings, so Docker runs it in shell form"
      : "is in shell form";
    return gate(
      id,
      title,
      "fail",
      `ENTRYPOINT ${entrypoint.getArgumentsContent()} ${why}: it ignores the \`serve\` argument and runs under /bin/sh, which does not forward SIGTERM`,
      { hint: SERVE_FIX, ...location(line) },
    );
  }
  if (argv.length === 0)
    return gate(id, title, "fail", "ENTRYPOINT is an empty array", { hint: SERVE_FIX, ...location(line) });
  const evidence = { entrypoint: argv, effectiveCommand: [...argv, "serve"] };
  const program = path.posix.basename(argv[0] as string);
  const shown = JSON.stringify(argv);

  if (ONE_APP_ARGUMENT.has(program)) {
    return gate(
      id,
      title,
      "fail",
      `ENTRYPOINT ${shown} runs ${program}, which takes one application argument: \`docker run IMAGE serve\` adds \`serve\` as a second one and ${program} exits with a usage error`,
      { hint: SERVE_FIX, ...location(line), evidence },
    );
  }
  const workdir = workdirAt(stage, stage.indexOf(entrypoint));
  const source = await pythonSource(argv, input, mappings, workdir);
  if ("bare" in source) {
    return gate(id, title, "fail", `ENTRYPOINT ${shown} starts a bare Python interpreter`, {
      hint: SERVE_FIX,
      ...location(line),
      evidence,
    });
  }
  if (source.file) {
    const relative = path.relative(input.contextDir, source.file);
    const defined = await definesOnly(source.file, input.contextDir);
    if (defined) {
      const what = defined.length > 0 ? `only defines ${defined.slice(0, 4).join(", ")}` : "defines nothing";
      return gate(
        id,
        title,
        "fail",
        `ENTRYPOINT ${shown} runs ${relative}, which starts no HTTP server: it ${what} and runs nothing at its top level, so Python exits at once and the endpoint never leaves Creating`,
        { hint: SERVE_FIX, ...location(line), evidence: { ...evidence, source: relative, defined } },
      );
    }
    return gate(
      id,
      title,
      "pass",
      `ENTRYPOINT ${shown} (exec form) runs ${relative} with \`serve\`: ${PHASE3}`,
      {
        evidence: { ...evidence, source: relative, decidedIn: 3 },
      },
    );
  }
  const where = "described" in source ? source.described : program;
  return gate(id, title, "pass", `ENTRYPOINT ${shown} (exec form) runs ${where} with \`serve\`: ${PHASE3}`, {
    evidence: { ...evidence, decidedIn: 3 },
  });
}
