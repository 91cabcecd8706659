import { type CloudWatchClient, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import { awsErrorName } from "./aws-errors.js";

export type Backlog = { type: "known"; count: number; at: Date } | { type: "unknown"; why: string };

/**
 * The async endpoint's queue, from its `ApproximateBacklogSize` metric (namespace AWS/SageMaker,
 * dimension EndpointName; published each minute while the endpoint exists): the latest datapoint
 * of the last `windowMinutes`. Best effort: a metric that cannot be read is `unknown`, with why.
 */
export async function asyncBacklog(
  cloudwatch: CloudWatchClient,
  endpointName: string,
  now: Date,
  signal?: AbortSignal,
  windowMinutes = 10,
): Promise<Backlog> {
  try {
    const out = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: "AWS/SageMaker",
        MetricName: "ApproximateBacklogSize",
        Dimensions: [{ Name: "EndpointName", Value: endpointName }],
        StartTime: new Date(now.getTime() - windowMinutes * 60_000),
        EndTime: now,
        Period: 60,
        Statistics: ["Maximum"],
      }),
      { abortSignal: signal },
    );
    const latest = (out.Datapoints ?? [])
      .filter((d) => d.Timestamp instanceof Date && typeof d.Maximum === "number")
      .sort((a, b) => (b.Timestamp as Date).getTime() - (a.Timestamp as Date).getTime())[0];
    if (!latest)
      return {
        type: "unknown",
        why: `no ApproximateBacklogSize datapoint in the last ${windowMinutes} minutes`,
      };
    return { type: "known", count: Math.round(latest.Maximum as number), at: latest.Timestamp as Date };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { type: "unknown", why: `cloudwatch:GetMetricStatistics failed (${awsErrorName(error)})` };
  }
}
