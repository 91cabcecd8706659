import type { AwsClients } from "../adapters/aws.js";
import { createSageMakerApi } from "../adapters/sagemaker.js";
import type { Reality } from "../engine/gate.js";
import { confirmed, gone } from "./reality.js";

/** DescribeEndpoint: what phases 9 and 10 proved still has an endpoint to be true of. */
export async function endpointStillThere(
  ctx: { aws: Pick<AwsClients, "sagemaker">; signal: AbortSignal },
  name: string,
): Promise<Reality> {
  const endpoint = await createSageMakerApi(ctx).describeEndpoint(name);
  if (endpoint === undefined) return gone(`endpoint ${name} no longer exists`);
  return confirmed(`endpoint ${name} is ${endpoint.EndpointStatus}`);
}
