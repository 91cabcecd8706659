import { z } from "zod";
import { inspectImage } from "../../adapters/docker-image.js";
import type { Ecr } from "../../adapters/ecr.js";
import { readRemoteImage } from "../../adapters/registry.js";
import { manifestMediaTypeGate } from "../../checks/manifest.js";
import { runOf } from "../contract.js";
import { type GateResult, gate, type PhaseContext, type PhaseRunResult } from "../phase.js";
import { registryTarget, repoDigestFor } from "./registry-target.js";

/** Bytes and layers of the upload, when the Engine API's stream reported them. */
const transfer = z.object({
  layers: z.number(),
  pushedLayers: z.number(),
  alreadyPresent: z.number(),
  mounted: z.number(),
  pushedBytes: z.number(),
  seconds: z.number(),
});

export const pushEvidence = z.object({
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
  transfer: transfer.optional(),
});
export type PushEvidence = z.infer<typeof pushEvidence>;

/** Phase 4's gates: the repository's settings, the manifest type, the digest, the tested image. */
export async function verifyPush(ctx: PhaseContext, ecr: Ecr, fresh?: PhaseRunResult): Promise<GateResult[]> {
  const recorded = pushEvidence.safeParse(fresh?.evidence ?? runOf(ctx.state.phase(4).evidence));
  if (!recorded.success) {
    return [
      gate("push.evidence", "push recorded", "fail", "phase 4 has no recorded push", {
        hint: "Run it: `gen3d deploy --to 4`.",
      }),
    ];
  }
  const evidence = recorded.data;
  const results: GateResult[] = [];
  const repo = await ecr.describeRepository(evidence.repository.name);
  const immutable = repo?.imageTagMutability === "IMMUTABLE";
  results.push(
    gate(
      "push.repository",
      "ECR repository: immutable tags, scan on push",
      immutable && repo?.imageScanningConfiguration?.scanOnPush ? "pass" : "fail",
      repo
        ? `${evidence.repository.name}: tags ${repo.imageTagMutability ?? "?"}, scan on push ${repo.imageScanningConfiguration?.scanOnPush ?? "?"}`
        : `${evidence.repository.name} does not exist`,
      {
        hint: "Re-run phase 4 to restore IMMUTABLE tags and scan on push.",
      },
    ),
  );
  const target = await registryTarget(ctx, ecr, evidence.repository.uri, false);
  const remote = await readRemoteImage(target, evidence.tag, ctx.signal);
  const remoteName = `${target.host}/${target.repository}`;
  const ref = `${remoteName}:${evidence.tag}`;
  const local = await inspectImage(ctx.docker, ref, ctx.signal);
  const localDigest = repoDigestFor(local?.RepoDigests ?? null, remoteName) ?? evidence.localRepoDigest;
  const digestTitle = "registry digest equals the local RepoDigest";
  if (!remote) {
    results.push(
      gate("push.digest", digestTitle, "fail", `${ref} is not in the registry`, { hint: "Re-run phase 4." }),
    );
    return results;
  }
  results.push(
    manifestMediaTypeGate(
      { ref, mediaType: remote.mediaType, isIndex: remote.isIndex, manifestDigest: remote.manifestDigest },
      evidence.repository.name,
      evidence.tag,
      ctx.config.aws.endpoint,
    ),
  );
  results.push(
    remote.manifestDigest === localDigest
      ? gate("push.digest", digestTitle, "pass", `${remote.manifestDigest}`, {
          evidence: { remote: remote.manifestDigest, local: localDigest },
        })
      : gate(
          "push.digest",
          digestTitle,
          "fail",
          `registry has ${remote.manifestDigest}, local RepoDigest is ${localDigest ?? "missing"}`,
          {
            hint: "The tag points at something else than what was pushed from here; re-run phase 4 (and never push this tag by hand).",
          },
        ),
  );
  const testedTitle = "the pushed image is the one phase 3 tested";
  results.push(
    remote.configDigest === evidence.testedImageId
      ? gate(
          "push.tested",
          testedTitle,
          "pass",
          `image ${remote.configDigest.slice(0, 19)} was tested locally`,
        )
      : gate(
          "push.tested",
          testedTitle,
          "fail",
          `the registry holds image ${remote.configDigest.slice(0, 19)}, but phase 3 tested ${evidence.testedImageId.slice(0, 19)}`,
          {
            hint: "Rebuild, re-test and push (`gen3d deploy --from 2`): what you tested locally must be what you push.",
          },
        ),
  );
  return results;
}
