import { access, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseConfig } from "../config/load.js";
import { configPath, type GlobalOptions, ioFor, type Runtime } from "../engine/app.js";
import { UserError } from "../engine/errors.js";
import { green } from "../engine/output.js";

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
}

const REQUIRED: (keyof InitOptions)[] = ["project", "bucket", "roleArn"];
const FLAG: Record<string, string> = { project: "--project", bucket: "--bucket", roleArn: "--role-arn" };

/** The config `gen3d init` writes: SAM 3 and SAM 3D Objects baked into the image, async with min 0. */
export function initialConfig(
  o: Required<Pick<InitOptions, "project" | "bucket" | "roleArn">> & InitOptions,
) {
  return {
    $schema: "./schema/gen3d.config.schema.json",
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
    image: { name: o.project, version: o.imageVersion ?? "0.1.0", contextDir: o.contextDir ?? "container" },
    models: [
      {
        name: "sam3",
        localPath: `${o.contextDir ?? "container"}/models/sam3`,
        expectedSizeBytes: 3_450_000_000,
        gpuMemoryGb: 6,
        tasks: ["get_embedding", "segment"],
      },
      {
        name: "sam3d",
        localPath: `${o.contextDir ?? "container"}/models/sam3d`,
        expectedSizeBytes: 12_500_000_000,
        gpuMemoryGb: 32,
        tasks: ["generate_3d"],
      },
    ],
    instance: { type: o.instanceType ?? "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 2 },
    async: { maxConcurrentInvocationsPerInstance: 1 },
  };
}

async function ask(options: InitOptions): Promise<InitOptions> {
  const { input, select } = await import("@inquirer/prompts");
  // Prompts are for a human: stderr, so stdout stays the command's result.
  const prompts = { output: process.stderr };
  const answers = { ...options };
  answers.project ??= await input(
    { message: "Project name (used in resource names)", default: "gen3d" },
    prompts,
  );
  answers.region ??= await input({ message: "AWS region", default: "us-east-1" }, prompts);
  answers.bucket ??= await input({ message: "S3 bucket for inputs, outputs and embeddings" }, prompts);
  answers.roleArn ??= await input(
    {
      message: "SageMaker execution role ARN",
      validate: (v) => v.startsWith("arn:aws") || "an IAM role ARN",
    },
    prompts,
  );
  answers.instanceType ??= await select(
    {
      message: "Instance type (SAM 3D Objects needs ≥ 32 GB of GPU memory)",
      choices: [
        { name: "ml.g6e.xlarge — L40S 48 GB, ~$2.34/h", value: "ml.g6e.xlarge" },
        { name: "ml.g6e.2xlarge — L40S 48 GB, ~$2.81/h", value: "ml.g6e.2xlarge" },
        { name: "ml.g5.2xlarge — A10G 24 GB, SAM 3 only", value: "ml.g5.2xlarge" },
      ],
    },
    prompts,
  );
  return answers;
}

/** `gen3d init`: writes gen3d.config.json from prompts, or entirely from flags when non-interactive. */
export async function initCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: InitOptions,
): Promise<number> {
  const io = ioFor(globals, runtime);
  const file = configPath(globals, runtime);
  if (!options.force) {
    const present = await access(file).then(
      () => true,
      () => false,
    );
    if (present)
      throw new UserError("CONFIG_EXISTS", `${file} already exists`, {
        hint: "Pass --force to overwrite it.",
      });
  }
  const answers = io.nonInteractive ? options : await ask(options);
  const missing = REQUIRED.filter((k) => !answers[k]);
  if (missing.length > 0) {
    throw new UserError(
      "INIT_MISSING",
      `cannot write a config without ${missing.map((k) => FLAG[k]).join(", ")}`,
      {
        hint: `Pass ${missing.map((k) => `${FLAG[k]} …`).join(" ")} (no terminal to ask in).`,
      },
    );
  }
  const config = initialConfig(answers as Parameters<typeof initialConfig>[0]);
  parseConfig(config, file);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  if (io.json) io.stdout(`${JSON.stringify({ ok: true, file }, null, 2)}\n`);
  else
    io.stderr(
      `${green(io, "wrote")} ${path.relative(runtime.cwd, file) || file}; next: put the weights in place and run \`gen3d plan\`\n`,
    );
  return 0;
}
