/**
 * The SageMaker facade: NotFound is an answer (undefined, "already-gone"), any other failure names
 * the IAM permission, lists read every page, and every call carries the run's abort signal.
 */
import {
  DeleteModelCommand,
  DescribeEndpointConfigCommand,
  ListModelsCommand,
  SageMakerClient,
  SageMakerServiceException,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createSageMakerApi } from "../../src/adapters/sagemaker.js";

const sagemaker = mockClient(SageMakerClient);
const client = new SageMakerClient({
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
});

function exception(name: string, message: string) {
  return new SageMakerServiceException({
    name,
    message,
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

function api(signal = new AbortController().signal) {
  return createSageMakerApi({ aws: { sagemaker: async () => client }, signal });
}

beforeEach(() => sagemaker.reset());

describe("the SageMaker facade", () => {
  it("answers a missing model with already-gone, and a refused delete with the permission to add", async () => {
    sagemaker
      .on(DeleteModelCommand, { ModelName: "gone" })
      .rejects(exception("ValidationException", 'Could not find model "gone".'));
    sagemaker
      .on(DeleteModelCommand, { ModelName: "locked" })
      .rejects(exception("AccessDeniedException", "not authorized"));
    expect(await api().deleteModel("gone")).toBe("already-gone");
    await expect(api().deleteModel("locked")).rejects.toMatchObject({
      code: "AWS_CALL_FAILED",
      message: expect.stringMatching(/^DeleteModel locked failed: AccessDeniedException/),
      hint: expect.stringMatching(/sagemaker:DeleteModel/),
    });
  });

  it("describes a missing endpoint config as undefined, and passes the run's abort signal", async () => {
    sagemaker
      .on(DescribeEndpointConfigCommand)
      .rejects(exception("ValidationException", "Could not find endpoint configuration"));
    const controller = new AbortController();
    expect(await api(controller.signal).describeEndpointConfig("gen3d-test-cfg-1")).toBeUndefined();
    sagemaker.on(UpdateEndpointCommand).resolves({ EndpointArn: "arn" });
    const sent: unknown[] = [];
    const original = client.send.bind(client);
    client.send = ((command: unknown, options: unknown) => {
      sent.push(options);
      return original(command as never, options as never);
    }) as typeof client.send;
    try {
      await api(controller.signal).updateEndpoint("gen3d-test-async", "gen3d-test-cfg-2");
    } finally {
      // Back to the prototype's (mocked) send: an own property would outlive the mock's reset.
      Reflect.deleteProperty(client, "send");
    }
    expect(sent).toEqual([{ abortSignal: controller.signal }]);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input).toEqual({
      EndpointName: "gen3d-test-async",
      EndpointConfigName: "gen3d-test-cfg-2",
    });
  });

  it("lists every page", async () => {
    sagemaker
      .on(ListModelsCommand)
      .resolvesOnce({
        Models: [{ ModelName: "gen3d-test-a", ModelArn: "a", CreationTime: new Date() }],
        NextToken: "p2",
      })
      .resolvesOnce({ Models: [{ ModelName: "gen3d-test-b", ModelArn: "b", CreationTime: new Date() }] });
    const models = await api().listModels("gen3d-test");
    expect(models.map((m) => m.ModelName)).toEqual(["gen3d-test-a", "gen3d-test-b"]);
    // The paginator reuses one input object, so the calls are counted, not their inputs compared.
    expect(sagemaker.commandCalls(ListModelsCommand)).toHaveLength(2);
    expect(sagemaker.commandCalls(ListModelsCommand)[0]?.args[0].input).toMatchObject({
      NameContains: "gen3d-test",
      MaxResults: 100,
    });
  });
});
