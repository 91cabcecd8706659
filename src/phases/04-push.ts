import { z } from "zod";
import { inspectImage } from "../adapters/docker-image.js";
import { PushProgress, type PushSummary, pushSummaryLine } from "../adapters/docker-progress.js";
import { createEcr, type Ecr } from "../adapters/ecr.js";
import { type RemoteImage, readRemoteImage } from "../adapters/registry.js";
import { manifestMediaTypeGate } from "../checks/manifest.js";
import { confirmed, gone } from "../checks/reality.js";
import { ExternalError, GateFailedError, UserError } from "../engine/errors.js";
import { progressIntervalMs, ThrottledLine } from "../engine/progress.js";
import { localTestRecord } from "../spec/local-test.js";
import { type ContractContext, definePhase } from "./contract.js";
import type { Phase, PhaseContext } from "./phase.js";
import { ensureRepository, registryTarget, repoDigestFor } from "./push/registry-target.js";
import { removePushedImage } from "./push/teardown.js";
import type { PushEvidence } from "./push/verify.js";
import { verifyPush } from "./push/verify.js";

export { LIFECYCLE_POLICY } from "./push/registry-target.js";

function ecrOf(ctx: PhaseContext): Ecr {
  return createEcr({ aws: ctx.aws, signal: ctx.signal });
}

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

/** Throws unless the tag holds a Docker v2 single-platform manifest (what CreateModel accepts). */
function requireDockerV2(
  remote: RemoteImage,
  ref: string,
  repository: string,
  tag: string,
  endpoint: string | undefined,
): void {
  const result = manifestMediaTypeGate(
    { ref, mediaType: remote.mediaType, isIndex: remote.isIndex, manifestDigest: remote.manifestDigest },
    repository,
    tag,
    endpoint,
  );
  if (result.status !== "pass") {
    throw new GateFailedError("IMAGE_MANIFEST_TYPE", result.message, {
      hint: result.hint,
      details: [`media type: ${remote.mediaType || "(none given)"}`, `digest: ${remote.manifestDigest}`],
    });
  }
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
    const ecr = ecrOf(ctx);
    const repository = await ensureRepository(ctx, ecr);
    const engine = ctx.docker.engine ? await ctx.docker.engine(ctx.signal) : undefined;
    const target = await registryTarget(ctx, ecr, repository.uri, engine ? "engine" : "cli");
    const remoteName = `${target.host}/${target.repository}`;
    const remoteRef = `${remoteName}:${image.tag}`;
    const before = await readRemoteImage(target, image.tag, ctx.signal);
    let pushed = false;
    let transfer: PushSummary | undefined;
    // First: an OCI manifest or an index under this (immutable) tag is refused whatever it holds.
    if (before) requireDockerV2(before, remoteRef, repository.name, image.tag, ctx.config.aws.endpoint);
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
    requireDockerV2(after, remoteRef, repository.name, image.tag, ctx.config.aws.endpoint);
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
    return verifyPush(ctx, ecrOf(ctx), fresh);
  },

  /** The registry still holds the recorded digest under the pushed tag. */
  async reality(ctx) {
    const { repositoryUri, imageDigest, pushedTag, imageTag } = ctx.state.state.artifacts;
    // pushedTag is phase 4's own record; imageTag, for a record from before it kept one.
    const tag = typeof pushedTag === "string" ? pushedTag : imageTag;
    if (!repositoryUri || !imageDigest || !tag) return gone("phase 4 recorded no pushed image");
    const target = await registryTarget(ctx, ecrOf(ctx), repositoryUri, false);
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

  /** With --delete-images: the pushed image, by digest (not through a registry standing in for ECR). */
  async teardown(ctx, options) {
    if (!options.deleteImages) return [];
    return removePushedImage(ecrOf(ctx), {
      repository: ctx.config.ecr.repository,
      digest: ctx.state.state.artifacts.imageDigest,
      registry: ctx.config.aws.registry,
    });
  },
});
