import { Command, CommanderError } from "commander";
import type { GlobalOptions, Runtime } from "./app/context.js";
import { COMMANDS, type CommandDefinition, findCommand } from "./commands/definitions.js";
import { EXIT, UserError } from "./engine/errors.js";
import { colorEnabled, VERSION, withoutColor } from "./engine/output.js";

const GLOBAL_EXAMPLES = [
  "gen3d init",
  "gen3d plan",
  "gen3d deploy",
  "gen3d status --json",
  "gen3d --config staging.config.json --state staging.STATE.json deploy",
];

function examplesHelp(examples: readonly string[], after?: string): string {
  const text = `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`;
  return after ? `${text}\n${after}\n` : text;
}

/** Builds commander's program from the command definitions; nothing here runs a command. */
function program(runtime: Runtime, json: boolean, setCode: (code: number) => void): Command {
  const cli = new Command("gen3d")
    .description(
      "Deploy the Gen3D inference container to SageMaker Async Inference, one verified phase at a time.",
    )
    .version(VERSION, "-V, --version", "print gen3d's version")
    .option("-c, --config <file>", "config file", "gen3d.config.json")
    .option("--state <file>", "deployment record (default: STATE.json next to the config)")
    .option("--json", "print one JSON document on stdout; human text goes to stderr")
    .option("-y, --yes", "never prompt; answer yes (implied by CI=true)")
    .option("--verbose", "show stack traces, hashes and timestamps")
    .option("--no-color", "no colours (also NO_COLOR=1; FORCE_COLOR=1 forces them)")
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => runtime.stdout(s),
      writeErr: (s) => runtime.stderr(s),
      // Under --json a usage error becomes one JSON document, printed by main().
      // An invalid option value is printed by main() in gen3d's own Error [USAGE] form.
      outputError: (s, write) => {
        if (!json && !s.includes("is invalid")) write(s);
      },
    })
    .showSuggestionAfterError(true)
    .addHelpText("after", examplesHelp(GLOBAL_EXAMPLES));

  for (const definition of COMMANDS) addCommand(cli, definition, runtime, setCode);
  return cli;
}

function addCommand(
  cli: Command,
  definition: CommandDefinition,
  runtime: Runtime,
  setCode: (n: number) => void,
) {
  const command = cli.command(definition.name).description(definition.description);
  for (const option of definition.options()) command.addOption(option);
  command.addHelpText("after", examplesHelp(definition.examples, definition.helpAfter));
  command.action(async (options: Record<string, unknown>, self: Command) => {
    const globals = { ...(self.optsWithGlobals() as GlobalOptions), command: definition.name };
    setCode(await definition.run(globals, runtime, options));
  });
}

/** The command named on the line, for the JSON envelope of an error that stopped the parse. */
function commandIn(argv: readonly string[]): string {
  return argv.find((a) => findCommand(a) !== undefined) ?? "gen3d";
}

/** The whole program, in-process: parses argv, runs one command, returns its exit code. */
export async function main(argv: readonly string[], runtime: Runtime): Promise<number> {
  let code = 0;
  const json = argv.includes("--json");
  const cli = program(runtime, json, (c) => {
    code = c;
  });
  try {
    await cli.parseAsync([...argv], { from: "user" });
    return code;
  } catch (thrown) {
    let failure: unknown = thrown;
    if (thrown instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are already printed.
      if (thrown.exitCode === 0) return 0;
      if (!json && thrown.code !== "commander.invalidArgument") return EXIT.badInput;
      const [first = "", ...rest] = (
        thrown.code === "commander.help" ? "no command given" : thrown.message.replace(/^error: /, "")
      ).split("\n");
      // commander appends "(Did you mean --from?)" on a line of its own: a hint, not the message.
      const suggestion = rest
        .join(" ")
        .replace(/^\s*\((.*)\)\s*$/, "$1")
        .trim();
      const named = commandIn(argv);
      const help =
        named === "gen3d"
          ? "Run `gen3d --help` for the commands and global options."
          : `Run \`gen3d ${named} --help\` for the flags it takes.`;
      failure = new UserError("USAGE", first.trim(), { hint: suggestion ? `${suggestion} ${help}` : help });
    }
    const { createIo, errorJson, renderError } = await import("./engine/output.js");
    const io = createIo({
      json,
      verbose: argv.includes("--verbose"),
      noColor: argv.includes("--no-color"),
      env: runtime.env,
      isTTY: runtime.isTTY,
    });
    if (json) runtime.stdout(errorJson(commandIn(argv), failure));
    runtime.stderr(renderError(io, failure));
    const { toGen3dError } = await import("./engine/errors.js");
    return toGen3dError(failure).exitCode;
  }
}

/** The only place that touches the process: argv, streams, signals, exit code. */
/**
 * Colour is judged on stderr, where the human is; stdout redirected to a file or a pipe (`gen3d plan
 * > plan.txt`) gets the same text without colour codes, unless FORCE_COLOR asks for them.
 */
export function stdoutWriter(
  write: (text: string) => unknown,
  stdoutIsTTY: boolean,
  env: Readonly<Record<string, string | undefined>>,
): (text: string) => void {
  const keep = colorEnabled({ env, isTTY: stdoutIsTTY });
  return (text) => void write(keep ? text : withoutColor(text));
}

export function run(argv: readonly string[]): void {
  // The SDK warns on every run under Node 20 about its 2027 support window; README says so once.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\n${signal}: stopping after recording the interrupted phase… (again to force)\n`);
    controller.abort(Object.assign(new Error(`received ${signal}`), { name: "AbortError" }));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const runtime: Runtime = {
    stdout: stdoutWriter((text) => process.stdout.write(text), Boolean(process.stdout.isTTY), process.env),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
    signal: controller.signal,
  };
  main(argv, runtime).then(
    (code) => {
      process.exitCode = code;
      // Open sockets (SDK keep-alive) must not hold the process: leave once output has drained.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(
        `gen3d stopped on a bug: ${error instanceof Error ? error.stack : String(error)}\nReport it with the command you ran and this output.\n`,
      );
      process.exitCode = EXIT.internal;
    },
  );
}
