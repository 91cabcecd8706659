import { existsSync } from "node:fs";
import { access, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { configPath, type GlobalOptions, ioFor, type Runtime } from "../app/context.js";
import { INSTANCE_CATALOG } from "../catalog/instances.js";
import { parseConfig } from "../config/load.js";
import { UserError } from "../engine/errors.js";
import { printJson } from "../engine/output.js";
import { closingLines, DEFAULT_BYTES, type InitOptions, initialConfig } from "./init-config.js";
import { flagProblems, initRules, type Rule } from "./init-rules.js";
import {
  directoryBytes,
  hasDockerfile,
  referenceContainer,
  scaffoldContainer,
  schemaFile,
} from "./init-scaffold.js";

const REQUIRED: (keyof InitOptions)[] = ["project", "bucket", "roleArn"];
const FLAG: Record<string, string> = { project: "--project", bucket: "--bucket", roleArn: "--role-arn" };

/** The prompts init asks through; @inquirer/prompts in a terminal. */
export interface InitPrompts {
  input(question: { message: string; default?: string; validate?: Rule }): Promise<string>;
  select<T extends string>(question: {
    message: string;
    choices: { name: string; value: T }[];
    default?: T;
  }): Promise<T>;
  confirm(question: { message: string; default?: boolean }): Promise<boolean>;
}

async function inquirerPrompts(signal: AbortSignal): Promise<InitPrompts> {
  const { input, select, confirm } = await import("@inquirer/prompts");
  // Prompts are for a human: stderr, so stdout stays the command's result.
  const context = { output: process.stderr, signal };
  return {
    input: (q) => input(q, context),
    select: (q) => select(q, context),
    confirm: (q) => confirm(q, context),
  };
}

/** Instance types with one GPU big enough for the largest enabled model, cheapest first. */
function instanceChoices(models: "both" | "sam3") {
  const needGb = models === "sam3" ? 24 : 48;
  return INSTANCE_CATALOG.filter((i) => i.gpus === 1 && i.gpuMemoryGb >= needGb)
    .sort((a, b) => a.pricePerHour - b.pricePerHour)
    .slice(0, 5)
    .map((i) => ({
      name: `${i.type} — ${i.gpu} ${i.gpuMemoryGb} GB, ${i.vcpu} vCPU, ~$${i.pricePerHour.toFixed(2)}/h (us-east-1)`,
      value: i.type,
    }));
}

/** Asks what flags did not say; every answer is checked as typed and asked again until valid. */
async function ask(options: InitOptions, prompts: InitPrompts, baseDir: string): Promise<InitOptions> {
  const answers = { ...options };
  const valid = (rule: Rule, value: string | undefined) => value !== undefined && rule(value) === true;
  const text = async (key: keyof typeof initRules, message: string, fallback?: string) => {
    const given = answers[key];
    if (valid(initRules[key], given)) return given as string;
    const answer = await prompts.input({ message, default: given ?? fallback, validate: initRules[key] });
    return answer.trim();
  };
  answers.project = await text("project", "Project name (used in resource names)", "gen3d");
  answers.region = await text("region", "AWS region (where SageMaker runs)", "us-east-1");
  answers.bucket = await text("bucket", "S3 bucket for inputs, outputs and embeddings");
  answers.repository = await text("repository", "ECR repository for the image", answers.project);
  answers.roleArn = await text("roleArn", "SageMaker execution role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
  answers.models ??= await prompts.select({
    message: "Models",
    choices: [
      { name: "SAM 3 + SAM 3D Objects (segmentation and 3D generation; needs a 48 GB GPU)", value: "both" },
      { name: "SAM 3 only (embeddings and segmentation; SAM 3D Objects disabled)", value: "sam3" },
    ],
    default: "both",
  });
  answers.instanceType ??= await prompts.select({
    message: "Instance type",
    choices: instanceChoices(answers.models),
  });
  if (!answers.contextDir && !(await hasDockerfile(path.join(baseDir, "container")))) {
    const reference = await referenceContainer();
    const scaffold =
      reference !== undefined &&
      (await prompts.confirm({
        message:
          "No ./container here. Copy gen3d's reference container (Dockerfile and serving code, no weights) into ./container?",
        default: true,
      }));
    if (!scaffold) {
      answers.contextDir = await prompts.input({
        message: "Build context: the directory holding your Dockerfile, relative to this one",
        validate: (v) => contextRule(baseDir, v),
      });
    }
  }
  return answers;
}

function contextRule(baseDir: string, value: string): true | string {
  return existsSync(path.join(baseDir, value.trim(), "Dockerfile"))
    ? true
    : `${path.join(baseDir, value.trim())} has no Dockerfile`;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** `gen3d init`: writes gen3d.config.json from prompts, or entirely from flags when non-interactive. */
export async function initCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: InitOptions,
  prompts?: InitPrompts,
): Promise<number> {
  const io = ioFor(globals, runtime);
  const file = configPath(globals, runtime);
  const baseDir = path.dirname(file);
  if (!options.force && (await exists(file))) {
    throw new UserError("CONFIG_EXISTS", `${file} already exists`, { hint: "Pass --force to overwrite it." });
  }
  let answers: InitOptions;
  try {
    answers = io.nonInteractive
      ? options
      : await ask(options, prompts ?? (await inquirerPrompts(runtime.signal)), baseDir);
  } catch (error) {
    if (error instanceof Error && ["ExitPromptError", "AbortPromptError"].includes(error.name))
      throw new UserError("INIT_CANCELLED", "init was cancelled: nothing was written");
    throw error;
  }
  const missing = REQUIRED.filter((k) => !answers[k]);
  if (missing.length > 0) {
    throw new UserError(
      "INIT_MISSING",
      `cannot write a config without ${missing.map((k) => FLAG[k]).join(", ")}`,
      { hint: `Pass ${missing.map((k) => `${FLAG[k]} …`).join(" ")} (no terminal to ask in).` },
    );
  }
  const problems = flagProblems(answers);
  if (problems.length > 0) {
    throw new UserError("INIT_INVALID", "cannot write a config with these values", {
      details: problems.map((p) => `• ${p}`),
      hint: io.json
        ? "Correct the flags named in details and run `gen3d init` again."
        : "Correct the flags above and run `gen3d init` again.",
    });
  }

  // The build context: the user's own, or the reference container copied in.
  let contextDir = answers.contextDir ?? "container";
  let scaffolded = false;
  if (!(await hasDockerfile(path.resolve(baseDir, contextDir)))) {
    const reference = await referenceContainer();
    if (answers.contextDir || !reference) {
      throw new UserError("CONTEXT_MISSING", `${path.resolve(baseDir, contextDir)} holds no Dockerfile`, {
        hint: answers.contextDir
          ? "Pass --context-dir with the directory that holds your Dockerfile, relative to the config."
          : "This installation of gen3d ships no reference container: pass --context-dir with your own.",
      });
    }
    contextDir = "container";
    await scaffoldContainer(reference, path.join(baseDir, contextDir));
    scaffolded = true;
  }
  const measured = {
    sam3: await directoryBytes(path.join(baseDir, contextDir, "models", "sam3")),
    sam3d: await directoryBytes(path.join(baseDir, contextDir, "models", "sam3d")),
  };
  const schema = await schemaFile();
  const config = initialConfig({
    ...answers,
    project: answers.project as string,
    bucket: answers.bucket as string,
    roleArn: answers.roleArn as string,
    contextDir,
    modelBytes: { sam3: measured.sam3 ?? DEFAULT_BYTES.sam3, sam3d: measured.sam3d ?? DEFAULT_BYTES.sam3d },
    // Relative to the config, so an editor finds it wherever the config and package live.
    ...(schema ? { schema: path.relative(baseDir, schema).split(path.sep).join("/") } : {}),
  });
  try {
    parseConfig(config, file);
  } catch (error) {
    // A rule across fields (or one no flag rule knows): named by its key, since no file exists yet.
    if (error instanceof UserError && error.code === "CONFIG_INVALID")
      throw new UserError("INIT_INVALID", "cannot write a config with these values: it would not load", {
        details: error.details,
        hint: "Correct the flags behind the keys named above and run `gen3d init` again: nothing was written.",
      });
    throw error;
  }
  await mkdir(baseDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  if (io.json) {
    printJson(io, true, { file, contextDir, scaffolded });
    return 0;
  }
  // The closing lines are the command's result: stdout.
  io.stdout(
    closingLines(io, {
      file: path.relative(runtime.cwd, file) || file,
      config,
      answers,
      scaffolded,
      measured,
    }),
  );
  return 0;
}
