import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/adapters/aws.js";
import { createLogs } from "../../src/adapters/cloudwatch-logs.js";
import type { ExternalError } from "../../src/engine/errors.js";

const GROUP = "/aws/sagemaker/Endpoints/gen3d-test-async";

describe("CloudWatch Logs facade", () => {
  const client = mockClient(CloudWatchLogsClient);
  const aws = {
    logs: async () => new CloudWatchLogsClient({ region: "us-east-1" }),
  } as unknown as AwsClients;
  const logs = createLogs({ aws, signal: new AbortController().signal });
  beforeEach(() => client.reset());

  it("reads every page of FilterLogEvents from the start time on", async () => {
    client
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [{ message: "a", timestamp: 1 }], nextToken: "t" })
      .resolvesOnce({ events: [{ message: "b", timestamp: 2 }] });
    const events = await logs.filterLogEvents(GROUP, 1000);
    expect(events?.map((e) => e.message)).toEqual(["a", "b"]);
    expect(client.commandCalls(FilterLogEventsCommand)[1]?.args[0].input).toMatchObject({
      logGroupName: GROUP,
      startTime: 1000,
      nextToken: "t",
    });
  });

  it("a missing group is undefined; a refused read names logs:FilterLogEvents", async () => {
    client.on(FilterLogEventsCommand).rejects(
      Object.assign(new Error("The specified log group does not exist"), {
        name: "ResourceNotFoundException",
      }),
    );
    expect(await logs.filterLogEvents(GROUP, 0)).toBeUndefined();
    client
      .on(FilterLogEventsCommand)
      .rejects(Object.assign(new Error("no"), { name: "AccessDeniedException" }));
    const error = (await logs.filterLogEvents(GROUP, 0).catch((e: unknown) => e)) as ExternalError;
    expect(error.code).toBe("AWS_CALL_FAILED");
    expect(error.hint).toContain("`logs:FilterLogEvents`");
  });

  it("a log group exists only under its exact name, not as another group's prefix", async () => {
    client.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: `${GROUP}-other` }] });
    expect(await logs.logGroupExists(GROUP)).toBe(false);
    client
      .on(DescribeLogGroupsCommand)
      .resolves({ logGroups: [{ logGroupName: `${GROUP}-other` }, { logGroupName: GROUP }] });
    expect(await logs.logGroupExists(GROUP)).toBe(true);
  });
});
