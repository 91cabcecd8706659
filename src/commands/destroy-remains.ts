import { paginateDescribeLogGroups } from "@aws-sdk/client-cloudwatch-logs";
import { paginateListImages } from "@aws-sdk/client-ecr";
import { paginateListObjectsV2 } from "@aws-sdk/client-s3";
import {
  paginateListEndpointConfigs,
  paginateListEndpoints,
  paginateListModels,
} from "@aws-sdk/client-sagemaker";
import { awsErrorMessage, awsFailure, isNotFound } from "../adapters/aws-errors.js";
import { endpointLogGroup } from "../adapters/cloudwatch-logs.js";
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
  const client = await ctx.aws.sagemaker();
  const project = ctx.config.project.name;
  const ours = (name: string | undefined) => typeof name === "string" && name.startsWith(`${project}-`);
  const config = { client, pageSize: 100 };
  const input = () => ({ NameContains: project });
  const options = { abortSignal: ctx.signal };
  const out: string[] = [];
  try {
    for await (const page of paginateListEndpoints(config, input(), options))
      for (const e of page.Endpoints ?? [])
        if (ours(e.EndpointName)) out.push(`endpoint ${e.EndpointName} (${e.EndpointStatus})`);
    for await (const page of paginateListEndpointConfigs(config, input(), options))
      for (const c of page.EndpointConfigs ?? [])
        if (ours(c.EndpointConfigName)) out.push(`endpoint-config ${c.EndpointConfigName}`);
    for await (const page of paginateListModels(config, input(), options))
      for (const m of page.Models ?? []) if (ours(m.ModelName)) out.push(`model ${m.ModelName}`);
  } catch (error) {
    throw awsFailure(
      error,
      "listing SageMaker resources",
      "sagemaker:ListEndpoints, sagemaker:ListEndpointConfigs, sagemaker:ListModels",
    );
  }
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
    if (isNotFound(error)) return undefined;
    if (isAbort(error)) throw error;
    return { ...what, unchecked: awsErrorMessage(error) };
  }
}

/**
 * After a teardown: the ECR images, the S3 objects under gen3d's prefixes and the endpoint's log
 * group that still exist, so destroy says exactly what is left instead of "nothing".
 */
export async function surveyRemains(ctx: AppContext, endpointName: string): Promise<Remaining[]> {
  const { config, signal } = ctx;
  const found: (Remaining | undefined)[] = [];
  const repository = config.ecr.repository;
  found.push(
    await counted(
      {
        kind: "ecr-images",
        name: repository,
        remove: `gen3d destroy --delete-images removes the image gen3d pushed; the repository itself: ${awsCli(config, `ecr delete-repository --repository-name ${repository} --force`)}`,
      },
      async () => {
        const client = await ctx.aws.ecr();
        let n = 0;
        for await (const page of paginateListImages(
          { client, pageSize: 1000 },
          { repositoryName: repository },
          { abortSignal: signal },
        ))
          n += page.imageIds?.length ?? 0;
        return n;
      },
    ),
  );
  const bucket = config.s3.bucket;
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
          const client = await ctx.aws.s3();
          let n = 0;
          for await (const page of paginateListObjectsV2(
            { client, pageSize: 1000 },
            { Bucket: bucket, Prefix: key },
            { abortSignal: signal },
          ))
            n += page.Contents?.length ?? 0;
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
      async () => {
        const client = await ctx.aws.logs();
        let n = 0;
        for await (const page of paginateDescribeLogGroups(
          { client, pageSize: 50 },
          { logGroupNamePrefix: group },
          { abortSignal: signal },
        ))
          n += (page.logGroups ?? []).filter((g) => g.logGroupName === group).length;
        return n;
      },
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
