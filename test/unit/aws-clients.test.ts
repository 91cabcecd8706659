import { afterEach, describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/adapters/aws.js";

describe("AWS clients", () => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  afterEach(() => {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  });

  it("with a local emulator endpoint and no credentials anywhere, use placeholders", async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const sts = await createAwsClients({ region: "us-east-1", endpoint: "http://127.0.0.1:1" }).sts();
    expect((await sts.config.credentials()).accessKeyId).toBe("gen3d-local-emulator");
  });

  it("with an emulator endpoint, credentials from the environment still win", async () => {
    process.env.AWS_ACCESS_KEY_ID = "from-env";
    const s3 = await createAwsClients({ region: "us-east-1", endpoint: "http://127.0.0.1:1" }).s3();
    expect((await s3.config.credentials()).accessKeyId).toBe("from-env");
  });

  it("without an endpoint, missing credentials stay an error (never a placeholder against real AWS)", async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const sts = await createAwsClients({ region: "us-east-1" }).sts();
    await expect(sts.config.credentials()).rejects.toThrow(/credentials/i);
  });
});
