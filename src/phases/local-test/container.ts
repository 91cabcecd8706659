import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL, ownerAlive } from "../../adapters/container-owner.js";
import { type ContainerCredentials, startCredentialsEndpoint } from "../../adapters/credentials-endpoint.js";
import { isSecretName } from "../../engine/secret-names.js";
import { containerEnvironment, SAGEMAKER_MODEL_DIR } from "../../spec/sagemaker.js";
import type { PhaseContext } from "../phase.js";
import { SAGEMAKER_PORT } from "./gates.js";

const containerState = z.object({ Running: z.boolean(), ExitCode: z.number(), Status: z.string() });
export type ContainerState = z.infer<typeof containerState>;

/** Where a mounted credentials file lands (network "publish" only). */
const CREDENTIALS_MOUNT = "/run/gen3d/aws-credentials";

export interface RunSpec {
  /** `docker run` flags: network, environment, mounts. */
  args: string[];
  /** Values of `--env NAME` flags: they travel in the docker CLI's environment, never in argv. */
  secretEnv: Record<string, string>;
  credentials: { via: "endpoint" | "file" | "none"; requests(): number | undefined };
  /** Stops the credentials endpoint, removes the credentials file. */
  close(): Promise<void>;
}

async function cliCredentials(ctx: PhaseContext): Promise<ContainerCredentials> {
  const s3 = await ctx.aws.s3();
  const credentials = await s3.config.credentials();
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
    expiration: credentials.expiration,
  };
}

/**
 * The container's AWS credentials, the way SageMaker and ECS hand them over: never as environment
 * values (`docker inspect` shows those to anyone with the socket for as long as the container
 * exists). Host networking: a credentials endpoint on 127.0.0.1 for this test only, with a random
 * token. Published port (the container has its own loopback): a read-only mounted file in a
 * private temporary folder, removed when the test ends.
 */
