/**
 * Phases 7, 6 and 5 remove what they created, against a fake SageMaker facade that records every
 * call: NotFound is "already-gone", an endpoint already Deleting is not deleted twice, and a
 * changing endpoint is waited for before anything is deleted.
 */
import { describe, expect, it } from "vitest";
import type { Deletion, DescribedEndpoint, SageMakerApi } from "../../src/adapters/sagemaker.js";
import { parseConfig } from "../../src/config/load.js";
import { modelPhase, removeModels } from "../../src/phases/05-model.js";
import { endpointConfigPhase, removeEndpointConfigs } from "../../src/phases/06-endpoint-config.js";
import { deployPhase, removeEndpoint } from "../../src/phases/07-deploy.js";
import type { PhaseContext } from "../../src/phases/phase.js";
import { tolerant } from "../../src/phases/teardown.js";
import { validConfig } from "../support/project.js";

const WAITER = { minDelaySeconds: 1, maxDelaySeconds: 2 };

/** A fake facade: endpoints by name with a status, existing configs and models; every call recorded. */
function fakeSageMaker(world: {
  endpoint?: Partial<DescribedEndpoint> & { EndpointStatus: string };
  /** Statuses DescribeEndpoint answers after each waitForInService. */
  settlesTo?: string | "timeout";
  configs?: string[];
  models?: string[];
}) {
  const calls: string[] = [];
  let endpoint = world.endpoint
    ? { EndpointName: "gen3d-test-async", EndpointArn: "arn:endpoint", ...world.endpoint }
    : undefined;
  const configs = new Set(world.configs ?? []);
  const models = new Set(world.models ?? []);
  const drop = (set: Set<string>, name: string): Deletion => (set.delete(name) ? "deleted" : "already-gone");
  const api: Pick<
    SageMakerApi,
    | "describeEndpoint"
    | "deleteEndpoint"
    | "waitForInService"
    | "waitForDeleted"
    | "deleteEndpointConfig"
    | "deleteModel"
  > = {
    async describeEndpoint(name) {
      calls.push(`DescribeEndpoint ${name}=${endpoint?.EndpointStatus ?? "none"}`);
      return endpoint;
    },
    async deleteEndpoint(name) {
      calls.push(`DeleteEndpoint ${name}`);
      if (!endpoint) return "already-gone";
      if (endpoint.EndpointStatus !== "InService" && endpoint.EndpointStatus !== "Failed")
        throw new Error(`DeleteEndpoint on a ${endpoint.EndpointStatus} endpoint`);
      endpoint = { ...endpoint, EndpointStatus: "Deleting" };
      return "deleted";
    },
    async waitForInService(name, wait) {
      calls.push(`waitForInService ${name} ${wait.minDelaySeconds}-${wait.maxDelaySeconds}`);
      if (world.settlesTo === "timeout") return { type: "timeout" };
      if (endpoint) endpoint = { ...endpoint, EndpointStatus: world.settlesTo ?? "InService" };
      return { type: "in-service" };
    },
    async waitForDeleted(name, wait) {
      calls.push(`waitForDeleted ${name} ${wait.minDelaySeconds}-${wait.maxDelaySeconds}`);
      endpoint = undefined;
    },
    async deleteEndpointConfig(name) {
      calls.push(`DeleteEndpointConfig ${name}`);
      return drop(configs, name);
    },
    async deleteModel(name) {
      calls.push(`DeleteModel ${name}`);
      return drop(models, name);
    },
  };
  return { api, calls, configs, models };
}

function fakeContext(artifacts: Record<string, unknown>) {
  const config = parseConfig(validConfig(), "gen3d.config.json");
  const progress: string[] = [];
  const state = {
    state: { artifacts },
    async setArtifacts(patch: Record<string, unknown>) {
      Object.assign(artifacts, patch);
    },
  };
  const ctx = { config, state, progress: (line: string) => progress.push(line) };
  return { ctx: ctx as unknown as Pick<PhaseContext, "config" | "state" | "progress">, artifacts, progress };
}

