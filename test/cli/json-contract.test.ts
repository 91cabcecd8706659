import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { dockerDown, testRuntime } from "../support/fakes.js";
import { expectContract } from "../support/json-contract.js";
import { makeProject, validConfig } from "../support/project.js";

const version = (
  JSON.parse(await import("node:fs").then((fs) => fs.readFileSync("package.json", "utf8"))) as {
    version: string;
  }
).version;

/** AWS calls go to a port where nothing listens: they fail at once, with no network. */
const offline = (config: Record<string, unknown>) => ({
  ...config,
  aws: { region: "us-east-1", endpoint: "http://127.0.0.1:9" },
});

async function json(dir: string, argv: string[], extra = {}) {
  const runtime = testRuntime(dir, extra);
  const code = await main([...argv, "--json"], runtime);
  return { code, stdout: runtime.out.stdout, stderr: runtime.out.stderr };
}

describe("one JSON contract: every command's --json matches schema/gen3d-output.schema.json", () => {
  it("init, plan, status, cost: the envelope then the payload; phases carry id, name, status and a reason code", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-json-"));
    const init = await json(dir, [
      "init",
      "--project",
      "demo",
      "--bucket",
      "demo-bucket",
      "--role-arn",
      "arn:aws:iam::123456789012:role/demo",
    ]);
    expect(init.code, init.stderr).toBe(0);
    expect(expectContract(init.stdout, "init")).toMatchObject({ ok: true, command: "init", version });

    const plan = await json(dir, ["plan"]);
    const doc = expectContract(plan.stdout, "run") as { phases: Record<string, unknown>[] };
    expect(Object.keys(doc).slice(0, 3)).toEqual(["ok", "command", "version"]);
    expect(doc).toMatchObject({ ok: true, command: "plan", status: "passed" });
    expect(doc.phases[0]).toMatchObject({
      id: 1,
      name: "preflight",
      status: "would-run",
      reason: "never-run",
      message: "never run",
    });
    expect(doc.phases[1]).toMatchObject({ id: 2, name: "build", reason: "never-run" });

    const cost = await json(dir, [
      "cost",
      "--jobs-per-day",
      "100",
      "--seconds-per-job",
      "20",
      "--region",
      "eu-west-1",
    ]);
    expect(expectContract(cost.stdout, "cost")).toMatchObject({
      command: "cost",
      jobsPerDay: 100,
      secondsPerJob: 20,
      prices: { requested: "eu-west-1", region: "us-east-1", exact: false },
    });

    const none = await json(dir, ["status"]);
    expect(none.code).toBe(2);
    expect(expectContract(none.stdout, "errorDocument")).toMatchObject({
      ok: false,
      command: "status",
      error: { code: "NO_STATE", exitCode: 2 },
    });
  });

  it("a failing deploy and verify are still one document each, with the failing phase and its error", async () => {
    const dir = await makeProject({ config: offline(validConfig()) });
    const deploy = await json(dir, ["deploy", "--to", "1"], { docker: dockerDown() });
    expect(deploy.code).toBe(1);
    const doc = expectContract(deploy.stdout, "run") as { phases: { status: string; error?: unknown }[] };
    expect(doc).toMatchObject({ ok: false, command: "deploy", status: "failed" });
    // An emulator endpoint without a registry is legal but stops phase 4: a warning, in the envelope.
    expect(Object.keys(doc).slice(0, 4)).toEqual(["ok", "command", "version", "warnings"]);
    expect(doc).toMatchObject({
      warnings: [
        { path: "aws.registry", message: expect.stringContaining("phase 4"), hint: expect.any(String) },
      ],
    });
    expect(deploy.stderr.match(/^warning: aws\.registry: /gm)).toHaveLength(1);
    expect(doc.phases[0]).toMatchObject({ id: 1, status: "failed", reason: "never-run" });
    // Progress goes to stderr in every mode: the same plain lines as without a terminal.
    expect(deploy.stderr).toContain("phase 1 preflight: started — never run\n");
    expect(deploy.stderr).toContain("phase 1 preflight: failed\n");
    expect(deploy.stderr).not.toMatch(/\[(STARTED|FAILED)\]/);

    const status = await json(dir, ["status"]);
    expect(expectContract(status.stdout, "status")).toMatchObject({ ok: true, command: "status" });

    const verify = await json(dir, ["verify", "--phase", "1"], { docker: dockerDown() });
    expect(verify.code).toBe(1);
    expect(expectContract(verify.stdout, "verify")).toMatchObject({
      ok: false,
      command: "verify",
      phase: 1,
      status: "failed",
      reason: "gates-failed",
    });
  });

  it("a config warning's shape is checked by the published schema", () => {
    const error = { code: "LOCKED", message: "m", details: [], exitCode: 2 };
    const warned = (warnings: unknown) =>
      JSON.stringify({ ok: false, command: "plan", version, warnings, error });
    const good = [{ path: "timeouts.deploySeconds", message: "m", hint: "h" }];
    expect(expectContract(warned(good), "errorDocument")).toMatchObject({ warnings: good });
    expect(() => expectContract(warned([{ message: "no path" }]), "errorDocument")).toThrow();
  });

  it("usage errors, a missing config and an unknown region under --json print one JSON error document", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-json-"));
    const usage = await json(dir, ["deploy", "--bogus"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--bogus");
    expect(expectContract(usage.stdout, "errorDocument")).toMatchObject({
      ok: false,
      command: "deploy",
      error: { code: "USAGE", exitCode: 2 },
    });

    const badPhase = await json(dir, ["verify", "--phase", "12"]);
    expect(expectContract(badPhase.stdout, "errorDocument")).toMatchObject({ command: "verify" });

    const missing = await json(dir, ["plan"]);
    expect(expectContract(missing.stdout, "errorDocument")).toMatchObject({
      error: { code: "CONFIG_NOT_FOUND" },
    });

    await writeFile(
      path.join(dir, "gen3d.config.json"),
      JSON.stringify({ ...validConfig(), aws: { region: "us-esat-1" } }),
    );
    const region = await json(dir, ["plan"]);
    expect(region.code).toBe(2);
    // The region is one of the config's problems, listed with the others (here the only one).
    const error = expectContract(region.stdout, "errorDocument").error as { code: string; details: string[] };
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.details).toEqual([
      '• aws.region: SageMaker does not run in "us-esat-1"; did you mean us-east-1?',
    ]);
    expect(region.stderr).not.toMatch(/ENOTFOUND|gen3d resume/);
  });
});
