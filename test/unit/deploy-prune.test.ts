import { describe, expect, it } from "vitest";
import type { Deleted } from "../../src/adapters/aws-errors.js";
import { ExternalError } from "../../src/engine/errors.js";
import { pruneSuperseded } from "../../src/phases/deploy/prune.js";
import type { DeployContext } from "../../src/phases/deploy/rollout.js";
import { createTestContext, withProgress } from "../support/context.js";

/** A SageMaker that holds `existing` names, deletes them, and refuses or dies where told. */
function fakeSageMaker(existing: string[], faults: { refuse?: string; crashAfter?: string } = {}) {
  const present = new Set(existing);
  const calls: string[] = [];
  const remove = async (name: string): Promise<Deleted> => {
    calls.push(name);
    if (name === faults.refuse)
      throw new ExternalError("AWS_CALL_FAILED", `DeleteEndpointConfig ${name}: access denied`);
    const was = present.delete(name);
    if (name === faults.crashAfter) throw new Error("simulated crash");
    return was ? "deleted" : "already-gone";
  };
  return { present, calls, api: { deleteEndpointConfig: remove, deleteModel: remove } };
}

async function deployContext(lines: string[]) {
  const app = await createTestContext();
  await app.state.setArtifacts({
    modelName: "m-new",
    endpointConfigName: "c-new",
    createdModels: ["m-old", "m-older", "m-new"],
    createdEndpointConfigs: ["c-old", "c-new"],
  });
  const ctx = {
    ...withProgress(app, lines),
    upstream: { modelName: "m-new", endpointConfigName: "c-new" },
  } as unknown as DeployContext;
  return ctx;
}

describe("after a rollout, the superseded configs and models are deleted", () => {
  it("deletes every created config and model but the ones in use, and drops each from the record", async () => {
    const lines: string[] = [];
    const ctx = await deployContext(lines);
    const aws = fakeSageMaker(["m-old", "m-older", "m-new", "c-old", "c-new"]);
    const pruned = await pruneSuperseded(ctx, aws.api);
    expect(pruned).toEqual({ endpointConfigs: ["c-old"], models: ["m-old", "m-older"], kept: [] });
    expect([...aws.present].sort()).toEqual(["c-new", "m-new"]);
    // Configs before models: a config names its model.
    expect(aws.calls).toEqual(["c-old", "m-old", "m-older"]);
    expect(ctx.state.state.artifacts.createdEndpointConfigs).toEqual(["c-new"]);
    expect(ctx.state.state.artifacts.createdModels).toEqual(["m-new"]);
    expect(lines).toContain("removed endpoint config c-old: superseded, no longer in use");

    // Nothing left to prune: no call at all.
    const again = fakeSageMaker([]);
    expect(await pruneSuperseded(ctx, again.api)).toEqual({
      endpointConfigs: [],
      models: [],
      kept: [],
    });
    expect(again.calls).toEqual([]);
  });

  it("a crash between the delete and the record leaves a name the next run finds already gone", async () => {
    const ctx = await deployContext([]);
    const aws = fakeSageMaker(["m-old", "m-older", "c-old"], { crashAfter: "m-old" });
    await expect(pruneSuperseded(ctx, aws.api)).rejects.toThrow("simulated crash");
    // Deleted in AWS, still named in the record: never the other way round.
    expect(aws.present.has("m-old")).toBe(false);
    expect(ctx.state.state.artifacts.createdModels).toContain("m-old");

    const next = fakeSageMaker([...aws.present]);
    const pruned = await pruneSuperseded(ctx, next.api);
    expect(pruned.models).toEqual(["m-old", "m-older"]);
    expect(ctx.state.state.artifacts.createdModels).toEqual(["m-new"]);
  });

  it("a delete AWS refuses keeps the name for destroy and says so, without failing", async () => {
    const lines: string[] = [];
    const ctx = await deployContext(lines);
    const aws = fakeSageMaker(["c-old", "m-old", "m-older"], { refuse: "c-old" });
    const pruned = await pruneSuperseded(ctx, aws.api);
    expect(pruned.kept).toEqual([{ name: "c-old", reason: "DeleteEndpointConfig c-old: access denied" }]);
    expect(pruned.models).toEqual(["m-old", "m-older"]);
    expect(ctx.state.state.artifacts.createdEndpointConfigs).toEqual(["c-old", "c-new"]);
    expect(lines.some((l) => /^kept endpoint config c-old: .*gen3d destroy/.test(l))).toBe(true);
  });
});
