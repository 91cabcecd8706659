import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { GlobalOptions, Runtime } from "./engine/app.js";
import { Gen3dError, toGen3dError } from "./engine/errors.js";

function phaseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10)
    throw new InvalidArgumentError("expected a phase number from 1 to 10");
  return n;
}

function program(runtime: Runtime, setCode: (code: number) => void): Command {
  const cli = new Command("gen3d")
    .description(
      "Deploy the Gen3D inference container to SageMaker Async Inference, one verified phase at a time.",
    )
    .version("0.1.0")
    .option("-c, --config <file>", "config file", "gen3d.config.json")
    .option("--state <file>", "deployment record (default: STATE.json next to the config)")
    .option("--json", "print one JSON document on stdout; human text goes to stderr")
    .option("-y, --yes", "never prompt; answer yes (implied by CI=true)")
    .option("--verbose", "show stack traces and debug detail")
    .exitOverride()
    .configureOutput({ writeOut: (s) => runtime.stdout(s), writeErr: (s) => runtime.stderr(s) })
    .showSuggestionAfterError(true);

  const globals = (command: Command) => command.optsWithGlobals() as GlobalOptions;
  const runFlags = (command: Command) =>
    command
      .addOption(new Option("--from <n>", "start at phase n").argParser(phaseNumber))
      .addOption(new Option("--to <n>", "stop after phase n").argParser(phaseNumber))
      .option("--force", "re-run phases even when their inputs are unchanged")
      .option("--dry-run", "show what would run, and why, without doing it");

  runFlags(
    cli
      .command("deploy")
      .description("run phases 1→10, skipping those already passed whose inputs did not change"),
  )
    .addOption(new Option("--only <n>", "run only phase n").argParser(phaseNumber))
    .action(async (options, command: Command) => {
      const { deployCommand } = await import("./commands/deploy.js");
      setCode(await deployCommand(globals(command), runtime, options));
    });

  runFlags(
    cli.command("resume").description("continue a stopped run from the first phase not passed"),
  ).action(async (options, command: Command) => {
    const { deployCommand } = await import("./commands/deploy.js");
    setCode(await deployCommand(globals(command), runtime, { ...options, resume: true }));
  });

  cli
    .command("verify")
    .description(
      "check one phase against fresh evidence; the exit code is the verdict, STATE.json is not written",
    )
    .requiredOption("--phase <n>", "phase number", phaseNumber)
    .option("--recorded", "judge the evidence the last run recorded instead (labelled with its date)")
    .option("--update", "write the fresh evidence to STATE.json (takes the state lock)")
    .addHelpText(
      "after",
      [
        "",
        "What fresh evidence touches, per phase:",
        "  2      inspects the local image",
        "  3      runs the local container test again on the current image (starts a container,",
        "         writes the test's objects to S3 as phase 3 does; removed on exit or Ctrl-C)",
        "  4      reads the registry",
        "  5-8    reads SageMaker, Application Auto Scaling and CloudWatch (Describe* only)",
        "  9      submits one new async job per task through the endpoint: creates S3 objects",
        "         under the input and output prefixes, and may scale the endpoint out from zero",
        "  10     reads the endpoint's instance count",
        "--recorded reads STATE.json (and, as before, the current image ID for phase 3).",
      ].join("\n"),
    )
    .action(async (options, command: Command) => {
      const { verifyCommand } = await import("./commands/verify.js");
      setCode(await verifyCommand(globals(command), runtime, options));
    });

  cli
    .command("status")
    .description("what STATE.json records, per phase, plus artifacts")
    .option("--live", "also ask AWS what exists now and mark drift")
    .action(async (options: { live?: boolean }, command: Command) => {
      if (options.live) {
        const { statusLiveCommand } = await import("./commands/status-live.js");
        setCode(await statusLiveCommand(globals(command), runtime));
        return;
      }
      const { statusCommand } = await import("./commands/status.js");
      setCode(await statusCommand(globals(command), runtime));
    });

  cli
    .command("plan")
    .description(
      "what deploy would do, and why, without doing it; reads what each passed phase produced to show drift",
    )
    .addOption(new Option("--from <n>", "start at phase n").argParser(phaseNumber))
    .addOption(new Option("--to <n>", "stop after phase n").argParser(phaseNumber))
    .action(async (options, command: Command) => {
      const { deployCommand } = await import("./commands/deploy.js");
      setCode(await deployCommand(globals(command), runtime, { ...options, dryRun: true }));
    });

  cli
    .command("init")
    .description("write gen3d.config.json, interactively or from flags")
    .option("--project <name>", "project name")
    .option("--region <region>", "AWS region")
    .option("--profile <name>", "AWS profile")
    .option("--bucket <name>", "S3 bucket")
    .option("--role-arn <arn>", "SageMaker execution role ARN")
    .option("--repository <name>", "ECR repository")
    .option("--instance-type <type>", "SageMaker instance type")
    .option("--endpoint <url>", "AWS endpoint override (local emulator)")
    .option("--registry <host:port>", "registry standing in for ECR (with --endpoint)")
    .option("--image-version <version>", "image version")
    .option("--context-dir <dir>", "container build context")
    .option("--force", "overwrite an existing config")
    .action(async (options, command: Command) => {
      const { initCommand } = await import("./commands/init.js");
      setCode(await initCommand(globals(command), runtime, options));
    });

  cli
    .command("cost")
    .description("monthly cost of async (min 0) vs an always-on real-time endpoint, for this config")
    .action(async (_options, command: Command) => {
      const { costCommand } = await import("./commands/cost.js");
      setCode(await costCommand(globals(command), runtime));
    });

  cli
    .command("destroy")
    .description("remove what gen3d created (alarm, policies, scalable target, endpoint, configs, model)")
    .option("--delete-images", "also delete the pushed ECR images")
    .option("--delete-s3", "also delete gen3d's S3 prefixes (outputs, failures, embeddings)")
    .action(async (options, command: Command) => {
      const { destroyCommand } = await import("./commands/destroy.js");
      setCode(await destroyCommand(globals(command), runtime, options));
    });

  cli
    .command("invoke")
    .description("one async invocation end to end: upload, submit, wait, download the results")
    .option("--task <task>", "get_embedding, segment or generate_3d")
    .option("--image <file>", "the picture to send (PNG or JPEG)")
    .option("--point <x,y>", "segment: a point on the object, in pixels (default: the centre)")
    .option("--box <x1,y1,x2,y2>", "segment: a box around the object, in pixels")
    .option("--mask <file>", "generate_3d: the object's mask, a PNG of the picture's size")
    .option("--out <dir>", "where the results go (default: ./gen3d-results/ID)")
    .option("--no-wait", "submit, print the InferenceId and output location, and return")
    .option("--result <id>", "fetch the results of a job submitted earlier with --no-wait")
    .action(async (options, command: Command) => {
      const { invokeCommand } = await import("./commands/invoke.js");
      setCode(await invokeCommand(globals(command), runtime, options));
    });

  cli
    .command("logs")
    .description("tail the endpoint's CloudWatch logs")
    .option("-f, --follow", "keep following new lines")
    .option("--since <minutes>", "how far back to start", "30")
    .action(async (options, command: Command) => {
      const { logsCommand } = await import("./commands/logs.js");
      setCode(await logsCommand(globals(command), runtime, options));
    });

  return cli;
}

