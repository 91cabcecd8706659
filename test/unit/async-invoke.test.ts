/**
 * The async-invocation adapter's edges that moto cannot produce (access denied, a validation
 * error), with aws-sdk-client-mock, plus the emulator probe and the picture-size reader.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import {
  InvokeEndpointAsyncCommand,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
} from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex, submitJob, uploadOnce } from "../../src/adapters/async-invoke.js";
import { waitForJob } from "../../src/adapters/async-wait.js";
import { emulatorEndpoint } from "../../src/adapters/emulator.js";
import { createS3 } from "../../src/adapters/s3.js";
import { syntheticPng } from "../../src/checks/artifacts.js";
import { imageSize, jpegSize } from "../../src/checks/image-size.js";
import type { Clock } from "../../src/phases/phase.js";

const s3Mock = mockClient(S3Client);
const runtimeMock = mockClient(SageMakerRuntimeClient);
const signal = new AbortController().signal;
const s3Client = new S3Client({ region: "us-east-1" });
/** The S3 facade over the mocked client, as phases and commands build it. */
const s3 = createS3({ aws: { s3: async () => s3Client }, signal });

beforeEach(() => {
  s3Mock.reset();
  runtimeMock.reset();
});
afterAll(() => {
  s3Mock.restore();
  runtimeMock.restore();
});

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    message: name,
    $fault: "client",
    $metadata: { httpStatusCode: status },
  });
}

