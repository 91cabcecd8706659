import { z } from "zod";
import { byteLength, ENV_KEY_PATTERN, MAX_ENV_KEY_BYTES, MAX_ENV_VALUE_BYTES } from "./sagemaker-limits.js";

/** Resource names SageMaker accepts: letters, digits and hyphens, starting with a letter or digit. */
const resourceName = z
  .string()
  .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, "use letters, digits and single hyphens (SageMaker's naming rule)")
  .max(40, "keep it to 40 characters so derived names stay under SageMaker's 63-character limit");

const prefix = z
  .string()
  .regex(/^[A-Za-z0-9!_.*'()/-]*$/, "use S3-safe characters")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
  .transform((p) => p.replace(/^\/+|\/+$/g, ""));

const s3Uri = z
  .string()
  .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, "must be an s3://bucket/path URI");

const taskName = z.enum(["get_embedding", "segment", "generate_3d"]);

export const modelSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lower-case letters, digits, '-' or '_'"),
  /** Directory on the build machine, relative to the config file. */
  localPath: z.string().min(1),
  /** Bytes the directory is expected to hold, all files together. */
  expectedSizeBytes: z.number().int().positive(),
  /** Allowed deviation from expectedSizeBytes, as a fraction. */
  sizeTolerance: z.number().min(0).max(1).default(0.05),
  /** GPU memory the model needs at inference time, in GiB. */
  gpuMemoryGb: z.number().positive(),
  /** `image`: baked into the image; `s3`: shipped as uncompressed S3 model data to /opt/ml/model. */
  packaging: z.enum(["image", "s3"]).default("image"),
  /**
   * Where the weights live inside the image (packaging "image"); the container is told through
   * GEN3D_SAM3_DIR / GEN3D_SAM3D_DIR, by the tasks the model serves.
   */
  containerPath: z
    .string()
    .startsWith("/")
    .optional()
    .describe(
      'packaging "image": where the weights are inside the image (default /opt/gen3d/models/NAME); passed to the container as GEN3D_SAM3_DIR (get_embedding, segment) or GEN3D_SAM3D_DIR (generate_3d)',
    ),
  enabled: z.boolean().default(true),
  /** The tasks this model serves; a disabled model's tasks are not smoke-tested. */
  tasks: z.array(taskName).default([]),
});

