import type { EngineAuth } from "../../adapters/docker-engine.js";
import type { Ecr } from "../../adapters/ecr.js";
import type { RegistryTarget } from "../../adapters/registry.js";
import { ExternalError, UserError } from "../../engine/errors.js";
import type { PhaseContext } from "../phase.js";

/** Keep the last 30 tagged images; drop untagged layers after a week. */
export const LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: "expire untagged images after 7 days",
      selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 },
      action: { type: "expire" },
    },
  ],
});
// No count-based rule: a model pins its image by digest, and with min 0 instances every
// scale-out pulls it again, so expiring old tagged images could break the live endpoint.

/** The repository exists with IMMUTABLE tags, scan on push and the lifecycle policy; fixes what differs. */
export async function ensureRepository(ctx: PhaseContext, ecr: Ecr) {
  const name = ctx.config.ecr.repository;
  let repo = await ecr.describeRepository(name);
  let created = false;
  if (!repo) {
    ctx.progress(`creating ECR repository ${name}`);
    repo = await ecr.createRepository(name, { "gen3d:project": ctx.config.project.name });
    created = true;
  } else {
    if (repo.imageTagMutability !== "IMMUTABLE") await ecr.putImageTagMutability(name, "IMMUTABLE");
    if (repo.imageScanningConfiguration?.scanOnPush !== true)
      await ecr.putImageScanningConfiguration(name, true);
  }
  // Only where there is none: a policy the team wrote for its repository is theirs to keep.
  if (!(await ecr.getLifecyclePolicy(name))) await ecr.putLifecyclePolicy(name, LIFECYCLE_POLICY);
  if (!repo?.repositoryUri)
    throw new ExternalError("ECR_FAILED", `ECR returned no URI for repository ${name}`);
  return { name, uri: repo.repositoryUri, created };
}

/**
 * Where the image goes: ECR's registry, or with an endpoint override the configured local registry.
 * `login`: "cli" runs `docker login` (password on stdin), "engine" returns the credentials for the
 * Engine API's auth header; neither puts the password on a command line or in STATE.json.
 */
export async function registryTarget(
  ctx: PhaseContext,
  ecr: Ecr,
  repositoryUri: string,
  login: "cli" | "engine" | false,
): Promise<RegistryTarget & { engineAuth?: EngineAuth }> {
  const repository = ctx.config.ecr.repository;
  if (ctx.aws.endpoint) {
    if (!ctx.config.aws.registry) {
      throw new UserError(
        "CONFIG_INVALID",
        "aws.registry is required with aws.endpoint: the emulator has no Docker registry",
        {
          hint: 'Set aws.registry to the local registry, e.g. "127.0.0.1:5000" (scripts/local-stack/up.sh starts one).',
        },
      );
    }
    return { host: ctx.config.aws.registry, repository };
  }
  const host = repositoryUri.split("/")[0] as string;
  const auth = await ecr.getAuthorizationToken();
  if (!auth?.authorizationToken) throw new ExternalError("ECR_FAILED", "ECR returned no authorization token");
  const password = Buffer.from(auth.authorizationToken, "base64")
    .toString("utf8")
    .split(":")
    .slice(1)
    .join(":");
  const target = { host, repository, authorization: `Basic ${auth.authorizationToken}` };
  if (login === "engine")
    return { ...target, engineAuth: { username: "AWS", password, serveraddress: host } };
  if (login === "cli") {
    // The password goes through stdin, never argv, and is never logged or recorded.
    await ctx.docker.exec(["login", "--username", "AWS", "--password-stdin", host], {
      input: password,
      signal: ctx.signal,
    });
  }
  return target;
}

export function repoDigestFor(repoDigests: string[] | null, remoteName: string): string | undefined {
  const entry = (repoDigests ?? []).find((d) => d.startsWith(`${remoteName}@`));
  return entry?.slice(entry.indexOf("@") + 1);
}
