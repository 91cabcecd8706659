import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  type CreateEndpointConfigInput,
  type CreateEndpointInput,
  CreateModelCommand,
  type CreateModelInput,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointConfigCommand,
  type DescribeEndpointConfigCommandOutput,
  DescribeModelCommand,
  type DescribeModelCommandOutput,
  type EndpointConfigSummary,
  type EndpointSummary,
  type ModelSummary,
  paginateListEndpointConfigs,
  paginateListEndpoints,
  paginateListModels,
  type SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import type { AwsClients } from "./aws.js";
import { awsFailure, type Deleted, deleteTolerant, unlessNotFound } from "./aws-errors.js";
import {
  type DescribedEndpoint,
  describeEndpoint,
  type WaitOptions,
  type WaitResult,
  waitForDeleted,
  waitForInService,
} from "./sagemaker-endpoint.js";

export {
  type DescribedEndpoint,
  describeEndpointSchema,
  TRANSITIONAL_STATUSES,
  variantCounts,
  type WaitResult,
} from "./sagemaker-endpoint.js";

/** A delete's outcome: a resource that is not there any more counts as removed, not as a failure. */
export type Deletion = Deleted;

/** The waiter's bounds and progress; the abort signal is the facade's own. */
export type EndpointWait = Omit<WaitOptions, "signal">;

/**
 * Every SageMaker call gen3d makes, one method each: the run's abort signal, the error mapped to
 * one that names the IAM permission, paginators for the lists. Describe answers undefined for a
 * resource that does not exist; delete answers "already-gone".
 */
export interface SageMakerApi {
  describeModel(name: string): Promise<DescribeModelCommandOutput | undefined>;
  createModel(input: CreateModelInput & { ModelName: string }): Promise<{ modelArn: string }>;
  deleteModel(name: string): Promise<Deletion>;
  describeEndpointConfig(name: string): Promise<DescribeEndpointConfigCommandOutput | undefined>;
  /** `extraHint` says what else to check when SageMaker refuses the config (an instance type). */
  createEndpointConfig(
    input: CreateEndpointConfigInput & { EndpointConfigName: string },
    extraHint?: (error: unknown) => string | undefined,
  ): Promise<void>;
  deleteEndpointConfig(name: string): Promise<Deletion>;
  describeEndpoint(name: string): Promise<DescribedEndpoint | undefined>;
  createEndpoint(input: CreateEndpointInput & { EndpointName: string }): Promise<void>;
  updateEndpoint(name: string, endpointConfigName: string): Promise<void>;
  deleteEndpoint(name: string): Promise<Deletion>;
  /** `waitUntilEndpointInService`: Failed, gone and a timeout are results, not throws. */
  waitForInService(name: string, options: EndpointWait): Promise<WaitResult>;
  /** `waitUntilEndpointDeleted`: a timeout throws ENDPOINT_DELETE_TIMEOUT. */
  waitForDeleted(name: string, options: EndpointWait): Promise<void>;
  /** Every page of ListEndpoints / ListEndpointConfigs / ListModels whose names contain `nameContains`. */
  listEndpoints(nameContains: string): Promise<EndpointSummary[]>;
  listEndpointConfigs(nameContains: string): Promise<EndpointConfigSummary[]>;
  listModels(nameContains: string): Promise<ModelSummary[]>;
}

export interface SageMakerApiDeps {
  aws: Pick<AwsClients, "sagemaker">;
  signal: AbortSignal;
}