describe("phase 7's teardown: the endpoint", () => {
  it("deletes an InService endpoint once, waits until it is gone, and hands its running config to phase 6", async () => {
    const sm = fakeSageMaker({
      endpoint: { EndpointStatus: "InService", EndpointConfigName: "gen3d-test-cfg-changed" },
    });
    const { ctx, artifacts } = fakeContext({
      endpointName: "gen3d-test-async",
      createdEndpointConfigs: ["gen3d-test-cfg-1"],
    });
    const removed = await removeEndpoint(ctx, sm.api, { waiter: WAITER });
    expect(removed).toEqual([{ kind: "endpoint", name: "gen3d-test-async", result: "deleted" }]);
    expect(sm.calls).toEqual([
      "DescribeEndpoint gen3d-test-async=InService",
      "DeleteEndpoint gen3d-test-async",
      "waitForDeleted gen3d-test-async 1-2",
    ]);
    expect(artifacts.createdEndpointConfigs).toEqual(["gen3d-test-cfg-1", "gen3d-test-cfg-changed"]);
  });

  it("does not delete an endpoint that is already Deleting, only waits for it", async () => {
    const sm = fakeSageMaker({ endpoint: { EndpointStatus: "Deleting" } });
    const { ctx } = fakeContext({ endpointName: "gen3d-test-async" });
    const removed = await removeEndpoint(ctx, sm.api, { waiter: WAITER });
    expect(removed).toEqual([
      { kind: "endpoint", name: "gen3d-test-async", result: "deleted", detail: "was already deleting" },
    ]);
    expect(sm.calls.filter((c) => c.startsWith("DeleteEndpoint"))).toEqual([]);
    expect(sm.calls).toContain("waitForDeleted gen3d-test-async 1-2");
  });

  it("reports a missing endpoint as already gone, without deleting or waiting", async () => {
    const sm = fakeSageMaker({});
    const { ctx } = fakeContext({});
    const removed = await removeEndpoint(ctx, sm.api, { waiter: WAITER });
    expect(removed).toEqual([{ kind: "endpoint", name: "gen3d-test-async", result: "already-gone" }]);
    expect(sm.calls).toEqual(["DescribeEndpoint gen3d-test-async=none"]);
  });

  it("waits for an Updating endpoint to settle before DeleteEndpoint (which fails while it changes)", async () => {
    const sm = fakeSageMaker({ endpoint: { EndpointStatus: "Updating" } });
    const { ctx, progress } = fakeContext({ endpointName: "gen3d-test-async" });
    await removeEndpoint(ctx, sm.api, { waiter: WAITER });
    const waited = sm.calls.indexOf("waitForInService gen3d-test-async 1-2");
    expect(waited).toBeGreaterThan(-1);
    expect(waited).toBeLessThan(sm.calls.indexOf("DeleteEndpoint gen3d-test-async"));
    expect(progress.join("\n")).toMatch(
      /is Updating .*waiting for InService or Failed before removing anything/,
    );
  });

  it("gives up with ENDPOINT_BUSY, deleting nothing, when the endpoint stays Updating", async () => {
    const sm = fakeSageMaker({ endpoint: { EndpointStatus: "Updating" }, settlesTo: "timeout" });
    const { ctx } = fakeContext({ endpointName: "gen3d-test-async" });
    await expect(removeEndpoint(ctx, sm.api, { waiter: WAITER })).rejects.toMatchObject({
      code: "ENDPOINT_BUSY",
      message: expect.stringMatching(/still Updating after .*: nothing was deleted/),
    });
    expect(sm.calls.filter((c) => c.startsWith("Delete"))).toEqual([]);
  });

  it("leaves a running config that is not named for the project to its owner", async () => {
    const sm = fakeSageMaker({
      endpoint: { EndpointStatus: "InService", EndpointConfigName: "someone-elses" },
    });
    const { ctx, artifacts } = fakeContext({ createdEndpointConfigs: ["gen3d-test-cfg-1"] });
    await removeEndpoint(ctx, sm.api, { waiter: WAITER });
    expect(artifacts.createdEndpointConfigs).toEqual(["gen3d-test-cfg-1"]);
  });
});

describe("phases 6 and 5's teardowns: endpoint configs and models", () => {
  it("deletes every recorded config once; one that is gone already is reported so", async () => {
    const sm = fakeSageMaker({ configs: ["gen3d-test-cfg-2"] });
    const { ctx } = fakeContext({
      createdEndpointConfigs: ["gen3d-test-cfg-2", "gen3d-test-cfg-1"],
      endpointConfigName: "gen3d-test-cfg-2",
    });
    expect(await removeEndpointConfigs(ctx, sm.api)).toEqual([
      { kind: "endpoint-config", name: "gen3d-test-cfg-1", result: "already-gone" },
      { kind: "endpoint-config", name: "gen3d-test-cfg-2", result: "deleted" },
    ]);
    expect(sm.calls).toEqual([
      "DeleteEndpointConfig gen3d-test-cfg-1",
      "DeleteEndpointConfig gen3d-test-cfg-2",
    ]);
  });

  it("deletes the recorded models, the current one included", async () => {
    const sm = fakeSageMaker({ models: ["gen3d-test-aaaa-1", "gen3d-test-bbbb-2"] });
    const { ctx } = fakeContext({ createdModels: ["gen3d-test-aaaa-1"], modelName: "gen3d-test-bbbb-2" });
    const removed = await removeModels(ctx, sm.api);
    expect(removed.map((r) => `${r.name}:${r.result}`)).toEqual([
      "gen3d-test-aaaa-1:deleted",
      "gen3d-test-bbbb-2:deleted",
    ]);
    expect(sm.models.size).toBe(0);
    expect(await removeModels(ctx, sm.api)).toEqual([
      { kind: "model", name: "gen3d-test-aaaa-1", result: "already-gone" },
      { kind: "model", name: "gen3d-test-bbbb-2", result: "already-gone" },
    ]);
  });

  it("phases 5, 6 and 7 declare a teardown", () => {
    for (const phase of [modelPhase, endpointConfigPhase, deployPhase])
      expect(phase.teardown).toBeTypeOf("function");
  });
});

describe("tolerant: a raw delete as a Removal", () => {
  const failing = (name: string, message: string) => async () => {
    throw Object.assign(new Error(message), { name });
  };
  it("is already-gone on NotFound, deleted on success, and names the permission otherwise", async () => {
    expect(await tolerant("alarm", "a", "cloudwatch:DeleteAlarms", async () => ({}))).toEqual({
      kind: "alarm",
      name: "a",
      result: "deleted",
    });
    expect(
      await tolerant("alarm", "a", "cloudwatch:DeleteAlarms", failing("ResourceNotFound", "no such alarm")),
    ).toEqual({ kind: "alarm", name: "a", result: "already-gone" });
    await expect(
      tolerant("alarm", "a", "cloudwatch:DeleteAlarms", failing("AccessDeniedException", "denied")),
    ).rejects.toMatchObject({
      code: "AWS_CALL_FAILED",
      hint: expect.stringMatching(/cloudwatch:DeleteAlarms/),
    });
  });
});
