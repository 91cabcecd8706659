import type { ECRClient } from "@aws-sdk/client-ecr";
import { z } from "zod";
import { awsFailure } from "../adapters/aws-errors.js";
import type { EngineAuth } from "../adapters/docker-engine.js";
import { inspectImage } from "../adapters/docker-image.js";
import { PushProgress, type PushSummary, pushSummaryLine } from "../adapters/docker-progress.js";
import { type RegistryTarget, type RemoteImage, readRemoteImage } from "../adapters/registry.js";
import { manifestMediaTypeGate } from "../checks/manifest.js";
import { confirmed, gone } from "../checks/reality.js";
import { ExternalError, GateFailedError, UserError } from "../engine/errors.js";
import { progressIntervalMs, ThrottledLine } from "../engine/progress.js";
import { localTestRecord } from "../spec/local-test.js";
import { type ContractContext, definePhase } from "./contract.js";
import { type GateResult, gate, type Phase, type PhaseContext } from "./phase.js";

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

const pushEvidence = z.object({
  repository: z.object({
    name: z.string(),
    uri: z.string(),
    tagMutability: z.string().optional(),
    scanOnPush: z.boolean().optional(),
    created: z.boolean(),
  }),
  registry: z.string(),
  tag: z.string(),
  pushed: z.boolean(),
  manifestDigest: z.string(),
  mediaType: z.string().optional(),
  localRepoDigest: z.string().optional(),
  configDigest: z.string(),
  testedImageId: z.string(),
  /** Bytes and layers of the upload, when the Engine API's stream reported them. */
  transfer: z
    .object({
      layers: z.number(),
      pushedLayers: z.number(),
      alreadyPresent: z.number(),
      mounted: z.number(),
      pushedBytes: z.number(),
      seconds: z.number(),
    })
    .optional(),
});
type PushEvidence = z.infer<typeof pushEvidence>;

/** The image phase 2 built and tagged. */
const needs = {
  localImage: z.string().min(1),
  imageId: z.string().min(1),
  imageTag: z.string().min(1),
  localTest: localTestRecord.optional(),
};

function upstream(ctx: ContractContext<typeof needs>) {
  const tested = ctx.upstream.localTest;
  if (ctx.state.phase(3).status !== "passed" || tested === undefined) {
    throw new UserError(
      "UNTESTED_IMAGE",
      "phase 3 (local test) has not passed: nothing is pushed that was not tested locally",
      {
        hint: "Run `gen3d deploy --to 4`.",
      },
    );
  }
  return {
    ref: ctx.upstream.localImage,
    imageId: ctx.upstream.imageId,
    tag: ctx.upstream.imageTag,
    testedImageId: tested.testedImageId,
  };
}

async function ecrSend<T>(
  ctx: PhaseContext,
  action: string,
  send: (client: ECRClient) => Promise<T>,
): Promise<T> {
  try {
    return await send(await ctx.aws.ecr());
  } catch (error) {
    throw awsFailure(error, `ECR ${action}`, `ecr:${action}`);
  }
}

