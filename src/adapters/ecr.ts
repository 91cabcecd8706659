import type { AuthorizationData, ECRClient, Repository } from "@aws-sdk/client-ecr";
import type { AwsClients } from "./aws.js";
import { awsFailure, isNotFound } from "./aws-errors.js";

/**
 * ECR behind one facade: one method per call phase 4 and destroy make, the abort signal and the
 * error mapping (naming the `ecr:` permission) inside. Phases build no ECR command themselves.
 */

/** What BatchDeleteImage did with one digest. */
export type ImageDeletion =
  | { type: "deleted" }
  /** The image or its repository does not exist (any more). */
  | { type: "not-found" }
  | { type: "failed"; code: string; reason: string };

export interface Ecr {
  /** The repository, or undefined when it does not exist. */
  describeRepository(name: string): Promise<Repository | undefined>;
  /** Creates it with IMMUTABLE tags, scan on push and `tags`. */
  createRepository(name: string, tags: Record<string, string>): Promise<Repository | undefined>;
  putImageTagMutability(name: string, mutability: "IMMUTABLE" | "MUTABLE"): Promise<void>;
  putImageScanningConfiguration(name: string, scanOnPush: boolean): Promise<void>;
  /** The repository's lifecycle policy text; undefined when it has none (or it cannot be read). */
  getLifecyclePolicy(name: string): Promise<string | undefined>;
  putLifecyclePolicy(name: string, policyText: string): Promise<void>;
  getAuthorizationToken(): Promise<AuthorizationData | undefined>;
  /** The digests the repository holds under `tag` (DescribeImages); empty when it holds none. */
  describeImages(name: string, tag: string): Promise<string[]>;
  batchDeleteImage(name: string, digest: string): Promise<ImageDeletion>;
  /** How many images the repository holds, every page of ListImages; 0 when it does not exist. */
  countImages(name: string): Promise<number>;
}

type EcrSdk = typeof import("@aws-sdk/client-ecr");

export function createEcr(deps: { aws: Pick<AwsClients, "ecr">; signal: AbortSignal }): Ecr {
  const { aws, signal } = deps;
  const options = { abortSignal: signal };
  /**
   * One call: `call` sends it with the SDK's module and the client; a failure becomes an
   * ExternalError naming `ecr:<action>`, except a NotFound when `missing` answers it instead.
   */
  async function send<T>(
    action: string,
    call: (client: ECRClient, sdk: EcrSdk) => Promise<T>,
    missing?: () => T,
  ): Promise<T> {
    const sdk = await import("@aws-sdk/client-ecr");
    const client = await aws.ecr();
    try {
      return await call(client, sdk);
    } catch (error) {
      if (missing && isNotFound(error)) return missing();
      throw awsFailure(error, `ECR ${action}`, `ecr:${action}`);
    }
  }
  return {
    describeRepository: (name) =>
      send(
        "DescribeRepositories",
        async (c, sdk) =>
          (await c.send(new sdk.DescribeRepositoriesCommand({ repositoryNames: [name] }), options))
            .repositories?.[0],
        () => undefined,
      ),

    createRepository: (name, tags) =>
      send("CreateRepository", async (c, sdk) => {
        const command = new sdk.CreateRepositoryCommand({
          repositoryName: name,
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        });
        return (await c.send(command, options)).repository;
      }),

    putImageTagMutability: (name, mutability) =>
      send("PutImageTagMutability", async (c, sdk) => {
        await c.send(
          new sdk.PutImageTagMutabilityCommand({ repositoryName: name, imageTagMutability: mutability }),
          options,
        );
      }),

    putImageScanningConfiguration: (name, scanOnPush) =>
      send("PutImageScanningConfiguration", async (c, sdk) => {
        await c.send(
          new sdk.PutImageScanningConfigurationCommand({
            repositoryName: name,
            imageScanningConfiguration: { scanOnPush },
          }),
          options,
        );
      }),

    // Unreadable reads as none: PutLifecyclePolicy then says what is wrong, with its permission.
    getLifecyclePolicy: (name) =>
      send("GetLifecyclePolicy", (c, sdk) =>
        c.send(new sdk.GetLifecyclePolicyCommand({ repositoryName: name }), options).then(
          (r) => r.lifecyclePolicyText,
          () => undefined,
        ),
      ),

    putLifecyclePolicy: (name, policyText) =>
      send("PutLifecyclePolicy", async (c, sdk) => {
        await c.send(
          new sdk.PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: policyText }),
          options,
        );
      }),

    getAuthorizationToken: () =>
      send(
        "GetAuthorizationToken",
        async (c, sdk) =>
          (await c.send(new sdk.GetAuthorizationTokenCommand({}), options)).authorizationData?.[0],
      ),

    describeImages: (name, tag) =>
      send(
        "DescribeImages",
        async (c, sdk) => {
          const command = new sdk.DescribeImagesCommand({
            repositoryName: name,
            imageIds: [{ imageTag: tag }],
          });
          const details = (await c.send(command, options)).imageDetails ?? [];
          return details.flatMap((d) => (d.imageDigest ? [d.imageDigest] : []));
        },
        () => [],
      ),

    batchDeleteImage: (name, digest) =>
      send<ImageDeletion>(
        "BatchDeleteImage",
        async (c, sdk) => {
          const command = new sdk.BatchDeleteImageCommand({
            repositoryName: name,
            imageIds: [{ imageDigest: digest }],
          });
          const failure = (await c.send(command, options)).failures?.[0];
          if (!failure) return { type: "deleted" };
          if (failure.failureCode === "ImageNotFound") return { type: "not-found" };
          return {
            type: "failed",
            code: String(failure.failureCode ?? "unknown"),
            reason: failure.failureReason ?? "",
          };
        },
        () => ({ type: "not-found" }),
      ),

    countImages: (name) =>
      send(
        "ListImages",
        async (c, sdk) => {
          let count = 0;
          const pages = sdk.paginateListImages(
            { client: c, pageSize: 1000 },
            { repositoryName: name },
            options,
          );
          for await (const page of pages) count += page.imageIds?.length ?? 0;
          return count;
        },
        () => 0,
      ),
  };
}
