import {
  type CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  paginateDescribeLogGroups,
  paginateFilterLogEvents,
} from "@aws-sdk/client-cloudwatch-logs";
import type { AwsScope } from "./aws.js";
import { isNotFound, mapFailure, unlessNotFound } from "./aws-errors.js";

/** CloudWatch Logs as gen3d reads it: the endpoint's log group. */
export interface Logs {
  /** The group's last lines, best effort (see tailEndpointLogs). */
  tailEndpointLogs(endpointName: string, options?: { limit?: number; sinceMs?: number }): Promise<LogTail>;
  /** Every event of the group from `startTime` on, all pages; undefined when the group does not exist. */
  filterLogEvents(group: string, startTime: number): Promise<FilteredLogEvent[] | undefined>;
  /** Whether the log group exists (DescribeLogGroups by its name as prefix, every page). */
  logGroupExists(group: string): Promise<boolean>;
}

export function createLogs({ aws, signal }: AwsScope): Logs {
  const options = { abortSignal: signal };
  return {
    tailEndpointLogs: async (endpointName, tail = {}) =>
      tailEndpointLogs(await aws.logs(), endpointName, { ...tail, signal }),
    async filterLogEvents(group, startTime) {
      const client = await aws.logs();
      return unlessNotFound(`FilterLogEvents ${group}`, "logs:FilterLogEvents", async () => {
        const events: FilteredLogEvent[] = [];
        for await (const page of paginateFilterLogEvents(
          { client },
          { logGroupName: group, startTime },
          options,
        ))
          events.push(...(page.events ?? []));
        return events;
      });
    },
    async logGroupExists(group) {
      const client = await aws.logs();
      return mapFailure(`DescribeLogGroups ${group}`, "logs:DescribeLogGroups", async () => {
        for await (const page of paginateDescribeLogGroups(
          { client, pageSize: 50 },
          { logGroupNamePrefix: group },
          options,
        ))
          if ((page.logGroups ?? []).some((g) => g.logGroupName === group)) return true;
        return false;
      });
    },
  };
}

export function endpointLogGroup(endpointName: string): string {
  return `/aws/sagemaker/Endpoints/${endpointName}`;
}

export interface LogTail {
  group: string;
  /** False when the log group does not exist (the container never started, or no logs permission). */
  exists: boolean;
  lines: string[];
  /** Why no lines came back, when none did. */
  note?: string;
}

export function formatEvent(event: FilteredLogEvent): string {
  const at = event.timestamp === undefined ? "" : `${new Date(event.timestamp).toISOString()} `;
  const stream = event.logStreamName ? `[${event.logStreamName.split("/").pop()}] ` : "";
  return `${at}${stream}${(event.message ?? "").replace(/\s+$/, "")}`;
}

/**
 * The last `limit` lines of the endpoint's log group, across every stream, oldest first; with
 * `sinceMs`, only lines from then on (a failure's diagnosis reads its own attempt, not the group's
 * oldest page, which may be an earlier attempt's). Reading the log is best effort: it explains a
 * failure, so its own failure becomes a note, never an error.
 */
export async function tailEndpointLogs(
  logs: CloudWatchLogsClient,
  endpointName: string,
  options: { limit?: number; sinceMs?: number; signal?: AbortSignal } = {},
): Promise<LogTail> {
  const group = endpointLogGroup(endpointName);
  const limit = options.limit ?? 40;
  const abortSignal = options.signal;
  try {
    // Newest streams first: a failed endpoint's useful lines are in the streams it wrote last.
    const streams = await logs.send(
      new DescribeLogStreamsCommand({
        logGroupName: group,
        orderBy: "LastEventTime",
        descending: true,
        limit: 10,
      }),
      { abortSignal },
    );
    // A stream whose last event is older than `sinceMs` belongs to an earlier attempt.
    const since = options.sinceMs;
    const names = (streams.logStreams ?? [])
      .filter(
        (s) => since === undefined || s.lastEventTimestamp === undefined || s.lastEventTimestamp >= since,
      )
      .map((s) => s.logStreamName)
      .filter((n): n is string => Boolean(n));
    if (names.length === 0)
      return {
        group,
        exists: true,
        lines: [],
        note:
          since === undefined
            ? `${group} has no log streams yet`
            : `${group} has no log lines since ${new Date(since).toISOString()}`,
      };
    const events: FilteredLogEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const out = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: group,
          logStreamNames: names,
          ...(options.sinceMs === undefined ? {} : { startTime: options.sinceMs }),
          ...(nextToken ? { nextToken } : {}),
        }),
        { abortSignal },
      );
      events.push(...(out.events ?? []));
      if (events.length > limit * 4) events.splice(0, events.length - limit * 4);
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    events.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    return { group, exists: true, lines: events.slice(-limit).map(formatEvent) };
  } catch (error) {
    if (isNotFound(error)) {
      return {
        group,
        exists: false,
        lines: [],
        note: `log group ${group} does not exist: the container never wrote a line (image pull or role problem?)`,
      };
    }
    return { group, exists: false, lines: [], note: `could not read ${group}: ${(error as Error).message}` };
  }
}
