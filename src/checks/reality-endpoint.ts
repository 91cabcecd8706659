import type { AwsClients } from "../adapters/aws.js";
import { describeEndpoint } from "../adapters/sagemaker-endpoint.js";
import type { Reality } from "../engine/gate.js";
import { confirmed, gone } from "./reality.js";

/** DescribeEndpoint: what phases 9 and 10 proved still has an endpoint to be true of. */
export async function endpointStillThere(
  ctx: { aws: AwsClients; signal: AbortSignal },
  name: string,
): Promise<Reality> {
  const endpoint = await describeEndpoint(await ctx.aws.sagemaker(), name, ctx.signal);
  if (endpoint === undefined) return gone(`endpoint ${name} no longer exists`);
  return confirmed(`endpoint ${name} is ${endpoint.EndpointStatus}`);
}
