import { DescribeEndpointConfigCommand, type SageMakerClient } from "@aws-sdk/client-sagemaker";
import { awsFailure, isNotFound } from "./aws-errors.js";

/** DescribeEndpointConfig, or undefined when there is no such config. */
export async function describeEndpointConfig(
  sagemaker: SageMakerClient,
  name: string,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }), {
      abortSignal: signal,
    });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw awsFailure(error, `DescribeEndpointConfig ${name}`, "sagemaker:DescribeEndpointConfig");
  }
}
