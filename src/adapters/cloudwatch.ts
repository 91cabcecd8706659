import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmInput,
} from "@aws-sdk/client-cloudwatch";
import { type MetricAlarm, metricAlarmSchema } from "../spec/autoscaling.js";
import type { AwsScope } from "./aws.js";
import { type Deleted, deleteTolerant, mapFailure } from "./aws-errors.js";
import { asyncBacklog, type Backlog } from "./cloudwatch-metrics.js";

/** CloudWatch as gen3d calls it: the scale-from-zero alarm and the async backlog metric. */
export interface CloudWatch {
  describeAlarm(name: string): Promise<MetricAlarm | undefined>;
  putMetricAlarm(alarm: PutMetricAlarmInput & { AlarmName: string }): Promise<void>;
  deleteAlarm(name: string): Promise<Deleted>;
  /** The async queue (ApproximateBacklogSize); best effort, never throws but on abort. */
  asyncBacklog(endpointName: string, now: Date, windowMinutes?: number): Promise<Backlog>;
}

export async function describeAlarm(
  client: CloudWatchClient,
  name: string,
  signal: AbortSignal,
): Promise<MetricAlarm | undefined> {
  return mapFailure("DescribeAlarms", "cloudwatch:DescribeAlarms", async () => {
    const out = await client.send(
      new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ["MetricAlarm"] }),
      {
        abortSignal: signal,
      },
    );
    const found = (out.MetricAlarms ?? []).find((a) => a.AlarmName === name);
    return found === undefined ? undefined : metricAlarmSchema.parse(found);
  });
}

export function createCloudWatch({ aws, signal }: AwsScope): CloudWatch {
  return {
    describeAlarm: async (name) => describeAlarm(await aws.cloudwatch(), name, signal),
    async putMetricAlarm(alarm) {
      const client = await aws.cloudwatch();
      await mapFailure(`PutMetricAlarm ${alarm.AlarmName}`, "cloudwatch:PutMetricAlarm", () =>
        client.send(new PutMetricAlarmCommand(alarm), { abortSignal: signal }),
      );
    },
    async deleteAlarm(name) {
      const client = await aws.cloudwatch();
      return deleteTolerant(`deleting alarm ${name}`, "cloudwatch:DeleteAlarms", () =>
        client.send(new DeleteAlarmsCommand({ AlarmNames: [name] }), { abortSignal: signal }),
      );
    },
    asyncBacklog: async (endpointName, now, windowMinutes) =>
      asyncBacklog(await aws.cloudwatch(), endpointName, now, signal, windowMinutes),
  };
}
