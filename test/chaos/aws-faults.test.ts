import {
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { createTestContext, phases5To8, runThrough } from "../aws/support/context.js";
import { useMoto } from "../support/use-moto.js";

/**
 * AWS answering with faults (the local AWS's POST /local-sagemaker/faults), through the real SDK
 * clients gen3d builds (adaptive retries, 5 attempts): a burst the retries absorb completes the
 * phases; a fault that outlasts them fails the phase with an error naming the cause and the fix,
 * and the same phases complete once the fault is gone — with exactly one of each resource.
 */
const moto = useMoto();
const PHASES = phases5To8();

interface Fault {
  operation: string;
  error: "ThrottlingException" | "InternalFailure" | "ServiceUnavailable" | "SlowDown" | "reset";
  count: number;
}

async function faults(method: "POST" | "GET" | "DELETE", body?: Fault) {
  const response = await fetch(`${moto.endpoint}/local-sagemaker/faults`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    armed: (Fault & { left: number })[];
    injected: { operation: string; error: string }[];
  };
}

async function resources() {
  const sm = new SageMakerClient({
    endpoint: moto.endpoint,
    region: moto.region,
    credentials: moto.credentials,
  });
  return {
    models: (await sm.send(new ListModelsCommand({}))).Models?.length,
    configs: (await sm.send(new ListEndpointConfigsCommand({}))).EndpointConfigs?.length,
    endpoints: (await sm.send(new ListEndpointsCommand({}))).Endpoints?.length,
  };
}

describe("AWS faults during phases 5–8", { timeout: 120_000 }, () => {
  it("a burst of throttling, 5xx and reset connections is absorbed by the SDK's retries", async () => {
    await faults("DELETE");
    await faults("POST", { operation: "CreateModel", error: "ThrottlingException", count: 2 });
    await faults("POST", { operation: "CreateEndpointConfig", error: "ServiceUnavailable", count: 2 });
    await faults("POST", { operation: "CreateEndpoint", error: "InternalFailure", count: 1 });
    await faults("POST", { operation: "PutScalingPolicy", error: "reset", count: 2 });
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await runThrough(ctx, PHASES);
    for (const id of [5, 6, 7, 8]) expect(ctx.state.phase(id).status).toBe("passed");
    const seen = await faults("GET");
    // Every injected fault was met (and retried past): the evidence the SDK saw them.
    expect(seen.armed).toEqual([]);
    expect(seen.injected.map((i) => `${i.operation} ${i.error}`).sort()).toEqual([
      "CreateEndpoint InternalFailure",
      "CreateEndpointConfig ServiceUnavailable",
      "CreateEndpointConfig ServiceUnavailable",
      "CreateModel ThrottlingException",
      "CreateModel ThrottlingException",
      "PutScalingPolicy reset",
      "PutScalingPolicy reset",
    ]);
    expect(await resources()).toEqual({ models: 1, configs: 1, endpoints: 1 });
  });

  it("throttling beyond the retries fails phase 7 naming the cause and the fix; once it stops, the rerun completes with one endpoint", async () => {
    await faults("DELETE");
    await faults("POST", { operation: "CreateEndpoint", error: "ThrottlingException", count: -1 });
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await expect(runThrough(ctx, PHASES)).rejects.toThrow();
    expect(ctx.state.phase(7).status).toBe("failed");
    const error = ctx.state.phase(7).error;
    // What the user reads: the call, that AWS throttled it after the retries, and what to do.
    expect(`${error?.message} ${error?.hint}`).toMatch(/CreateEndpoint/);
    expect(`${error?.message} ${error?.hint}`).toMatch(/ThrottlingException|throttl/i);
    expect(error?.hint).toMatch(/run the command again|retry|wait/i);
    const injected = (await faults("GET")).injected.filter((i) => i.operation === "CreateEndpoint");
    expect(injected.length).toBeGreaterThanOrEqual(5); // the SDK's five attempts (at least), then gen3d gave up
    await faults("DELETE");
    await runThrough(ctx, PHASES);
    for (const id of [5, 6, 7, 8]) expect(ctx.state.phase(id).status).toBe("passed");
    expect(await resources()).toEqual({ models: 1, configs: 1, endpoints: 1 });
  });

  it("5xx beyond the retries fails phase 5; a reset connection beyond them fails phase 6; both complete afterwards", async () => {
    await faults("DELETE");
    await faults("POST", { operation: "CreateModel", error: "InternalFailure", count: -1 });
    const ctx = await createTestContext({ endpoint: moto.endpoint });
    await expect(runThrough(ctx, PHASES)).rejects.toThrow();
    const model = ctx.state.phase(5).error;
    expect(ctx.state.phase(5).status).toBe("failed");
    expect(`${model?.message} ${model?.hint}`).toMatch(/CreateModel/);
    expect(`${model?.message}`).toMatch(/InternalFailure|internal error|500/i);
    expect(model?.hint ?? "").not.toBe("");
    await faults("DELETE");
    await faults("POST", { operation: "CreateEndpointConfig", error: "reset", count: -1 });
    await expect(runThrough(ctx, PHASES)).rejects.toThrow();
    const config = ctx.state.phase(6).error;
    expect(ctx.state.phase(6).status).toBe("failed");
    expect(`${config?.message} ${config?.hint}`).toMatch(/CreateEndpointConfig/);
    expect(`${config?.message} ${config?.hint}`).toMatch(/reset|ECONNRESET|socket hang up/i);
    expect(config?.hint ?? "").not.toBe("");
    await faults("DELETE");
    await runThrough(ctx, PHASES);
    for (const id of [5, 6, 7, 8]) expect(ctx.state.phase(id).status).toBe("passed");
    expect(await resources()).toEqual({ models: 1, configs: 1, endpoints: 1 });
  });
});
