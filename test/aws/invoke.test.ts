/**
 * `gen3d invoke` through the real CLI entry point (`main(argv, runtime)`) against moto, whose
 * InvokeEndpointAsync writes the queued result to the endpoint's S3OutputPath.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/adapters/aws.js";
import { parseS3Uri } from "../../src/adapters/s3.js";
import { pngSize, syntheticPng } from "../../src/checks/artifacts.js";
import { runCli } from "../support/cli-in-process.js";
import { expectContract } from "../support/json-contract.js";
import type { AsyncResult } from "../support/moto/moto.js";
import { useMoto } from "../support/use-moto.js";
import { CallLog, createTestContext, phases5To8, recordingClients, runThrough } from "./support/context.js";

const moto = useMoto();
const BUCKET = "gen3d-test-bucket";
const MASK_KEY = "gen3d/output/inv/photo-mask.png";

async function deployedProject() {
  const ctx = await createTestContext({ endpoint: moto.endpoint });
  await runThrough(ctx, phases5To8());
  const dir = ctx.loaded.baseDir;
  await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(ctx.config, null, 2));
  const s3 = await ctx.aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: MASK_KEY, Body: syntheticPng(96, 64) }));
  await writeFile(path.join(dir, "photo.png"), syntheticPng(96, 64));
  return { ctx, dir };
}

const segmentResult = (): AsyncResult => ({
  data: JSON.stringify({
    status: "success",
    task: "segment",
    session_id: "inv",
    bucket: BUCKET,
    mask_s3_key: MASK_KEY,
    mask_size: [64, 96],
    confidence_score: 0.8,
    embedding_cached: false,
  }),
});

async function cli(dir: string, argv: string[], log = new CallLog()) {
  const aws = recordingClients(createAwsClients({ region: "us-east-1", endpoint: moto.endpoint }), log);
  return { ...(await runCli(dir, argv, { aws })), log };
}

async function s3Json(uri: string) {
  const s3 = await createAwsClients({ region: "us-east-1", endpoint: moto.endpoint }).s3();
  const { bucket, key } = parseS3Uri(uri);
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? "null");
}

describe("gen3d invoke (moto)", () => {
  it("uploads the picture, submits, waits and downloads a mask PNG of the picture's size", async () => {
    const { dir } = await deployedProject();
    await moto.queueAsyncResults([segmentResult()]);
    const result = await cli(dir, [
      "invoke",
      "--task",
      "segment",
      "--image",
      "photo.png",
      "--point",
      "10,20",
      "--out",
      "out",
    ]);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^segment gen3d-inv-[0-9a-z]+-[0-9a-f]{6}: \d+\.\d s from submission to result\n/,
    );
    const mask = path.join(dir, "out", "mask.png");
    expect(result.stdout).toContain(`${mask}  PNG 96×64 for a 96×64 image`);
    expect(pngSize(await readFile(mask))).toEqual({ width: 96, height: 64 });
    const response = JSON.parse(await readFile(path.join(dir, "out", "response.json"), "utf8"));
    expect(response.mask_s3_key).toBe(MASK_KEY);
    expect(result.log.calls.filter((c) => c === "SageMakerRuntime:InvokeEndpointAsync")).toHaveLength(1);
  });

  it("--no-wait prints the InferenceId and output location; --result ID fetches it later", async () => {
    const { dir } = await deployedProject();
    await moto.queueAsyncResults([segmentResult()]);
    const log = new CallLog();
    const submitted = await cli(
      dir,
      ["invoke", "--task", "segment", "--image", "photo.png", "--box", "5,5,60,40", "--no-wait", "--json"],
      log,
    );
    expect(submitted.code).toBe(0);
    const doc = expectContract(submitted.stdout, "invoke") as {
      inferenceId: string;
      record: string;
      outputLocation: string;
    };
    expect(doc).toMatchObject({
      ok: true,
      task: "segment",
      inferenceId: expect.stringMatching(/^gen3d-inv-/),
      outputLocation: expect.stringMatching(/^s3:\/\/gen3d-test-bucket\/gen3d\/output\/.+\.out$/),
    });
    expect(existsSync(doc.record)).toBe(true);
    expect(path.dirname(doc.record)).toBe(path.join(dir, ".gen3d", "invocations"));
    const record = JSON.parse(await readFile(doc.record, "utf8"));
    expect(record).toMatchObject({
      inferenceId: doc.inferenceId,
      endpointName: "gen3d-test-async",
      instancesAtSubmit: 1,
    });
    // The request is what the container's /invocations takes, with the box as given.
    expect(await s3Json(record.inputLocation)).toMatchObject({
      task: "segment",
      prompt_type: "box",
      box: [5, 5, 60, 40],
      session_id: doc.inferenceId,
    });

    const fetched = await cli(dir, ["invoke", "--result", doc.inferenceId, "--json"], log);
    expect(fetched.code).toBe(0);
    const result = expectContract(fetched.stdout, "invoke") as {
      files: { kind: string; path: string }[];
    } & Record<string, unknown>;
    expect(result).toMatchObject({
      ok: true,
      inferenceId: doc.inferenceId,
      outputLocation: doc.outputLocation,
    });
    const mask = result.files.find((f) => f.kind === "mask") as { path: string };
    expect(mask.path).toBe(path.join(dir, "gen3d-results", doc.inferenceId, "mask.png"));
    expect(pngSize(await readFile(mask.path))).toEqual({ width: 96, height: 64 });
    // Fetching did not submit again.
    expect(log.calls.filter((c) => c === "SageMakerRuntime:InvokeEndpointAsync")).toHaveLength(1);
  });

  it("a mask of another size than the picture is reported and exits 1", async () => {
    const { dir } = await deployedProject();
    await writeFile(path.join(dir, "big.png"), syntheticPng(120, 80));
    await moto.queueAsyncResults([segmentResult()]);
    const result = await cli(dir, ["invoke", "--task", "segment", "--image", "big.png"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/PROBLEM .*mask\.png {2}PNG 96×64 for a 120×80 image/);
    // The default prompt is the picture's centre.
    const record = JSON.parse(
      await readFile(
        path.join(dir, ".gen3d", "invocations", `${result.stdout.split(" ")[1]?.replace(/:$/, "")}.json`),
        "utf8",
      ),
    );
    expect(await s3Json(record.inputLocation)).toMatchObject({ prompt_type: "point", point: [60, 40] });
  });

  it("a failure object ends with its content and a non-zero exit", async () => {
    const { dir } = await deployedProject();
    await moto.queueAsyncResults([
      {
        data: JSON.stringify({
          status: "error",
          error: { code: "invalid_request", message: "field 'point' is outside the image", field: "point" },
        }),
        isFailure: true,
      },
    ]);
    const result = await cli(dir, ["invoke", "--task", "segment", "--image", "photo.png"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVOCATION_FAILED.*invalid_request: field 'point' is outside the image/);
    expect(result.stderr).toMatch(/failure object s3:\/\/gen3d-test-bucket\/gen3d\/failures\/.+-error\.out/);
    expect(result.stderr).toMatch(/hint: Fix the request's point/);
  });

  it.each([
    [["invoke"], /needs --task and --image, or --result ID/],
    [["invoke", "--task", "paint"], /--task paint: expected one of get_embedding, segment, generate_3d/],
    [["invoke", "--task", "segment"], /--image FILE is required with --task/],
    [
      ["invoke", "--task", "segment", "--image", "nope.jpg"],
      /--image nope\.jpg: cannot read .*nope\.jpg \(ENOENT\)/,
    ],
    [
      ["invoke", "--task", "segment", "--image", "photo.png", "--point", "10"],
      /--point 10: expected 2 non-negative numbers/,
    ],
    [
      ["invoke", "--task", "segment", "--image", "photo.png", "--point", "500,10"],
      /--point: 500,10 is outside the 96×64 picture/,
    ],
    [
      ["invoke", "--task", "segment", "--image", "photo.png", "--point", "1,1", "--box", "1,1,5,5"],
      /--point or --box, not both/,
    ],
    [["invoke", "--task", "segment", "--image", "photo.png", "--box", "9,9,5,5"], /x2 > x1 and y2 > y1/],
    [["invoke", "--task", "generate_3d", "--image", "photo.png"], /needs --mask FILE/],
    [["invoke", "--task", "get_embedding", "--image", "photo.png", "--point", "1,1"], /takes none/],
    [["invoke", "--result", "gen3d-inv-unknown"], /--result gen3d-inv-unknown: no such invocation recorded/],
    [["invoke", "--result", "x", "--task", "segment"], /--result fetches an earlier job/],
  ])("refuses bad input with the flag and the fix, no stack trace: %j", async (argv, message) => {
    const { dir } = await deployedProject();
    const result = await cli(dir, argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.log.calls.filter((c) => c === "SageMakerRuntime:InvokeEndpointAsync")).toEqual([]);
  });
});