export function createSageMakerApi({ aws, signal }: SageMakerApiDeps): SageMakerApi {
  const options = { abortSignal: signal };

  /** One call: the client, the signal, and the failure named by its action and permission. */
  async function call<T>(
    action: string,
    permission: string,
    send: (client: SageMakerClient) => Promise<T>,
    extraHint?: (error: unknown) => string | undefined,
  ): Promise<T> {
    const client = await aws.sagemaker();
    try {
      return await send(client);
    } catch (error) {
      throw awsFailure(error, action, permission, extraHint?.(error));
    }
  }
  /** A Describe* whose NotFound means "there is none". */
  async function describe<T>(
    action: string,
    permission: string,
    send: (client: SageMakerClient) => Promise<T>,
  ) {
    const client = await aws.sagemaker();
    return unlessNotFound(action, permission, () => send(client));
  }
  /** A Delete* whose NotFound means "already gone". */
  async function remove(
    action: string,
    permission: string,
    send: (client: SageMakerClient) => Promise<unknown>,
  ) {
    const client = await aws.sagemaker();
    return deleteTolerant(action, permission, () => send(client));
  }
  async function every<P, T>(
    permission: string,
    pages: (client: SageMakerClient) => AsyncIterable<P>,
    items: (page: P) => T[] | undefined,
  ): Promise<T[]> {
    return call(`listing SageMaker resources`, permission, async (client) => {
      const out: T[] = [];
      for await (const page of pages(client)) out.push(...(items(page) ?? []));
      return out;
    });
  }
  const pager = (client: SageMakerClient) => ({ client, pageSize: 100 });

  return {
    describeModel: (name) =>
      describe(`DescribeModel ${name}`, "sagemaker:DescribeModel", (c) =>
        c.send(new DescribeModelCommand({ ModelName: name }), options),
      ),
    createModel: (input) =>
      call(
        `CreateModel ${input.ModelName}`,
        "sagemaker:CreateModel (and iam:PassRole on the execution role)",
        async (c) => ({ modelArn: (await c.send(new CreateModelCommand(input), options)).ModelArn ?? "" }),
      ),
    deleteModel: (name) =>
      remove(`DeleteModel ${name}`, "sagemaker:DeleteModel", (c) =>
        c.send(new DeleteModelCommand({ ModelName: name }), options),
      ),
    describeEndpointConfig: (name) =>
      describe(`DescribeEndpointConfig ${name}`, "sagemaker:DescribeEndpointConfig", (c) =>
        c.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }), options),
      ),
    createEndpointConfig: async (input, extraHint) => {
      await call(
        `CreateEndpointConfig ${input.EndpointConfigName}`,
        "sagemaker:CreateEndpointConfig",
        (c) => c.send(new CreateEndpointConfigCommand(input), options),
        extraHint,
      );
    },
    deleteEndpointConfig: (name) =>
      remove(`DeleteEndpointConfig ${name}`, "sagemaker:DeleteEndpointConfig", (c) =>
        c.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }), options),
      ),
    describeEndpoint: async (name) => describeEndpoint(await aws.sagemaker(), name, signal),
    createEndpoint: async (input) => {
      await call(`CreateEndpoint ${input.EndpointName}`, "sagemaker:CreateEndpoint", (c) =>
        c.send(new CreateEndpointCommand(input), options),
      );
    },
    updateEndpoint: async (name, endpointConfigName) => {
      await call(`UpdateEndpoint ${name}`, "sagemaker:UpdateEndpoint", (c) =>
        c.send(
          new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: endpointConfigName }),
          options,
        ),
      );
    },
    deleteEndpoint: (name) =>
      remove(`DeleteEndpoint ${name}`, "sagemaker:DeleteEndpoint", (c) =>
        c.send(new DeleteEndpointCommand({ EndpointName: name }), options),
      ),
    waitForInService: async (name, wait) =>
      waitForInService(await aws.sagemaker(), name, { ...wait, signal }),
    waitForDeleted: async (name, wait) => waitForDeleted(await aws.sagemaker(), name, { ...wait, signal }),
    listEndpoints: (nameContains) =>
      every(
        "sagemaker:ListEndpoints",
        (c) => paginateListEndpoints(pager(c), { NameContains: nameContains }, options),
        (p) => p.Endpoints,
      ),
    listEndpointConfigs: (nameContains) =>
      every(
        "sagemaker:ListEndpointConfigs",
        (c) => paginateListEndpointConfigs(pager(c), { NameContains: nameContains }, options),
        (p) => p.EndpointConfigs,
      ),
    listModels: (nameContains) =>
      every(
        "sagemaker:ListModels",
        (c) => paginateListModels(pager(c), { NameContains: nameContains }, options),
        (p) => p.Models,
      ),
  };
}