function fakeClock(): Clock & { slept: number[] } {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

const JOB = {
  task: "segment",
  inferenceId: "gen3d-x-segment",
  inputLocation: "s3://b/in/segment.json",
  outputLocation: "s3://b/out/1.out",
  failureLocation: "s3://b/fail/1-error.out",
  submittedAt: "2026-01-01T00:00:00.000Z",
  endpointName: "ep",
};

describe("picture sizes", () => {
  it("reads a JPEG's size from its SOF segment, after an APP0 segment", () => {
    const app0 = [0xff, 0xe0, 0x00, 0x10, ...Buffer.from("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0];
    const sof0 = [
      0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ];
    const jpeg = Uint8Array.from([0xff, 0xd8, ...app0, ...sof0, 0xff, 0xd9]);
    expect(jpegSize(jpeg)).toEqual({ width: 640, height: 480 });
    expect(imageSize(jpeg)).toEqual({ width: 640, height: 480 });
    expect(imageSize(syntheticPng(30, 20))).toEqual({ width: 30, height: 20 });
    expect(imageSize(Buffer.from("GIF89a......"))).toBeUndefined();
    expect(jpegSize(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00]))).toBeUndefined();
  });
});

describe("uploadOnce", () => {
  it("does not upload bytes that are already there", async () => {
    const body = Buffer.from('{"task":"segment"}');
    s3Mock.on(HeadObjectCommand).resolves({ Metadata: { "gen3d-sha256": sha256Hex(body) } });
    const result = await uploadOnce(s3, { bucket: "b", key: "k" }, body, "application/json");
    expect(result.uploaded).toBe(false);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("uploads when the object is missing or holds other bytes, recording their hash", async () => {
    s3Mock
      .on(HeadObjectCommand)
      .rejectsOnce(s3Error("NotFound", 404))
      .resolves({ Metadata: { "gen3d-sha256": "0" } });
    s3Mock.on(PutObjectCommand).resolves({});
    const body = Buffer.from("x");
    expect((await uploadOnce(s3, { bucket: "b", key: "k" }, body, "text/plain")).uploaded).toBe(true);
    expect((await uploadOnce(s3, { bucket: "b", key: "k" }, body, "text/plain")).uploaded).toBe(true);
    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(2);
    expect(puts[0]?.args[0].input.Metadata).toEqual({ "gen3d-sha256": sha256Hex(body) });
  });

  it("names the permission when the bucket refuses", async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error("AccessDenied", 403));
    await expect(
      uploadOnce(s3, { bucket: "b", key: "k" }, Buffer.from("x"), "text/plain"),
    ).rejects.toMatchObject({ code: "AWS_CALL_FAILED", hint: expect.stringMatching(/s3:GetObject/) });
  });
});

describe("submitJob", () => {
  it("sends the InferenceId, JSON content type and a timeout within SageMaker's range", async () => {
    runtimeMock
      .on(InvokeEndpointAsyncCommand)
      .resolves({ OutputLocation: "s3://b/o.out", FailureLocation: "s3://b/f.out" });
    const runtime = new SageMakerRuntimeClient({ region: "us-east-1" });
    const out = await submitJob(
      { runtime, signal },
      {
        endpointName: "ep",
        inputLocation: "s3://b/in.json",
        inferenceId: "gen3d-1",
        invocationTimeoutSeconds: 7200,
      },
    );
    expect(out).toEqual({ outputLocation: "s3://b/o.out", failureLocation: "s3://b/f.out" });
    expect(runtimeMock.commandCalls(InvokeEndpointAsyncCommand)[0]?.args[0].input).toMatchObject({
      EndpointName: "ep",
      InputLocation: "s3://b/in.json",
      InferenceId: "gen3d-1",
      ContentType: "application/json",
      InvocationTimeoutSeconds: 3600,
    });
  });

  it("turns a refusal into an error that says what the endpoint needs", async () => {
    runtimeMock.on(InvokeEndpointAsyncCommand).rejects(
      new SageMakerRuntimeServiceException({
        name: "ValidationError",
        message: "Endpoint ep of account 1 not found.",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const runtime = new SageMakerRuntimeClient({ region: "us-east-1" });
    await expect(
      submitJob(
        { runtime, signal },
        { endpointName: "ep", inputLocation: "s3://b/i", inferenceId: "i", invocationTimeoutSeconds: 60 },
      ),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/InvokeEndpointAsync ep failed: ValidationError: Endpoint ep/),
      hint: expect.stringMatching(/InService.*AsyncInferenceConfig/),
    });
  });
});

describe("waitForJob", () => {
  it("returns the failure object's content when that is what appears", async () => {
    s3Mock
      .on(HeadObjectCommand, { Key: "out/1.out" })
      .rejects(s3Error("NotFound", 404))
      .on(HeadObjectCommand, { Key: "fail/1-error.out" })
      .rejectsOnce(s3Error("NotFound", 404))
      .resolves({});
    s3Mock.on(GetObjectCommand, { Key: "fail/1-error.out" }).resolves({
      Body: { transformToByteArray: async () => Buffer.from("boom") } as never,
    });
    const clock = fakeClock();
    const result = await waitForJob({ s3, signal, clock }, JOB, { timeoutSeconds: 60 });
    expect(result.outcome).toEqual({ type: "failure", body: "boom", seconds: 0.25 });
    expect(clock.slept).toEqual([250]);
  });

  it("backs off up to its cap and gives up at the deadline", async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error("NotFound", 404));
    const clock = fakeClock();
    const result = await waitForJob({ s3, signal, clock }, JOB, { timeoutSeconds: 60, maxDelayMs: 8_000 });
    expect(result.outcome).toMatchObject({ type: "timeout", seconds: 60 });
    expect(Math.max(...clock.slept)).toBe(8_000);
    expect(clock.slept.length).toBeLessThan(20);
  });

  it("stops on an error that waiting cannot cure", async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error("AccessDenied", 403));
    await expect(
      waitForJob({ s3, signal, clock: fakeClock() }, JOB, { timeoutSeconds: 60 }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/HeadObject s3:\/\/b\/out\/1\.out failed: AccessDenied/),
    });
  });
});

describe("emulatorEndpoint", () => {
  it("reads the local emulator's view, and is silent where there is none", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/local-sagemaker/endpoints/ep") {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            counters: { submitted: 3 },
            instances: [],
            backlog: 0,
            coldStarts: [{ totalSeconds: 9 }],
          }),
        );
      } else {
        res.statusCode = 404;
        res.end("{}");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await emulatorEndpoint(base, "ep", signal))?.coldStarts).toEqual([{ totalSeconds: 9 }]);
      expect(await emulatorEndpoint(base, "other", signal)).toBeUndefined();
      expect(await emulatorEndpoint(undefined, "ep", signal)).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // Nothing listens there any more: connection refused is "no breakdown".
    expect(await emulatorEndpoint(base, "ep", signal)).toBeUndefined();
  });
});
