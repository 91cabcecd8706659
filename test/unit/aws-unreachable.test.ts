import http from "node:http";
import type { AddressInfo } from "node:net";
import { ListEndpointsCommand } from "@aws-sdk/client-sagemaker";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterEach, describe, expect, it } from "vitest";
import { createAccount } from "../../src/adapters/account.js";
import { createAutoscaling } from "../../src/adapters/autoscaling.js";
import { createAwsClients, MAX_ATTEMPTS } from "../../src/adapters/aws.js";
import { connectionRefused } from "../../src/adapters/aws-errors.js";
import { ExternalError } from "../../src/engine/errors.js";
import { freePort } from "../support/local-stack.js";

/** An AWS JSON endpoint on loopback that answers each request from a script, counting them. */
async function scriptedAws(answers: ((res: http.ServerResponse) => void)[]) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const answer = answers[Math.min(requests, answers.length - 1)] as (res: http.ServerResponse) => void;
      requests++;
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, requests: () => requests, close: () => new Promise((r) => server.close(r)) };
}

const throttled = (res: http.ServerResponse) => {
  res.writeHead(400, {
    "content-type": "application/x-amz-json-1.1",
    "x-amzn-errortype": "ThrottlingException",
  });
  res.end(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }));
};
const unavailable = (res: http.ServerResponse) => {
  res.writeHead(503, { "content-type": "application/x-amz-json-1.1" });
  res.end(JSON.stringify({ __type: "ServiceUnavailable", message: "try again" }));
};
const ok = (res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
  res.end(JSON.stringify({ Endpoints: [] }));
};

describe("an unreachable AWS fails fast; a throttling or failing one is retried", () => {
  const servers: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it("a closed loopback port: one attempt, the endpoint named, the local AWS's start command as the fix", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const sts = await createAwsClients({ region: "us-east-1", endpoint }).sts();
    const error = await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalError);
    const failure = error as ExternalError;
    expect(failure.code).toBe("AWS_UNREACHABLE");
    expect(failure.message).toContain(`nothing listens on ${endpoint}`);
    expect(failure.hint).toContain("scripts/local-aws.sh up");
    // The SDK's own count: before, adaptive mode retried ECONNREFUSED 5 times per call.
    expect((failure.cause as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(1);
  });

  it("through a facade, a refused connection is still one attempt and AWS_UNREACHABLE, not a permission problem", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const aws = createAwsClients({ region: "us-east-1", endpoint });
    const signal = new AbortController().signal;
    const error = await createAccount({ aws, signal })
      .callerIdentity()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AWS_UNREACHABLE", message: expect.stringContaining(endpoint) });
    expect(
      ((error as ExternalError).cause as { $metadata?: { attempts?: number } }).$metadata?.attempts,
    ).toBe(1);
    const gone = await createAutoscaling({ aws, signal })
      .deregisterScalableTarget("endpoint/x/variant/AllTraffic")
      .catch((e: unknown) => e);
    expect(gone).toMatchObject({ code: "AWS_UNREACHABLE" });
  });

  it("without aws.endpoint, a refused connection gets the network hint", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 52.94.0.1:443"), { code: "ECONNREFUSED" });
    const error = connectionRefused(refused, undefined, "GetCallerIdentityCommand");
    expect(error.code).toBe("AWS_UNREACHABLE");
    expect(error.message).toContain("GetCallerIdentity");
    expect(error.hint).toMatch(/network, a proxy \(HTTPS_PROXY\) or VPN/);
    expect(error.hint).not.toContain("local-aws.sh");
  });

  it("throttling keeps the SDK's retries: two ThrottlingExceptions, then the answer", async () => {
    const aws = await scriptedAws([throttled, throttled, ok]);
    servers.push(aws);
    const sagemaker = await createAwsClients({ region: "us-east-1", endpoint: aws.endpoint }).sagemaker();
    const result = await sagemaker.send(new ListEndpointsCommand({}));
    expect(result.Endpoints).toEqual([]);
    expect(aws.requests()).toBe(3);
    expect(result.$metadata.attempts).toBe(3);
  });

  it("a 503 keeps the SDK's retries", async () => {
    const aws = await scriptedAws([unavailable, ok]);
    servers.push(aws);
    const sagemaker = await createAwsClients({ region: "us-east-1", endpoint: aws.endpoint }).sagemaker();
    await sagemaker.send(new ListEndpointsCommand({}));
    expect(aws.requests()).toBe(2);
  });

  it("throttling that outlasts the retries fails after every attempt, as a throttle (not as unreachable)", async () => {
    const aws = await scriptedAws([throttled]);
    servers.push(aws);
    const sagemaker = await createAwsClients({ region: "us-east-1", endpoint: aws.endpoint }).sagemaker();
    const error = (await sagemaker.send(new ListEndpointsCommand({})).catch((e: unknown) => e)) as {
      name: string;
      $metadata: { attempts: number };
    };
    expect(error.name).toBe("ThrottlingException");
    expect(error.$metadata.attempts).toBe(MAX_ATTEMPTS);
    expect(aws.requests()).toBe(MAX_ATTEMPTS);
  }, 60_000);
});
