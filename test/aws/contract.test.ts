import { CreateEndpointConfigCommand, CreateModelCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { describe, expect, it } from "vitest";
import { useMoto } from "../support/use-moto.js";

/**
 * The local AWS judges every request by AWS's published service model (the botocore data
 * files), so every emulator-backed test also proves gen3d's requests are well-formed. These
 * show that a malformed request from the JavaScript SDK (which does not validate ranges or
 * patterns itself) is refused as SageMaker refuses it.
 */
describe("requests are checked against the SageMaker service model", () => {
  const moto = useMoto();
  const client = () =>
    new SageMakerClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });

  it("MaxConcurrentInvocationsPerInstance 0 is refused, naming the member and the bound", async () => {
    const error = await client()
      .send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: "bad-config",
          ProductionVariants: [
            {
              VariantName: "AllTraffic",
              ModelName: "m",
              InstanceType: "ml.g5.xlarge",
              InitialInstanceCount: 1,
            },
          ],
          AsyncInferenceConfig: {
            OutputConfig: { S3OutputPath: "s3://bucket/out" },
            ClientConfig: { MaxConcurrentInvocationsPerInstance: 0 },
          },
        }),
      )
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("ValidationException");
    expect((error as Error).message).toMatch(
      /Value '0' at 'asyncInferenceConfig\.clientConfig\.maxConcurrentInvocationsPerInstance' .* greater than or equal to 1/,
    );
  });

  it("an environment key with a dash is refused; the same model with a valid key is created", async () => {
    const model = (env: Record<string, string>) =>
      new CreateModelCommand({
        ModelName: "contract-model",
        ExecutionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
        PrimaryContainer: { Image: `127.0.0.1:5000/x@sha256:${"0".repeat(64)}`, Environment: env },
      });
    const error = await client()
      .send(model({ "HF-TOKEN": "x" }))
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(/'HF-TOKEN' .* regular expression pattern/);
    const created = await client().send(model({ HF_TOKEN_NAME: "x" }));
    expect(created.ModelArn).toMatch(/contract-model$/);
  });
});
