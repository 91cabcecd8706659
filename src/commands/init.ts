import { existsSync } from "node:fs";
import { access, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { configPath, type GlobalOptions, ioFor, type Runtime } from "../app/context.js";
import { INSTANCE_CATALOG } from "../catalog/instances.js";
import { parseConfig } from "../config/load.js";
import { UserError } from "../engine/errors.js";
import { bold, green, printJson } from "../engine/output.js";
import { formatBytes } from "../engine/progress.js";
import { flagProblems, initRules, type Rule } from "./init-rules.js";
import {
  directoryBytes,
  hasDockerfile,
  referenceContainer,
  scaffoldContainer,
  schemaFile,
} from "./init-scaffold.js";

export interface InitOptions {
  project?: string;
  region?: string;
  profile?: string;
  bucket?: string;
  roleArn?: string;
  repository?: string;
  instanceType?: string;
  endpoint?: string;
  registry?: string;
  imageVersion?: string;
  contextDir?: string;
  force?: boolean;
  /** `sam3`: SAM 3 only, SAM 3D Objects disabled. */
  models?: "both" | "sam3";
}

const REQUIRED: (keyof InitOptions)[] = ["project", "bucket", "roleArn"];
const FLAG: Record<string, string> = { project: "--project", bucket: "--bucket", roleArn: "--role-arn" };

/** Where each model comes from: shown at the end of init, beside where its files go. */
export const MODEL_SOURCES = {
  sam3: {
    title: "SAM 3",
    from: "Hugging Face facebook/sam3 (gated: accept the licence on the model page, then `hf auth login`)",
    files: "config.json, model.safetensors, preprocessor_config.json",
  },
  sam3d: {
    title: "SAM 3D Objects",
    from: "Hugging Face facebook/sam-3d-objects (gated: request access and accept the licence first)",
    files: "pipeline.yaml and the checkpoints it names (sam-3d-objects' checkpoints/hf/)",
  },
} as const;

/** Published sizes, used until the weights are in place (then the directory's real size is). */
const DEFAULT_BYTES = { sam3: 3_450_000_000, sam3d: 12_500_000_000 };

interface Resolved {
  project: string;
  bucket: string;
  roleArn: string;
  contextDir: string;
  modelBytes: { sam3: number; sam3d: number };
  schema?: string;
}

/** The config `gen3d init` writes: the chosen models baked into the image, async with min 0. */
export function initialConfig(o: Resolved & InitOptions) {
  const sam3dEnabled = o.models !== "sam3";
  return {
    ...(o.schema ? { $schema: o.schema } : {}),
    project: { name: o.project },
    aws: {
      region: o.region ?? "us-east-1",
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.registry ? { registry: o.registry } : {}),
    },
    s3: { bucket: o.bucket },
    executionRoleArn: o.roleArn,
    ecr: { repository: o.repository ?? o.project },
    image: { name: o.project, version: o.imageVersion ?? "0.1.0", contextDir: o.contextDir },
    models: [
      {
        name: "sam3",
        localPath: `${o.contextDir}/models/sam3`,
        expectedSizeBytes: o.modelBytes.sam3,
        gpuMemoryGb: 6,
        tasks: ["get_embedding", "segment"],
      },
      {
        name: "sam3d",
        localPath: `${o.contextDir}/models/sam3d`,
        expectedSizeBytes: o.modelBytes.sam3d,
        gpuMemoryGb: 32,
        tasks: ["generate_3d"],
        // Disabled: not required in the image, its task not tested, no GPU memory reserved.
        ...(sam3dEnabled ? {} : { enabled: false }),
      },
    ],
    instance: {
      type: o.instanceType ?? "ml.g6e.xlarge",
      initialCount: 1,
      minCount: 0,
      maxCount: 2,
    },
    async: { maxConcurrentInvocationsPerInstance: 1 },
  };
}

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
  parseConfig(config, file);
  await mkdir(baseDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  if (io.json) {
    printJson(io, true, { file, contextDir, scaffolded });
    return 0;
  }
  const shown = path.relative(runtime.cwd, file) || file;
  const lines = [
    `${green(io, "wrote")} ${shown}: ${answers.project}, ${answers.region ?? "us-east-1"}, ${config.instance.type}, ${answers.models === "sam3" ? "SAM 3 only" : "SAM 3 + SAM 3D Objects"}`,
    ...(scaffolded
      ? [`${green(io, "copied")} gen3d's reference container into ./${contextDir} (no weights)`]
      : []),
    bold(io, "Weights go in the build context before the first build:"),
  ];
  for (const model of config.models) {
    const source = MODEL_SOURCES[model.name as keyof typeof MODEL_SOURCES];
    if ("enabled" in model && model.enabled === false) {
      lines.push(`  ${model.name}: disabled (${source.title} is not built in)`);
      continue;
    }
    const have = measured[model.name as keyof typeof measured];
    lines.push(
      `  ${model.localPath}/  ${source.title}: ${source.files}`,
      `      from ${source.from}`,
      have
        ? `      present: ${formatBytes(have)} (expectedSizeBytes set from it)`
        : `      missing: expectedSizeBytes is the published ~${formatBytes(model.expectedSizeBytes)}; update it once the files are in place`,
    );
  }
  lines.push(`next: ${bold(io, "gen3d plan")} (what deploy would do), then ${bold(io, "gen3d deploy")}`);
  io.stderr(`${lines.join("\n")}\n`);
  return 0;
}
