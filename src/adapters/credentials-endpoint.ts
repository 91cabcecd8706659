import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** What the AWS SDKs' container credential provider reads (AWS SDKs and Tools reference guide). */
export interface ContainerCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface CredentialsEndpoint {
  /** The container's environment: AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN. */
  readonly environment: Record<string, string>;
  /** How many credential requests were answered (evidence that the container used the endpoint). */
  readonly served: number;
  close(): Promise<void>;
}

/** Expiration given when the CLI's own credentials carry none: the SDKs refresh well before it. */
const DEFAULT_LIFETIME_MS = 60 * 60 * 1000;

/**
 * The ECS/EKS container credentials endpoint, on 127.0.0.1 for one local test: the container's SDK
 * fetches `GET FULL_URI` with the token in the Authorization header and receives
 * `{AccessKeyId, SecretAccessKey, Token, Expiration}`, refreshing before Expiration. Every answer
 * asks the CLI's credential provider again, so refreshed CLI credentials reach the container.
 *
 * Why: an environment value (`-e AWS_SECRET_ACCESS_KEY`) is readable by anyone who can run
 * `docker inspect` for as long as the container exists. Here the container holds only the URI
 * and a random per-run token, which is worthless once close() has stopped the server.
 */
export async function startCredentialsEndpoint(
  provide: () => Promise<ContainerCredentials>,
  options: { now?: () => Date } = {},
): Promise<CredentialsEndpoint> {
  const now = options.now ?? (() => new Date());
  const token = randomBytes(24).toString("base64url");
  const path = `/gen3d/credentials/${randomBytes(8).toString("hex")}`;
  let served = 0;
  const authorized = (header: string | undefined) => {
    if (header === undefined) return false;
    const given = Buffer.from(header);
    const expected = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const server = http.createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "GET" || request.url !== path) {
      reply(404, { code: "NotFound", message: "no such credentials path" });
      return;
    }
    if (!authorized(request.headers.authorization)) {
      reply(401, { code: "Unauthorized", message: "missing or wrong authorization token" });
      return;
    }
    provide().then(
      (credentials) => {
        served++;
        reply(200, {
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          // botocore reads Token unconditionally; an empty one is not sent with requests.
          Token: credentials.sessionToken ?? "",
          Expiration: (
            credentials.expiration ?? new Date(now().getTime() + DEFAULT_LIFETIME_MS)
          ).toISOString(),
        });
      },
      (error: Error) => reply(500, { code: "CredentialsUnavailable", message: error.message }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    environment: {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}${path}`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
    },
    get served() {
      return served;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
