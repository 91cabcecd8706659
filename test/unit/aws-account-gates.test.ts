import { describe, expect, it } from "vitest";
import type { Account } from "../../src/adapters/account.js";
import { awsFailure } from "../../src/adapters/aws-errors.js";
import { awsGates } from "../../src/checks/aws-account.js";
import { passRoleGate } from "../../src/checks/aws-passrole.js";
import { quotaGate, quotaVerdict } from "../../src/checks/aws-quota.js";
import { parseConfig } from "../../src/config/load.js";
import { validConfig } from "../support/project.js";

const config = parseConfig(validConfig(), "x"); // ml.g6e.xlarge, initialCount 1, maxCount 2
const QUOTA = "ml.g6e.xlarge for endpoint usage";
const trust = encodeURIComponent(
  JSON.stringify({
    Statement: [
      { Effect: "Allow", Principal: { Service: "sagemaker.amazonaws.com" }, Action: "sts:AssumeRole" },
    ],
  }),
);

/** What the facade throws for an SDK error (the facade maps every failure so). */
const mapped = (name: string, action: string, permission: string) =>
  awsFailure(Object.assign(new Error(`${name} happened`), { name }), action, permission);

/** A healthy account; each test breaks the part it is about. */
function fakeAccount(overrides: Partial<Account> = {}): Account & { simulated: string[] } {
  const simulated: string[] = [];
  return {
    endpoint: undefined,
    simulated,
    callerIdentity: async () => ({
      Account: "123456789012",
      Arn: "arn:aws:iam::123456789012:user/dev",
      UserId: "AIDA",
    }),
    getRole: async () => ({ arn: config.executionRoleArn, trustPolicy: trust }),
    simulatePassRole: async (principal) => {
      simulated.push(principal);
      return "allowed";
    },
    bucketAccess: async () => "reachable",
    quotaValue: async () => ({ value: 4, code: "L-1", source: "applied" }),
    runningFleet: async () => undefined,
    ...overrides,
  };
}

const byId = async (account: Account) =>
  Object.fromEntries((await awsGates(config, account)).map((g) => [g.id, g]));

describe("quota gate over recorded evidence", () => {
  it("a quota of 0 fails, naming the quota, its code and the increase to ask for", () => {
    const result = quotaVerdict(config, { value: 0, code: "L-1", source: "applied" });
    expect(result.status).toBe("fail");
    expect(result.message).toBe(`${QUOTA}: 0 (applied); needed 2: instance.maxCount`);
    expect(result.hint).toContain(
      `Request an increase of "${QUOTA}" (Service Quotas console, code L-1) to at least 2`,
    );
  });

  it("a running fleet of the same type raises the need by instance.initialCount", () => {
    const running = { instances: 2, instanceType: "ml.g6e.xlarge" };
    const result = quotaVerdict(config, { value: 2, source: "AWS default" }, running);
    expect(result).toMatchObject({
      status: "fail",
      evidence: { needed: 3, value: 2, source: "AWS default" },
    });
    expect(result.message).toMatch(/an update adds 1 instance\(s\).*to the 2 running/);
    // Another type's instances do not count against this type's quota.
    expect(
      quotaVerdict(config, { value: 2, source: "applied" }, { ...running, instanceType: "ml.g5.xlarge" })
        .status,
    ).toBe("pass");
  });

  it("an unlisted quota is not checked, with where to look", () => {
    expect(quotaVerdict(config, undefined)).toMatchObject({
      status: "not-checked",
      message: `quota "${QUOTA}" was not listed; not checked`,
    });
  });

  it("Service Quotas refusing is 'not checked' naming the SDK's error, not the facade's", async () => {
    const account = fakeAccount({
      quotaValue: async () => {
        throw mapped("AccessDeniedException", "reading the quota", "servicequotas:ListServiceQuotas");
      },
    });
    expect(await quotaGate(config, account)).toMatchObject({
      status: "not-checked",
      message: "Service Quotas did not answer (AccessDeniedException); not checked",
    });
  });
});

describe("account gates with a fake facade", () => {
  it("pass, reading each gate's evidence from the facade", async () => {
    const gates = await byId(fakeAccount());
    expect(Object.values(gates).map((g) => `${g.id} ${g.status}`)).toEqual([
      "aws.identity pass",
      "aws.execution-role pass",
      "aws.bucket pass",
      "aws.pass-role pass",
      "aws.quota pass",
    ]);
    expect(gates["aws.identity"]?.evidence).toMatchObject({ account: "123456789012" });
  });

  it("a refused identity stops there; the message names the gate, the hint the permission", async () => {
    const account = fakeAccount({
      callerIdentity: async () => {
        throw mapped("AccessDeniedException", "GetCallerIdentity", "sts:GetCallerIdentity");
      },
    });
    const gates = await byId(account);
    expect(Object.keys(gates)).toEqual(["aws.identity"]);
    expect(gates["aws.identity"]).toMatchObject({
      status: "fail",
      message: "AWS credentials work failed: AccessDeniedException: AccessDeniedException happened",
      hint: expect.stringContaining("`sts:GetCallerIdentity`"),
    });
  });

  it("a missing role, a missing bucket and a denied bucket fail with the fix", async () => {
    const gates = await byId(
      fakeAccount({ getRole: async () => undefined, bucketAccess: async () => "missing" }),
    );
    expect(gates["aws.execution-role"]).toMatchObject({
      status: "fail",
      message: "IAM role gen3d-sagemaker does not exist in account 123456789012",
      hint: expect.stringContaining("fix executionRoleArn"),
    });
    expect(gates["aws.bucket"]).toMatchObject({ status: "fail", hint: expect.stringContaining("aws s3 mb") });
    const denied = await byId(fakeAccount({ bucketAccess: async () => "denied" }));
    expect(denied["aws.bucket"]?.message).toBe("access to bucket gen3d-test-bucket is denied");
  });
});

describe("pass-role gate", () => {
  it("simulates the assumed role's IAM ARN (with its path), not the session", async () => {
    const account = fakeAccount({
      getRole: async () => ({ arn: "arn:aws:iam::123456789012:role/teams/Deployer" }),
    });
    const gate = await passRoleGate(config, account, {
      arn: "arn:aws:sts::123456789012:assumed-role/Deployer/ci-session",
    });
    expect(gate.status).toBe("pass");
    expect(account.simulated).toEqual(["arn:aws:iam::123456789012:role/teams/Deployer"]);
  });

  it("an implicit deny fails with the statement to add; a refused simulator is 'not checked'", async () => {
    const denied = await passRoleGate(config, fakeAccount({ simulatePassRole: async () => "implicitDeny" }), {
      arn: "arn:aws:iam::123456789012:user/dev",
    });
    expect(denied).toMatchObject({
      status: "fail",
      hint: expect.stringContaining(`iam:PassRole on ${config.executionRoleArn}`),
    });
    const refused = await passRoleGate(
      config,
      fakeAccount({
        simulatePassRole: async () => {
          throw mapped("AccessDenied", "SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy");
        },
      }),
      { arn: "arn:aws:iam::123456789012:user/dev" },
    );
    expect(refused).toMatchObject({
      status: "not-checked",
      message: expect.stringContaining("(AccessDenied)"),
    });
  });

  it("the account root needs no simulation", async () => {
    const account = fakeAccount();
    const gate = await passRoleGate(config, account, { arn: "arn:aws:iam::123456789012:root" });
    expect(gate.status).toBe("pass");
    expect(account.simulated).toEqual([]);
  });
});
