/**
 * destroy, status --live and logs through the real CLI entry point (`main(argv, runtime)`), with
 * the config pointing every AWS client at moto: proves the commands are wired as the CLI calls them.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { ListEndpointsCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli-in-process.js";
import { expectContract } from "../support/json-contract.js";
import { useMoto } from "../support/use-moto.js";
import { createTestContext, phases5To8, runThrough } from "./support/context.js";

const moto = useMoto();

async function deployedProject() {
  const ctx = await createTestContext({ endpoint: moto.endpoint });
  await runThrough(ctx, phases5To8());
  const file = path.join(ctx.loaded.baseDir, "gen3d.config.json");
  await writeFile(file, JSON.stringify(ctx.config, null, 2));
  return { ctx, file, dir: ctx.loaded.baseDir };
}

const cli = (dir: string, argv: string[], env: Record<string, string> = {}) => runCli(dir, argv, { env });

describe("CLI: status --live, logs, destroy against moto", () => {
  it("status --live --json reports no drift after a deploy", async () => {
    const { dir } = await deployedProject();
    const result = await cli(dir, ["status", "--live", "--json"]);
    expect(result.code).toBe(0);
    const doc = expectContract(result.stdout, "status") as { drift: number; rows: { resource: string }[] };
    expect(doc).toMatchObject({ ok: true, command: "status" });
    expect(doc.drift).toBe(0);
    expect(doc.rows.map((r: { resource: string }) => r.resource)).toEqual([
      "model",
      "endpoint config",
      "endpoint",
      "scalable target",
      "scaling policies",
      "alarm",
    ]);
  });

  it("logs prints the endpoint's lines", async () => {
    const { dir } = await deployedProject();
    const logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint });
    const group = "/aws/sagemaker/Endpoints/gen3d-test-async";
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "AllTraffic/i-9" }));
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: "AllTraffic/i-9",
        logEvents: [{ timestamp: Date.now(), message: "gunicorn listening on 0.0.0.0:8080" }],
      }),
    );
    const result = await cli(dir, ["logs", "--since", "5"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\[i-9\] gunicorn listening on 0\.0\.0\.0:8080/);
    const json = await cli(dir, ["logs", "--since", "5", "--json"]);
    const doc = expectContract(json.stdout, "logs");
    expect(doc).toMatchObject({
      command: "logs",
      group,
      found: true,
      events: [{ message: "gunicorn listening on 0.0.0.0:8080" }],
    });
  });

  it("destroy without --yes and without a terminal refuses and deletes nothing", async () => {
    const { dir } = await deployedProject();
    const refused = await cli(dir, ["destroy"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/NEEDS_CONFIRMATION[\s\S]*--yes/);
    const refusedJson = await cli(dir, ["destroy", "--json"]);
    expect(expectContract(refusedJson.stdout, "errorDocument")).toMatchObject({
      command: "destroy",
      error: { code: "NEEDS_CONFIRMATION", exitCode: 2 },
    });
    const sagemaker = new SageMakerClient({ region: "us-east-1", endpoint: moto.endpoint });
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toHaveLength(1);
  });

  it("destroy --yes removes everything and exits 0", async () => {
    const { dir } = await deployedProject();
    const result = await cli(dir, ["destroy", "--yes"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/deleted\s+endpoint gen3d-test-async/);
    expect(result.stdout).toMatch(/The endpoint, its configs, models, scaling and alarm are gone/);
    expect(result.stdout).not.toMatch(/Nothing of this deployment is left/);
    const again = await cli(dir, ["destroy", "--yes", "--json"]);
    expect(again.code).toBe(0);
    expect(expectContract(again.stdout, "destroy")).toMatchObject({
      ok: true,
      command: "destroy",
      leftovers: [],
    });
    const sagemaker = new SageMakerClient({ region: "us-east-1", endpoint: moto.endpoint });
    expect((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    const status = await cli(dir, ["status", "--live", "--json"]);
    const doc = JSON.parse(status.stdout);
    expect(doc.rows.find((r: { resource: string }) => r.resource === "endpoint").actual).toBe("missing");
    expect(doc.drift).toBe(0);
  });
});
