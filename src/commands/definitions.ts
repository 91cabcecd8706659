import { InvalidArgumentError, Option } from "commander";
import type { GlobalOptions, Runtime } from "../app/runtime.js";

/**
 * Every command as data: cli.ts maps over this list to build the program, so a command's name,
 * flags, help examples and handler live together. Handlers are imported on first use, so
 * `gen3d --help` and `gen3d status` never load the AWS SDK or listr2.
 */
export interface CommandDefinition {
  name: string;
  description: string;
  options: () => Option[];
  /** Shown under "Examples:" in the command's --help. */
  examples: string[];
  /** Extra help text after the examples. */
  helpAfter?: string;
  run(globals: GlobalOptions, runtime: Runtime, options: Record<string, unknown>): Promise<number>;
}

export function phaseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10)
    throw new InvalidArgumentError("expected a phase number from 1 to 10");
  return n;
}

function positive(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected ${what}, a number ≥ 0`);
    return n;
  };
}

const range = () => [
  new Option("--from <n>", "start at phase n").argParser(phaseNumber),
  new Option("--to <n>", "stop after phase n").argParser(phaseNumber),
];
const runFlags = () => [
  ...range(),
  new Option("--force", "re-run phases even when their inputs are unchanged"),
  new Option("--dry-run", "show what would run, and why, without doing it (as `gen3d plan`)"),
];

const VERIFY_HELP = [
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
].join("\n");

export const COMMANDS: readonly CommandDefinition[] = [
  {
    name: "init",
    description: "write gen3d.config.json, interactively or from flags",
    options: () => [
      new Option("--project <name>", "project name"),
      new Option("--region <region>", "AWS region"),
      new Option("--profile <name>", "AWS profile"),
      new Option("--bucket <name>", "S3 bucket"),
      new Option("--role-arn <arn>", "SageMaker execution role ARN"),
      new Option("--repository <name>", "ECR repository"),
      new Option("--instance-type <type>", "SageMaker instance type"),
      new Option("--endpoint <url>", "AWS endpoint override (local emulator)"),
      new Option("--registry <host:port>", "registry standing in for ECR (with --endpoint)"),
      new Option("--image-version <version>", "image version"),
      new Option("--context-dir <dir>", "container build context"),
      new Option("--force", "overwrite an existing config"),
    ],
    examples: [
      "gen3d init",
      "gen3d init --project gen3d --bucket my-bucket --role-arn arn:aws:iam::123456789012:role/gen3d-sagemaker --yes",
    ],
    run: async (globals, runtime, options) =>
      (await import("./init.js")).initCommand(globals, runtime, options),
  },
  {
    name: "deploy",
    description: "run phases 1→10, skipping those already passed whose inputs did not change",
    options: () => [...runFlags(), new Option("--only <n>", "run only phase n").argParser(phaseNumber)],
    examples: ["gen3d deploy", "gen3d deploy --to 3", "gen3d deploy --only 7 --force"],
    run: async (globals, runtime, options) =>
      (await import("./deploy.js")).deployCommand(globals, runtime, options),
  },
  {
    name: "resume",
    description: "continue a stopped run from the first phase not passed",
    options: runFlags,
    examples: ["gen3d resume", "gen3d resume --to 8"],
    run: async (globals, runtime, options) =>
      (await import("./deploy.js")).deployCommand(globals, runtime, { ...options, resume: true }),
  },
  {
    name: "plan",
    description:
      "what deploy would do, and why, without doing it; reads what each passed phase produced to show drift",
    options: range,
    examples: ["gen3d plan", "gen3d plan --from 5 --json"],
    run: async (globals, runtime, options) =>
      (await import("./deploy.js")).deployCommand(globals, runtime, { ...options, dryRun: true }),
  },
  {
    name: "verify",
    description:
      "check one phase against fresh evidence; the exit code is the verdict, STATE.json is not written",
    options: () => [
      new Option("--phase <n>", "phase number").argParser(phaseNumber).makeOptionMandatory(),
      new Option("--recorded", "judge the evidence the last run recorded instead (labelled with its date)"),
      new Option("--update", "write the fresh evidence to STATE.json (takes the state lock)"),
    ],
    examples: [
      "gen3d verify --phase 1",
      "gen3d verify --phase 7 --json",
      "gen3d verify --phase 3 --recorded",
    ],
    helpAfter: VERIFY_HELP,
    run: async (globals, runtime, options) =>
      (await import("./verify.js")).verifyCommand(globals, runtime, options as never),
  },
  {
    name: "status",
    description: "what STATE.json records, per phase, plus artifacts",
    options: () => [new Option("--live", "also ask AWS what exists now and mark drift")],
    examples: ["gen3d status", "gen3d status --live", "gen3d --state staging.STATE.json status --json"],
    run: async (globals, runtime, options) =>
      options.live
        ? (await import("./status-live.js")).statusLiveCommand(globals, runtime)
        : (await import("./status.js")).statusCommand(globals, runtime),
  },
  {
    name: "cost",
    description:
      "monthly cost of async (min 0) vs an always-on real-time endpoint, for this config or these flags",
    options: () => [
      new Option("--jobs-per-day <n>", "jobs a day (default: cost.jobsPerDay)").argParser(
        positive("jobs a day"),
      ),
      new Option("--seconds-per-job <s>", "seconds one job runs (default: cost.secondsPerJob)").argParser(
        positive("seconds per job"),
      ),
      new Option("--region <region>", "price in this region (default: aws.region)"),
      new Option("--instance-type <type>", "price this instance type (default: instance.type)"),
    ],
    examples: ["gen3d cost", "gen3d cost --jobs-per-day 500 --seconds-per-job 20 --region eu-west-1"],
    run: async (globals, runtime, options) =>
      (await import("./cost.js")).costCommand(globals, runtime, options),
  },
  {
    name: "destroy",
    description: "remove what gen3d created (alarm, policies, scalable target, endpoint, configs, model)",
    options: () => [
      new Option("--delete-images", "also delete the pushed ECR images"),
      new Option("--delete-s3", "also delete gen3d's S3 prefixes (outputs, failures, embeddings)"),
    ],
    examples: ["gen3d destroy", "gen3d destroy --delete-images --delete-s3 --yes"],
    run: async (globals, runtime, options) =>
      (await import("./destroy.js")).destroyCommand(globals, runtime, options),
  },
  {
    name: "invoke",
    description: "one async invocation end to end: upload, submit, wait, download the results",
    options: () => [
      new Option("--task <task>", "get_embedding, segment or generate_3d"),
      new Option("--image <file>", "the picture to send (PNG or JPEG)"),
      new Option("--point <x,y>", "segment: a point on the object, in pixels (default: the centre)"),
      new Option("--box <x1,y1,x2,y2>", "segment: a box around the object, in pixels"),
      new Option("--mask <file>", "generate_3d: the object's mask, a PNG of the picture's size"),
      new Option("--out <dir>", "where the results go (default: ./gen3d-results/ID)"),
      new Option("--no-wait", "submit, print the InferenceId and output location, and return"),
      new Option("--result <id>", "fetch the results of a job submitted earlier with --no-wait"),
    ],
    examples: [
      "gen3d invoke --task segment --image photo.png --point 320,240",
      "gen3d invoke --task generate_3d --image photo.png --mask mask.png --no-wait",
      "gen3d invoke --result gen3d-invoke-1a2b3c",
    ],
    run: async (globals, runtime, options) =>
      (await import("./invoke.js")).invokeCommand(globals, runtime, options as never),
  },
  {
    name: "logs",
    description: "tail the endpoint's CloudWatch logs",
    options: () => [
      new Option("-f, --follow", "keep following new lines"),
      new Option("--since <minutes>", "how far back to start").default("30"),
    ],
    examples: ["gen3d logs", "gen3d logs -f --since 5"],
    run: async (globals, runtime, options) =>
      (await import("./logs.js")).logsCommand(globals, runtime, options),
  },
];

export function findCommand(name: string | undefined): CommandDefinition | undefined {
  return COMMANDS.find((c) => c.name === name);
}