const fixtureSchema = z.strictObject({
  /** Image file, relative to the config file, uploaded as the task's input. */
  image: z.string().min(1),
  /** Extra payload fields (prompt_type, point, box…). */
  payload: z.record(z.string(), z.unknown()).default({}),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  project: z.strictObject({ name: resourceName }),
  aws: z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must look like us-east-1"),
    profile: z.string().min(1).optional(),
    /** Send every AWS call here instead (a local emulator such as moto on 127.0.0.1). */
    endpoint: z.url().optional(),
    /** With an endpoint override: the Docker registry that stands in for ECR (host:port). */
    registry: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be host or host:port")
      .optional(),
  }),
  s3: z.strictObject({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name"),
    prefixes: z
      .strictObject({
        input: prefix.default("gen3d/input"),
        output: prefix.default("gen3d/output"),
        failure: prefix.default("gen3d/failures"),
        embeddings: prefix.default("gen3d/embeddings"),
        models: prefix.default("gen3d/models"),
      })
      .prefault({}),
  }),
  executionRoleArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/,
      "must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
    ),
  ecr: z.strictObject({
    repository: z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, "invalid ECR repository name"),
  }),
  image: z.strictObject({
    name: z.string().min(1),
    version: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, "must be a valid Docker tag")
      .refine((v) => v !== "latest", "never `latest`: use a version such as 1.0.0"),
    /** Build context, relative to the config file. */
    contextDir: z.string().default("container"),
    /** Dockerfile, relative to the build context. */
    dockerfile: z.string().default("Dockerfile"),
    buildArgs: z.record(z.string(), z.string()).default({}),
    /** Largest acceptable image, in GiB. */
    maxSizeGb: z.number().positive().default(40),
  }),
  models: z.array(modelSchema).min(1, "list at least one model"),
  instance: z.strictObject({
    type: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, "must look like ml.g6e.xlarge"),
    initialCount: z.number().int().min(1).default(1),
    minCount: z.number().int().min(0).default(0),
    maxCount: z.number().int().min(1).default(2),
    volumeSizeGb: z.number().int().min(1).max(512).optional(),
  }),
  async: z
    .strictObject({
      /** Defaults to s3://BUCKET/PREFIXES.OUTPUT. */
      outputPath: s3Uri.optional(),
      /** Defaults to s3://BUCKET/PREFIXES.FAILURE. */
      failurePath: s3Uri.optional(),
      successTopicArn: z.string().startsWith("arn:aws").optional(),
      errorTopicArn: z.string().startsWith("arn:aws").optional(),
      maxConcurrentInvocationsPerInstance: z.number().int().min(1).max(1000).default(1),
      /** Backlog per instance that target tracking aims for. */
      targetBacklogPerInstance: z.number().positive().default(2),
      scaleInCooldownSeconds: z.number().int().min(0).default(300),
      scaleOutCooldownSeconds: z.number().int().min(0).default(300),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      buildSeconds: z.number().int().positive().default(3600),
      /** Local container: seconds to the first /ping 200. */
      startupSeconds: z.number().int().positive().default(240),
      /** Overrides the value derived from the measured local startup. */
      containerStartupHealthCheckSeconds: z.number().int().min(60).max(3600).optional(),
      modelDataDownloadSeconds: z.number().int().min(60).max(3600).default(1200),
      deploySeconds: z.number().int().positive().default(3600),
      invocationSeconds: z.number().int().positive().default(900),
      scaleToZeroSeconds: z.number().int().positive().default(3600),
    })
    .prefault({}),
  localTest: z
    .strictObject({
      /** The container must still be alive this many seconds after it became healthy. */
      aliveAfterSeconds: z.number().int().min(0).default(10),
      port: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .optional()
        .describe(
          'With network "publish": the loopback host port mapped to the container\'s 8080 (0 or unset: any free port, so two users on one host never collide). With network "host" the container is probed on 8080, SageMaker\'s port, and phase 3 runs take turns host-wide: leave it unset (or 8080).',
        ),
      /**
       * `host`: --network host, probed on 127.0.0.1:8080 (Linux; what the loopback local stack
       * needs). `publish`: -p 127.0.0.1:PORT:8080, for Docker Desktop, where host networking
       * does not reach the host's loopback.
       */
      network: z.enum(["host", "publish"]).default("host"),
      /** Extra environment for the container, local test and SageMaker alike (never secrets). */
      environment: z
        .record(z.string(), z.string())
        .superRefine((environment, issues) => {
          // Zod reports a bad record key only as "Invalid key in record": name the rule here.
          for (const [key, value] of Object.entries(environment)) {
            if (!ENV_KEY_PATTERN.test(key))
              issues.addIssue({
                code: "custom",
                path: [key],
                message:
                  'SageMaker refuses this environment key: use letters, digits and "_", not starting with a digit',
              });
            if (byteLength(key) > MAX_ENV_KEY_BYTES)
              issues.addIssue({
                code: "custom",
                path: [key],
                message: `keep keys to ${MAX_ENV_KEY_BYTES} bytes (SageMaker's limit)`,
              });
            if (byteLength(value) > MAX_ENV_VALUE_BYTES)
              issues.addIssue({
                code: "custom",
                path: [key],
                message: `keep values to ${MAX_ENV_VALUE_BYTES} bytes (SageMaker's limit); put large settings in a file`,
              });
          }
        })
        .default({}),
    })
    .superRefine((localTest, issues) => {
      if (localTest.network === "host" && localTest.port !== undefined && localTest.port !== 8080)
        issues.addIssue({
          code: "custom",
          path: ["port"],
          message: `with localTest.network "host" the container is probed on 8080, as SageMaker does (the server cannot be told another port): remove localTest.port, or set localTest.network to "publish" to map host port ${localTest.port} to the container's 8080`,
        });
    })
    .prefault({}),
  smokeTests: z.partialRecord(taskName, fixtureSchema).default({}),
  scaleToZero: z
    .strictObject({
      /**
       * Once phase 10 has observed zero instances, submit one segment job (phase 9's request) and
       * time the cold start: request → first instance → result. Costs one scale-out.
       */
      coldStart: z.boolean().default(false),
    })
    .prefault({}),
  cost: z
    .strictObject({
      jobsPerDay: z.number().min(0).default(30),
      secondsPerJob: z.number().positive().default(60),
      /** Seconds from scale-out to a running instance; SageMaker publishes no figure: measure yours. */
      provisioningSeconds: z.number().int().min(0).default(240),
      /** Image pull throughput onto a new instance, MB/s, for the cold-start estimate. */
      imagePullMBps: z.number().positive().default(100),
    })
    .prefault({}),
});

export type Gen3dConfig = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type TaskName = z.infer<typeof taskName>;
export const TASK_NAMES = taskName.options;