/** The repository exists with IMMUTABLE tags, scan on push and the lifecycle policy; fixes what differs. */
async function ensureRepository(ctx: PhaseContext) {
  const name = ctx.config.ecr.repository;
  const ecr = await import("@aws-sdk/client-ecr");
  let repo = await ecrSend(ctx, "DescribeRepositories", (c) =>
    c
      .send(new ecr.DescribeRepositoriesCommand({ repositoryNames: [name] }), { abortSignal: ctx.signal })
      .then(
        (r) => r.repositories?.[0],
        (error: { name?: string }) => {
          if (error.name === "RepositoryNotFoundException") return undefined;
          throw error;
        },
      ),
  );
  let created = false;
  if (!repo) {
    ctx.progress(`creating ECR repository ${name}`);
    repo = await ecrSend(ctx, "CreateRepository", (c) =>
      c
        .send(
          new ecr.CreateRepositoryCommand({
            repositoryName: name,
            imageTagMutability: "IMMUTABLE",
            imageScanningConfiguration: { scanOnPush: true },
            tags: [{ Key: "gen3d:project", Value: ctx.config.project.name }],
          }),
          { abortSignal: ctx.signal },
        )
        .then((r) => r.repository),
    );
    created = true;
  } else {
    if (repo.imageTagMutability !== "IMMUTABLE") {
      await ecrSend(ctx, "PutImageTagMutability", (c) =>
        c.send(
          new ecr.PutImageTagMutabilityCommand({ repositoryName: name, imageTagMutability: "IMMUTABLE" }),
          { abortSignal: ctx.signal },
        ),
      );
    }
    if (repo.imageScanningConfiguration?.scanOnPush !== true) {
      await ecrSend(ctx, "PutImageScanningConfiguration", (c) =>
        c.send(
          new ecr.PutImageScanningConfigurationCommand({
            repositoryName: name,
            imageScanningConfiguration: { scanOnPush: true },
          }),
          { abortSignal: ctx.signal },
        ),
      );
    }
  }
  const current = await ecrSend(ctx, "GetLifecyclePolicy", (c) =>
    c.send(new ecr.GetLifecyclePolicyCommand({ repositoryName: name }), { abortSignal: ctx.signal }).then(
      (r) => r.lifecyclePolicyText,
      () => undefined,
    ),
  );
  // Only where there is none: a policy the team wrote for its repository is theirs to keep.
  if (!current) {
    await ecrSend(ctx, "PutLifecyclePolicy", (c) =>
      c.send(
        new ecr.PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: LIFECYCLE_POLICY }),
        { abortSignal: ctx.signal },
      ),
    );
  }
  if (!repo?.repositoryUri)
    throw new ExternalError("ECR_FAILED", `ECR returned no URI for repository ${name}`);
  return { name, uri: repo.repositoryUri, created };
}

/**
 * Where the image goes: ECR's registry, or with an endpoint override the configured local registry.
 * `login`: "cli" runs `docker login` (password on stdin), "engine" returns the credentials for the
 * Engine API's auth header; neither puts the password on a command line or in STATE.json.
 */
