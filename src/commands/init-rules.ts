import { isSagemakerRegion, SAGEMAKER_REGIONS } from "../catalog/regions.js";
import { didYouMean } from "../config/format-issues.js";
import { configSchema } from "../config/schema.js";

/** true, or the sentence a prompt shows under the answer before asking again. */
export type Rule = (value: string) => true | string;

/** The config schema's own rule for one field, so a typed answer fails exactly as the file would. */
function schemaRule(schema: {
  safeParse(value: unknown): { success: boolean; error?: { issues: { message: string }[] } };
}): Rule {
  return (value) => {
    const result = schema.safeParse(value.trim());
    return result.success ? true : (result.error?.issues[0]?.message ?? "not valid here");
  };
}

const shape = configSchema.shape;

type RuleKey =
  | "project"
  | "region"
  | "bucket"
  | "repository"
  | "roleArn"
  | "endpoint"
  | "registry"
  | "instanceType"
  | "imageVersion";

export const initRules: Record<RuleKey, Rule> = {
  project: schemaRule(shape.project.shape.name),
  region: (value) => {
    const region = value.trim();
    const format = schemaRule(shape.aws.shape.region)(region);
    if (format !== true && !isSagemakerRegion(region)) {
      const near = didYouMean(region, SAGEMAKER_REGIONS);
      return `${format}${near ? `; did you mean ${near}?` : ""}`;
    }
    if (isSagemakerRegion(region)) return true;
    const near = didYouMean(region, SAGEMAKER_REGIONS);
    return `SageMaker does not run in ${region}${near ? `; did you mean ${near}?` : ` (regions: ${SAGEMAKER_REGIONS.slice(0, 6).join(", ")}, …)`}`;
  },
  bucket: (value) => {
    const bucket = value.trim();
    const rule = schemaRule(shape.s3.shape.bucket)(bucket);
    if (rule !== true) {
      const why = /[A-Z]/.test(bucket)
        ? "upper-case letters are not allowed"
        : /_/.test(bucket)
          ? "underscores are not allowed"
          : bucket.length < 3 || bucket.length > 63
            ? "3 to 63 characters"
            : "lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit";
      return `${rule}: ${why}`;
    }
    if (/\.\./.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket))
      return "must be a valid S3 bucket name: no two adjacent dots, not an IP address";
    return true;
  },
  repository: schemaRule(shape.ecr.shape.repository),
  roleArn: schemaRule(shape.executionRoleArn),
  endpoint: schemaRule(shape.aws.shape.endpoint),
  registry: schemaRule(shape.aws.shape.registry),
  instanceType: schemaRule(shape.instance.shape.type),
  imageVersion: schemaRule(shape.image.shape.version),
};

/** Every rule that fails for answers given as flags, as `--flag: message` lines. */
export function flagProblems(answers: Partial<Record<keyof typeof initRules, string>>): string[] {
  const flags: Record<keyof typeof initRules, string> = {
    project: "--project",
    region: "--region",
    bucket: "--bucket",
    repository: "--repository",
    roleArn: "--role-arn",
    endpoint: "--endpoint",
    registry: "--registry",
    instanceType: "--instance-type",
    imageVersion: "--image-version",
  };
  return (Object.keys(initRules) as (keyof typeof initRules)[]).flatMap((key) => {
    const value = answers[key];
    if (value === undefined) return [];
    const verdict = initRules[key](value);
    return verdict === true ? [] : [`${flags[key]} ${value}: ${verdict}`];
  });
}
