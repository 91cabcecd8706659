import { MODEL_SOURCES } from "../catalog/models.js";
import { bold, green, type Io } from "../engine/output.js";
import { formatBytes } from "../engine/progress.js";

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

export { MODEL_SOURCES };

/** Published sizes, used until the weights are in place (then the directory's real size is). */
export const DEFAULT_BYTES = { sam3: 3_450_000_000, sam3d: 12_500_000_000 };

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

/** What init did, for its closing lines. */
export interface InitDone {
  /** The config as the user would name it (relative to where they are). */
  file: string;
  config: ReturnType<typeof initialConfig>;
  answers: InitOptions;
  scaffolded: boolean;
  measured: { sam3?: number; sam3d?: number };
}

/** The closing lines: what was written, where the weights go and come from, the next command. */
export function closingLines(io: Pick<Io, "color">, done: InitDone): string {
  const lines = [
    `${green(io, "wrote")} ${done.file}: ${done.answers.project}, ${done.answers.region ?? "us-east-1"}, ${done.config.instance.type}, ${done.answers.models === "sam3" ? "SAM 3 only" : "SAM 3 + SAM 3D Objects"}`,
    ...(done.scaffolded
      ? [
          `${green(io, "copied")} gen3d's reference container into ./${done.config.image.contextDir} (no weights)`,
        ]
      : []),
    bold(io, "Weights go in the build context before the first build:"),
  ];
  for (const model of done.config.models) {
    const source = MODEL_SOURCES[model.name as keyof typeof MODEL_SOURCES];
    if ("enabled" in model && model.enabled === false) {
      lines.push(`  ${model.name}: disabled (${source.title} is not built in)`);
      continue;
    }
    const have = done.measured[model.name as "sam3" | "sam3d"];
    lines.push(
      `  ${model.localPath}/  ${source.title}: ${source.files}`,
      `      from ${source.from}`,
      have
        ? `      present: ${formatBytes(have)} (expectedSizeBytes set from it)`
        : `      missing: expectedSizeBytes is the published ~${formatBytes(model.expectedSizeBytes)}; update it once the files are in place`,
    );
  }
  const { endpoint } = done.answers;
  if (endpoint) {
    // A local AWS starts empty, as a new account would: what the config names must exist there.
    lines.push(
      `${endpoint} starts empty: create the bucket (\`aws --endpoint-url ${endpoint} s3 mb s3://${done.config.s3.bucket}\`) and the role ${done.config.executionRoleArn} there first (README: "Your own project on the local setup")`,
    );
  }
  lines.push(`next: ${bold(io, "gen3d plan")} (what deploy would do), then ${bold(io, "gen3d deploy")}`);
  return `${lines.join("\n")}\n`;
}