async function containerCredentials(ctx: PhaseContext) {
  if (ctx.config.localTest.network === "host") {
    const endpoint = await startCredentialsEndpoint(() => cliCredentials(ctx));
    return {
      via: "endpoint" as const,
      // The URI is harmless; the token goes by name, out of `ps`.
      env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.environment.AWS_CONTAINER_CREDENTIALS_FULL_URI },
      secretEnv: {
        AWS_CONTAINER_AUTHORIZATION_TOKEN: endpoint.environment.AWS_CONTAINER_AUTHORIZATION_TOKEN as string,
      } as Record<string, string>,
      mounts: [] as string[],
      requests: () => endpoint.served,
      close: () => endpoint.close(),
    };
  }
  const credentials = await cliCredentials(ctx);
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-credentials-"));
  await chmod(dir, 0o700);
  const file = path.join(dir, "credentials");
  const lines = [
    "[default]",
    `aws_access_key_id = ${credentials.accessKeyId}`,
    `aws_secret_access_key = ${credentials.secretAccessKey}`,
    ...(credentials.sessionToken ? [`aws_session_token = ${credentials.sessionToken}`] : []),
  ];
  // Readable inside the container whatever its user; the folder keeps other host users out.
  await writeFile(file, `${lines.join("\n")}\n`, { mode: 0o644 });
  return {
    via: "file" as const,
    env: { AWS_SHARED_CREDENTIALS_FILE: CREDENTIALS_MOUNT },
    secretEnv: {} as Record<string, string>,
    mounts: ["-v", `${file}:${CREDENTIALS_MOUNT}:ro`],
    requests: () => undefined,
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * How phase 3 runs the image: the SageMaker model's environment, plus only what a local run cannot
 * do without — the region, the local AWS endpoint when there is one, the credentials above and,
 * on host networking, GEN3D_BIND_HOST=127.0.0.1. That last one is the single deviation from
 * SageMaker: with `--network host` a server on 0.0.0.0 would be reachable from the whole network
 * while it holds the test's AWS access; the port stays SageMaker's 8080 (no SAGEMAKER_BIND_TO_PORT,
 * which a single-container endpoint does not set either).
 */
export async function runSpec(ctx: PhaseContext, hostPort: number | undefined): Promise<RunSpec> {
  const { config } = ctx;
  const configured = Object.entries(containerEnvironment(config));
  const env: Record<string, string> = {
    ...Object.fromEntries(configured.filter(([name]) => !isSecretName(name))),
    ...(config.localTest.network === "host" ? { GEN3D_BIND_HOST: "127.0.0.1" } : {}),
    AWS_REGION: config.aws.region,
    AWS_DEFAULT_REGION: config.aws.region,
    ...(ctx.aws.endpoint ? { AWS_ENDPOINT_URL: ctx.aws.endpoint } : {}),
  };
  const credentials = await containerCredentials(ctx);
  Object.assign(env, credentials.env);
  // A secret-named variable of localTest.environment (HF_TOKEN…) goes by name: `ps` shows every
  // docker argv. `docker inspect` still shows its value, as DescribeModel will on SageMaker.
  const secretEnv: Record<string, string> = {
    ...Object.fromEntries(configured.filter(([name]) => isSecretName(name))),
    ...credentials.secretEnv,
  };
  const network =
    config.localTest.network === "host"
      ? ["--network", "host"]
      : ["--publish", `127.0.0.1:${hostPort ?? ""}:${SAGEMAKER_PORT}`];
  const args = [
    ...network,
    ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...Object.keys(secretEnv).flatMap((k) => ["--env", k]),
    ...credentials.mounts,
  ];
  for (const model of config.models.filter((m) => m.enabled && m.packaging === "s3")) {
    args.push(
      "-v",
      `${path.resolve(ctx.loaded.baseDir, model.localPath)}:${SAGEMAKER_MODEL_DIR}/${model.name}:ro`,
    );
  }
  return {
    args,
    secretEnv,
    credentials: { via: credentials.via, requests: credentials.requests },
    close: credentials.close,
  };
}

export async function containerStatus(ctx: PhaseContext, name: string): Promise<ContainerState | undefined> {
  const result = await ctx.docker.exec(["inspect", "--format", "{{json .State}}", name], {
    allowFailure: true,
    signal: ctx.signal,
  });
  return result.exitCode === 0 ? containerState.parse(JSON.parse(result.stdout)) : undefined;
}

export async function containerLogs(ctx: PhaseContext, name: string): Promise<string> {
  const result = await ctx.docker.exec(["logs", name], { allowFailure: true, signal: ctx.signal });
  return `${result.stdout}\n${result.stderr}`.trim();
}

/** The loopback host port Docker published the container's 8080 on (network "publish", port 0). */
export async function publishedPort(ctx: PhaseContext, name: string): Promise<number | undefined> {
  const result = await ctx.docker.exec(["port", name, `${SAGEMAKER_PORT}/tcp`], {
    allowFailure: true,
    signal: ctx.signal,
  });
  const match = /:(\d+)\s*$/m.exec(result.stdout);
  return match ? Number(match[1]) : undefined;
}

/** Removes the container whatever its state (created, running, exited); shielded from Ctrl-C. */
export async function removeContainer(ctx: PhaseContext, name: string): Promise<void> {
  await ctx.docker.exec(["rm", "--force", name], { allowFailure: true, shielded: true }).catch(() => {});
}

/**
 * Local-test containers of any project whose gen3d process is gone: one of them may still hold
 * 8080 on the host network after its run was killed (the next run of that project would remove
 * it, but that may never come). Called while holding the port lock, so no live run is touched.
 */
export async function removeOrphanedLocalTests(ctx: PhaseContext): Promise<string[]> {
  const listed = await ctx.docker.exec(
    [
      "ps",
      "--all",
      "--filter",
      "label=gen3d.local-test",
      "--format",
      `{{.Names}}\t{{.Label "${OWNER_PID_LABEL}"}}\t{{.Label "${OWNER_HOST_LABEL}"}}`,
    ],
    { allowFailure: true, signal: ctx.signal },
  );
  if (listed.exitCode !== 0) return [];
  const orphans = listed.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t"))
    .filter(([, pid, host]) => pid && !ownerAlive({ pid, host: host || undefined }))
    .map(([name]) => name as string);
  for (const name of orphans) await removeContainer(ctx, name);
  return orphans;
}