async function registryTarget(
  ctx: PhaseContext,
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
  const ecr = await import("@aws-sdk/client-ecr");
  const auth = await ecrSend(ctx, "GetAuthorizationToken", (c) =>
    c
      .send(new ecr.GetAuthorizationTokenCommand({}), { abortSignal: ctx.signal })
      .then((r) => r.authorizationData?.[0]),
  );
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

/** Throws unless the tag holds a Docker v2 single-platform manifest (what CreateModel accepts). */
function requireDockerV2(remote: RemoteImage, ref: string, repository: string, tag: string): void {
  const result = manifestMediaTypeGate(
    { ref, mediaType: remote.mediaType, isIndex: remote.isIndex, manifestDigest: remote.manifestDigest },
    repository,
    tag,
  );
  if (result.status !== "pass") {
    throw new GateFailedError("IMAGE_MANIFEST_TYPE", result.message, {
      hint: result.hint,
      details: [`media type: ${remote.mediaType || "(none given)"}`, `digest: ${remote.manifestDigest}`],
    });
  }
}

function repoDigestFor(repoDigests: string[] | null, remoteName: string): string | undefined {
  const entry = (repoDigests ?? []).find((d) => d.startsWith(`${remoteName}@`));
  return entry?.slice(entry.indexOf("@") + 1);
}

/** Phase 4: push the tested image and prove the registry holds exactly it. */
export const pushPhase: Phase = definePhase({
  id: 4,
  name: "push",
  title: "Push to ECR and verify the digest",
  needs,
  produces: z.object({
    repositoryUri: z.string().min(1),
    imageDigest: z.string().min(1),
    imageUri: z.string().min(1),
    pushedTag: z.string().min(1),
  }),

  async inputs(ctx) {
    const { artifacts } = ctx.state.state;
    return {
      imageId: artifacts.imageId,
      tag: artifacts.imageTag,
      repository: ctx.config.ecr.repository,
      registry: ctx.config.aws.registry ?? null,
    };
  },

  async run(ctx) {
    const image = upstream(ctx);
    if (image.testedImageId !== image.imageId) {
      throw new GateFailedError(
        "UNTESTED_IMAGE",
        `image ${image.imageId.slice(0, 19)} is not the ${image.testedImageId.slice(0, 19)} that phase 3 tested`,
        {
          hint: "Re-run phase 3 on this image: `gen3d deploy --from 3`.",
        },
      );
    }
    const repository = await ensureRepository(ctx);
    const engine = ctx.docker.engine ? await ctx.docker.engine(ctx.signal) : undefined;
    const target = await registryTarget(ctx, repository.uri, engine ? "engine" : "cli");
    const remoteName = `${target.host}/${target.repository}`;
    const remoteRef = `${remoteName}:${image.tag}`;
    const before = await readRemoteImage(target, image.tag, ctx.signal);
    let pushed = false;
    let transfer: PushSummary | undefined;
    // First: an OCI manifest or an index under this (immutable) tag is refused whatever it holds.
    if (before) requireDockerV2(before, remoteRef, repository.name, image.tag);
    if (before && before.configDigest !== image.imageId) {
      throw new GateFailedError(
        "TAG_EXISTS",
        `${remoteRef} already exists with other content (image ${before.configDigest.slice(0, 19)}, not ${image.imageId.slice(0, 19)})`,
        {
          hint: "Tags are immutable: bump image.version in gen3d.config.json, or delete the stray tag from the repository if it was pushed by hand.",
        },
      );
    }
    if (!before) {
      ctx.progress(`docker push ${remoteRef}`);
      await ctx.docker.exec(["tag", image.ref, remoteRef], { signal: ctx.signal });
      // Without a terminal, a line every few seconds rather than one per layer event.
      const line = new ThrottledLine(ctx.progress, ctx.clock, progressIntervalMs(ctx.io.isTTY, ctx.env));
      if (engine) {
        const now = () => ctx.clock.now().getTime();
        const progress = new PushProgress(now());
        await engine.push(remoteName, image.tag, {
          auth: target.engineAuth,
          signal: ctx.signal,
          onMessage: (message) => {
            progress.update(message, now());
            line.offer(() => progress.line(now()));
          },
        });
        transfer = progress.summary(now());
        line.force(pushSummaryLine(transfer));
      } else {
        await ctx.docker.exec(["push", remoteRef], {
          signal: ctx.signal,
          onLine: (l) => line.offer(() => l.slice(0, 160)),
        });
      }
      pushed = true;
    } else {
      ctx.progress(`${remoteRef} already holds this image; nothing to push`);
    }
    const after = await readRemoteImage(target, image.tag, ctx.signal);
    if (!after) throw new ExternalError("PUSH_MISSING", `${remoteRef} is not in the registry after the push`);
    // Before anything is recorded: an index digest must never become artifacts.imageUri.
    requireDockerV2(after, remoteRef, repository.name, image.tag);
    const local = await inspectImage(ctx.docker, image.ref, ctx.signal);
    const evidence: PushEvidence = {
      repository: { name: repository.name, uri: repository.uri, created: repository.created },
      registry: target.host,
      tag: image.tag,
      pushed,
      manifestDigest: after.manifestDigest,
      mediaType: after.mediaType,
      localRepoDigest: repoDigestFor(local?.RepoDigests ?? null, remoteName),
      configDigest: after.configDigest,
      testedImageId: image.testedImageId,
      ...(transfer ? { transfer } : {}),
    };
    return {
      outcome: pushed ? (transfer ? pushSummaryLine(transfer) : "pushed") : "unchanged",
      evidence,
      artifacts: {
        repositoryUri: remoteName,
        imageDigest: after.manifestDigest,
        imageUri: `${remoteName}@${after.manifestDigest}`,
        pushedTag: image.tag,
      },
    };
  },

  async verify(ctx, fresh) {
    const recorded = pushEvidence.safeParse(
      fresh?.evidence ?? (ctx.state.phase(4).evidence as { run?: unknown } | undefined)?.run,
    );
    if (!recorded.success) {
      return [
        gate("push.evidence", "push recorded", "fail", "phase 4 has no recorded push", {
          hint: "Run it: `gen3d deploy --to 4`.",
        }),
      ];
    }
    const evidence = recorded.data;
    const results: GateResult[] = [];
    const ecr = await import("@aws-sdk/client-ecr");
    const repo = await ecrSend(ctx, "DescribeRepositories", (c) =>
      c.send(new ecr.DescribeRepositoriesCommand({ repositoryNames: [evidence.repository.name] }), {
        abortSignal: ctx.signal,
      }),
    ).then((r) => r.repositories?.[0]);
    const immutable = repo?.imageTagMutability === "IMMUTABLE";
    results.push(
      gate(
        "push.repository",
        "ECR repository: immutable tags, scan on push",
        immutable && repo?.imageScanningConfiguration?.scanOnPush ? "pass" : "fail",
        `${evidence.repository.name}: tags ${repo?.imageTagMutability ?? "?"}, scan on push ${repo?.imageScanningConfiguration?.scanOnPush ?? "?"}`,
        {
          hint: "Re-run phase 4 to restore IMMUTABLE tags and scan on push.",
        },
      ),
    );
    const target = await registryTarget(ctx, evidence.repository.uri, false);
    const remote = await readRemoteImage(target, evidence.tag, ctx.signal);
    const remoteName = `${target.host}/${target.repository}`;
    const local = await inspectImage(ctx.docker, `${remoteName}:${evidence.tag}`, ctx.signal);
    const localDigest = repoDigestFor(local?.RepoDigests ?? null, remoteName) ?? evidence.localRepoDigest;
    if (!remote) {
      results.push(
        gate(
          "push.digest",
          "registry digest equals the local RepoDigest",
          "fail",
          `${remoteName}:${evidence.tag} is not in the registry`,
          { hint: "Re-run phase 4." },
        ),
      );
      return results;
    }
    results.push(
      manifestMediaTypeGate(
        {
          ref: `${remoteName}:${evidence.tag}`,
          mediaType: remote.mediaType,
          isIndex: remote.isIndex,
          manifestDigest: remote.manifestDigest,
        },
        evidence.repository.name,
        evidence.tag,
      ),
    );
    results.push(
      remote.manifestDigest === localDigest
        ? gate(
            "push.digest",
            "registry digest equals the local RepoDigest",
            "pass",
            `${remote.manifestDigest}`,
            { evidence: { remote: remote.manifestDigest, local: localDigest } },
          )
        : gate(
            "push.digest",
            "registry digest equals the local RepoDigest",
            "fail",
            `registry has ${remote.manifestDigest}, local RepoDigest is ${localDigest ?? "missing"}`,
            {
              hint: "The tag points at something else than what was pushed from here; re-run phase 4 (and never push this tag by hand).",
            },
          ),
    );
    results.push(
      remote.configDigest === evidence.testedImageId
        ? gate(
            "push.tested",
            "the pushed image is the one phase 3 tested",
            "pass",
            `image ${remote.configDigest.slice(0, 19)} was tested locally`,
          )
        : gate(
            "push.tested",
            "the pushed image is the one phase 3 tested",
            "fail",
            `the registry holds image ${remote.configDigest.slice(0, 19)}, but phase 3 tested ${evidence.testedImageId.slice(0, 19)}`,
            {
              hint: "Rebuild, re-test and push (`gen3d deploy --from 2`): what you tested locally must be what you push.",
            },
          ),
    );
    return results;
  },

  /** The registry still holds the recorded digest under the pushed tag. */
  async reality(ctx) {
    const { repositoryUri, imageDigest, pushedTag, imageTag } = ctx.state.state.artifacts;
    // pushedTag is phase 4's own record; imageTag, for a record from before it kept one.
    const tag = typeof pushedTag === "string" ? pushedTag : imageTag;
    if (!repositoryUri || !imageDigest || !tag) return gone("phase 4 recorded no pushed image");
    const target = await registryTarget(ctx, repositoryUri, false);
    const ref = `${target.host}/${target.repository}:${tag}`;
    const remote = await readRemoteImage(target, tag, ctx.signal);
    if (!remote) return gone(`${ref} is no longer in the registry`);
    if (remote.manifestDigest === imageDigest)
      return confirmed(`${ref} still holds ${imageDigest.slice(0, 19)}`);
    return {
      type: "changed",
      reason: `${ref} changed outside gen3d: ${imageDigest.slice(0, 19)} → ${remote.manifestDigest.slice(0, 19)}`,
      changes: [`manifestDigest ${imageDigest} → ${remote.manifestDigest}`],
    };
  },
});
