import type { AuthorizationData, Repository } from "@aws-sdk/client-ecr";
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
}

export function createEcr(deps: { aws: Pick<AwsClients, "ecr">; signal: AbortSignal }): Ecr {
  const { aws, signal } = deps;
  const sdk = () => import("@aws-sdk/client-ecr");
  const options = { abortSignal: signal };
  /** Sends one call; `missing` answers a NotFound instead of throwing. */
  async function call<T>(action: string, send: () => Promise<T>, missing?: () => T): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (missing && isNotFound(error)) return missing();
      throw awsFailure(error, `ECR ${action}`, `ecr:${action}`);
    }
  }
  return {
    async describeRepository(name) {
      const { DescribeRepositoriesCommand } = await sdk();
      const client = await aws.ecr();
      return call(
        "DescribeRepositories",
        async () =>
          (await client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }), options))
            .repositories?.[0],
        () => undefined,
      );
    },

    async createRepository(name, tags) {
      const { CreateRepositoryCommand } = await sdk();
      const client = await aws.ecr();
      const input = {
        repositoryName: name,
        imageTagMutability: "IMMUTABLE" as const,
        imageScanningConfiguration: { scanOnPush: true },
        tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      };
      return call(
        "CreateRepository",
        async () => (await client.send(new CreateRepositoryCommand(input), options)).repository,
      );
    },

    async putImageTagMutability(name, mutability) {
      const { PutImageTagMutabilityCommand } = await sdk();
      const client = await aws.ecr();
      const command = new PutImageTagMutabilityCommand({
        repositoryName: name,
        imageTagMutability: mutability,
      });
      await call("PutImageTagMutability", () => client.send(command, options));
    },

    async putImageScanningConfiguration(name, scanOnPush) {
      const { PutImageScanningConfigurationCommand } = await sdk();
      const client = await aws.ecr();
      const command = new PutImageScanningConfigurationCommand({
        repositoryName: name,
        imageScanningConfiguration: { scanOnPush },
      });
      await call("PutImageScanningConfiguration", () => client.send(command, options));
    },

    async getLifecyclePolicy(name) {
      const { GetLifecyclePolicyCommand } = await sdk();
      const client = await aws.ecr();
      // Unreadable reads as none: PutLifecyclePolicy then says what is wrong, with its permission.
      return client.send(new GetLifecyclePolicyCommand({ repositoryName: name }), options).then(
        (r) => r.lifecyclePolicyText,
        () => undefined,
      );
    },

    async putLifecyclePolicy(name, policyText) {
      const { PutLifecyclePolicyCommand } = await sdk();
      const client = await aws.ecr();
      const command = new PutLifecyclePolicyCommand({
        repositoryName: name,
        lifecyclePolicyText: policyText,
      });
      await call("PutLifecyclePolicy", () => client.send(command, options));
    },

    async getAuthorizationToken() {
      const { GetAuthorizationTokenCommand } = await sdk();
      const client = await aws.ecr();
      return call(
        "GetAuthorizationToken",
        async () => (await client.send(new GetAuthorizationTokenCommand({}), options)).authorizationData?.[0],
      );
    },

    async describeImages(name, tag) {
      const { DescribeImagesCommand } = await sdk();
      const client = await aws.ecr();
      const command = new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageTag: tag }] });
      return call(
        "DescribeImages",
        async () =>
          ((await client.send(command, options)).imageDetails ?? []).flatMap((d) =>
            d.imageDigest ? [d.imageDigest] : [],
          ),
        () => [],
      );
    },

    async batchDeleteImage(name, digest) {
      const { BatchDeleteImageCommand } = await sdk();
      const client = await aws.ecr();
      const command = new BatchDeleteImageCommand({
        repositoryName: name,
        imageIds: [{ imageDigest: digest }],
      });
      return call<ImageDeletion>(
        "BatchDeleteImage",
        async () => {
          const failure = (await client.send(command, options)).failures?.[0];
          if (!failure) return { type: "deleted" };
          if (failure.failureCode === "ImageNotFound") return { type: "not-found" };
          return {
            type: "failed",
            code: String(failure.failureCode ?? "unknown"),
            reason: failure.failureReason ?? "",
          };
        },
        () => ({ type: "not-found" }),
      );
    },
  };
}
