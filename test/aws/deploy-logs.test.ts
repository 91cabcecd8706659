/**
 * A failed create is diagnosed from its own log lines: the tail starts when this create/update
 * started, not at the log group's oldest page, which after a retry belongs to an earlier attempt.
 */
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateEndpointCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  SageMakerServiceException,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createDeployPhase } from "../../src/phases/07-deploy.js";
import { createTestContext, runThrough } from "./support/context.js";

const sagemaker = mockClient(SageMakerClient);
const logs = mockClient(CloudWatchLogsClient);
const ENDPOINT = "http://127.0.0.1:9"; // never reached: every client is mocked
const DAY = 24 * 3600 * 1000;

beforeEach(() => {
  sagemaker.reset();
  logs.reset();
});

describe("phase 7's failure diagnosis reads this attempt's log lines", () => {
  it("a create that fails on GPU memory is not blamed on yesterday's exec format error", async () => {
    const yesterday = Date.now() - DAY;
    const failed = {
      EndpointName: "gen3d-test-async",
      EndpointArn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/gen3d-test-async",
      EndpointConfigName: "gen3d-test-cfg-1",
      EndpointStatus: "Failed" as const,
      FailureReason:
        "The primary container for production variant AllTraffic did not pass the ping health check.",
    };
    sagemaker
      .on(DescribeEndpointCommand)
      .rejectsOnce(
        new SageMakerServiceException({
          name: "ValidationException",
          message: "Could not find endpoint gen3d-test-async",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves(failed);
    sagemaker.on(CreateEndpointCommand).resolves({ EndpointArn: failed.EndpointArn });
    logs.on(DescribeLogStreamsCommand).resolves({
      logStreams: [
        { logStreamName: "AllTraffic/i-new", lastEventTimestamp: Date.now() + 1000 },
        { logStreamName: "AllTraffic/i-old", lastEventTimestamp: yesterday + 1000 },
      ],
    });
    const filters: FilterLogEventsCommandInput[] = [];
    logs.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => {
      filters.push(input);
      // The group's first page is yesterday's attempt; this one's lines come after.
      const old = [
        {
          timestamp: yesterday,
          logStreamName: "AllTraffic/i-old",
          message: "exec /usr/bin/python3: exec format error",
        },
      ];
      const fresh = [
        { timestamp: Date.now(), logStreamName: "AllTraffic/i-new", message: "loading sam3d" },
        {
          timestamp: Date.now(),
          logStreamName: "AllTraffic/i-new",
          message: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
        },
      ];
      const since = input.startTime ?? 0;
      return { events: [...old, ...fresh].filter((e) => e.timestamp >= since) };
    });

    const ctx = await createTestContext({ endpoint: ENDPOINT });
    await ctx.state.setArtifacts({ modelName: "gen3d-test-m", endpointConfigName: "gen3d-test-cfg-1" });
    const before = Date.now();
    await expect(
      runThrough(ctx, [createDeployPhase({ minDelaySeconds: 0.05, maxDelaySeconds: 0.1 })]),
    ).rejects.toMatchObject({ code: "ENDPOINT_FAILED" });

    const error = ctx.state.phase(7).error;
    expect(error?.message).toMatch(/do not fit in the instance's GPU memory/);
    expect(error?.message).not.toMatch(/architecture/);
    expect(filters).toHaveLength(1);
    // From the create's start (less a minute for clock skew), and only the streams written since.
    expect(filters[0]?.startTime).toBeGreaterThanOrEqual(before - 61_000);
    expect(filters[0]?.startTime).toBeLessThanOrEqual(before);
    expect(filters[0]?.logStreamNames).toEqual(["AllTraffic/i-new"]);
  });
});
