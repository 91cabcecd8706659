import { awsErrorMessage, isNotFound, sdkError } from "../adapters/aws-errors.js";
import { createLogs, endpointLogGroup } from "../adapters/cloudwatch-logs.js";
import { createEcr } from "../adapters/ecr.js";
import { createS3 } from "../adapters/s3.js";
import { createSageMakerApi } from "../adapters/sagemaker.js";
import type { AppContext } from "../app/context.js";
import { awsCli } from "../config/aws-cli.js";
import { isAbort } from "../engine/errors.js";

/** What destroy leaves on purpose (or was not asked to remove), counted, with how to remove it. */
export interface Remaining {
  kind: "ecr-images" | "s3-objects" | "log-group";
  name: string;
  /** Images or objects found; undefined when they could not be counted. */
  count?: number;
  /** Why it could not be counted, when it could not. */
  unchecked?: string;
  remove: string;
}

/** SageMaker resources still listed under the project's names, every page read. */
export async function listSagemakerLeftovers(ctx: AppContext): Promise<string[]> {
  const sagemaker = createSageMakerApi(ctx);
  const project = ctx.config.project.name;
  const ours = (name: string | undefined) => typeof name === "string" && name.startsWith(`${project}-`);
  const out: string[] = [];
  for (const e of await sagemaker.listEndpoints(project))
    if (ours(e.EndpointName)) out.push(`endpoint ${e.EndpointName} (${e.EndpointStatus})`);
  for (const c of await sagemaker.listEndpointConfigs(project))
    if (ours(c.EndpointConfigName)) out.push(`endpoint-config ${c.EndpointConfigName}`);
  for (const m of await sagemaker.listModels(project))
    if (ours(m.ModelName)) out.push(`model ${m.ModelName}`);
  return out;
}

async function counted(
  what: Omit<Remaining, "count" | "unchecked">,
  count: () => Promise<number>,
): Promise<Remaining | undefined> {
  try {
    const n = await count();
    return n > 0 ? { ...what, count: n } : undefined;
  } catch (error) {
    const cause = sdkError(error);
    if (isNotFound(cause)) return undefined;
    if (isAbort(error)) throw error;
    return { ...what, unchecked: awsErrorMessage(cause) };
  }
}

/**
 * After a teardown: the ECR images, the S3 objects under gen3d's prefixes and the endpoint's log
 * group that still exist, so destroy says exactly what is left instead of "nothing".
 */
export async function surveyRemains(ctx: AppContext, endpointName: string): Promise<Remaining[]> {
  const { config } = ctx;
  const found: (Remaining | undefined)[] = [];
  const repository = config.ecr.repository;
  found.push(
    await counted(
      {
        kind: "ecr-images",
        name: repository,
        remove: `gen3d destroy --delete-images removes the image gen3d pushed; the repository itself: ${awsCli(config, `ecr delete-repository --repository-name ${repository} --force`)}`,
      },
      () => createEcr(ctx).countImages(repository),
    ),
  );
  const bucket = config.s3.bucket;
  const s3 = createS3(ctx);
  for (const [name, prefix] of Object.entries(config.s3.prefixes)) {
    const key = prefix.replace(/\/?$/, "/");
    const deletable = ["output", "failure", "embeddings"].includes(name);
    found.push(
      await counted(
        {
          kind: "s3-objects",
          name: `s3://${bucket}/${key}`,
          remove: deletable
            ? "gen3d destroy --delete-s3"
            : `${awsCli(config, `s3 rm s3://${bucket}/${key} --recursive`)} (gen3d destroy keeps the ${name} prefix)`,
        },
        async () => {
          let n = 0;
          for await (const page of s3.objectPages(bucket, key)) n += page.length;
          return n;
        },
      ),
    );
  }
  const group = endpointLogGroup(endpointName);
  found.push(
    await counted(
      {
        kind: "log-group",
        name: group,
        remove: awsCli(config, `logs delete-log-group --log-group-name ${group}`),
      },
      async () => ((await createLogs(ctx).logGroupExists(group)) ? 1 : 0),
    ),
  );
  return found.filter((r): r is Remaining => r !== undefined);
}

export function describeRemaining(r: Remaining): string {
  const what =
    r.kind === "ecr-images" && r.name.includes("@")
      ? `image ${r.name}`
      : r.kind === "ecr-images"
        ? `ECR repository ${r.name}: ${r.count ?? "?"} image(s)`
        : r.kind === "s3-objects"
          ? `${r.name}: ${r.count ?? "?"} object(s)`
          : `CloudWatch log group ${r.name}`;
  return r.unchecked ? `${what} — not checked (${r.unchecked})` : `${what} — to remove: ${r.remove}`;
}