/** The whole program, in-process: parses argv, runs one command, returns its exit code. */
export async function main(argv: readonly string[], runtime: Runtime): Promise<number> {
  let code = 0;
  const cli = program(runtime, (c) => {
    code = c;
  });
  try {
    await cli.parseAsync([...argv], { from: "user" });
    return code;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are already printed.
      return thrown.exitCode === 0 ? 0 : 2;
    }
    const { createIo, errorJson, renderError } = await import("./engine/output.js");
    const json = argv.includes("--json");
    const io = createIo({
      json,
      verbose: argv.includes("--verbose"),
      env: runtime.env,
      isTTY: runtime.isTTY,
    });
    if (json) runtime.stdout(`${JSON.stringify(errorJson(thrown), null, 2)}\n`);
    runtime.stderr(renderError(io, thrown));
    return thrown instanceof Gen3dError ? thrown.exitCode : toGen3dError(thrown).exitCode;
  }
}

/** The only place that touches the process: argv, streams, signals, exit code. */
export function run(argv: readonly string[]): void {
  // The SDK warns on every run under Node 20 about its 2027 support window; README says so once.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\n${signal}: stopping after recording the interrupted phase… (again to force)\n`);
    controller.abort(Object.assign(new Error(`received ${signal}`), { name: "AbortError" }));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const runtime: Runtime = {
    stdout: (text) => process.stdout.write(text),
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
      process.stderr.write(`internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
