import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { seedAccount } from "../support/aws-account.js";
import { testRuntime } from "../support/fakes.js";
import { makeProject, validConfig, writeStateFile } from "../support/project.js";
import { SEED_MISTAKES } from "../support/seed-mistakes.js";
import { useMoto } from "../support/use-moto.js";

/**
 * `gen3d verify --phase 1`, in-process, against moto on 127.0.0.1 and the real Docker engine
 * (the local stack; CI starts it): each seed mistake fails with file, line and fix; the good
 * project passes.
 */
describe("gen3d verify --phase 1", { timeout: 60_000 }, () => {
  const moto = useMoto();
  beforeEach(async () => {
    await seedAccount(moto);
  });

  const withEndpoint = (config: Record<string, unknown>) => ({
    ...config,
    aws: { region: "us-east-1", endpoint: moto.endpoint },
  });

  it("passes on the good project, and prints the cost summary", async () => {
    const dir = await makeProject({ config: withEndpoint(validConfig()) });
    const runtime = testRuntime(dir);
    const code = await main(["verify", "--phase", "1"], runtime);
    expect(runtime.out.stdout).toMatch(
      /✔ `docker run IMAGE serve` reaches the entry point: .*decided in phase 3/,
    );
    expect(runtime.out.stdout).toMatch(/✔ Docker daemon reachable: Docker \d/);
    expect(runtime.out.stdout).toMatch(/✔ execution role exists and trusts SageMaker/);
    expect(runtime.out.stdout).toMatch(/real-time, always on: +\$\d/);
    expect(runtime.out.stdout).toMatch(/- service quota for the instance type: .*not checked/);
    expect(code, runtime.out.stderr).toBe(0);
  });

  it("the built binary (bundled SDK and all) passes on the good project too", async () => {
    const dir = await makeProject({ config: withEndpoint(validConfig()) });
    const result = spawnSync(
      process.execPath,
      [path.resolve("bin/gen3d.js"), "verify", "--phase", "1", "--json"],
      {
        cwd: dir,
        env: { ...process.env, CI: "true" },
        encoding: "utf8",
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; gates: { id: string; status: string }[] };
    expect(report.gates.find((g) => g.id === "aws.identity")?.status).toBe("pass");
  });

  it("verify --phase 2 before phase 2 ever passed fails once, on the missing image, with no drift gate", async () => {
    const dir = await makeProject({ config: withEndpoint(validConfig()) });
    const runtime = testRuntime(dir);
    expect(await main(["verify", "--phase", "2", "--json"], runtime)).toBe(1);
    const report = JSON.parse(runtime.out.stdout) as {
      gates: { id: string; status: string; hint?: string }[];
    };
    const failed = report.gates.filter((g) => g.status === "fail");
    expect(failed.map((g) => g.id)).toEqual(["image.exists"]);
    expect(failed[0]?.hint).toContain("gen3d deploy --to 2");

    // Once phase 2 has passed, an image gone since is drift, and verify says so.
    const at = new Date().toISOString();
    const phase = { status: "passed", attempts: 1, startedAt: at, finishedAt: at, inputHash: "0".repeat(64) };
    await writeStateFile(dir, {
      phases: { "2": phase },
      artifacts: { localImage: "gen3d-test-gone:0.0.1", imageId: `sha256:${"1".repeat(64)}` },
    });
    const again = testRuntime(dir);
    expect(await main(["verify", "--phase", "2", "--json"], again)).toBe(1);
    const drift = (JSON.parse(again.out.stdout) as typeof report).gates.find((g) => g.id === "build.reality");
    expect(drift).toMatchObject({
      status: "fail",
      message: "image gen3d-test-gone:0.0.1 no longer exists locally",
    });
  });

  for (const mistake of SEED_MISTAKES) {
    it(`fails on the seed's mistake: ${mistake.name} (${mistake.seedIssue})`, async () => {
      const config = withEndpoint(mistake.project.config ?? validConfig());
      const dir = await makeProject({ ...mistake.project, config });
      const runtime = testRuntime(dir);
      const code = await main(["verify", "--phase", "1"], runtime);
      expect(code).toBe(1);
      for (const pattern of mistake.expect) expect(runtime.out.stdout).toMatch(pattern);
      const json = testRuntime(dir);
      await main(["verify", "--phase", "1", "--json"], json);
      const report = JSON.parse(json.out.stdout) as { ok: boolean; gates: { id: string; status: string }[] };
      expect(report.ok).toBe(false);
      expect(report.gates.find((g) => g.id === mistake.gate)?.status).toBe("fail");
    });
  }

  it("a deploy re-runs preflight when a file it checks changes, and its gate then fails", async () => {
    const dir = await makeProject({ config: withEndpoint(validConfig()) });
    await main(["deploy", "--to", "1"], testRuntime(dir));
    const unchanged = testRuntime(dir);
    await main(["plan", "--to", "1", "--json"], unchanged);
    expect(JSON.parse(unchanged.out.stdout).phases[0].status).toBe("skipped");

    await writeFile(path.join(dir, "container/requirements.txt"), "flask==3.0.3\ndiffusers\n");
    const changed = testRuntime(dir);
    expect(await main(["deploy", "--to", "1"], changed)).toBe(1);
    expect(changed.out.stderr).toMatch(/requirements\.txt: diffusers/);
  });

  it("reports a broken config as path: message, without a stack trace", async () => {
    const dir = await makeProject({ config: { ...withEndpoint(validConfig()), instanse: {} } });
    const runtime = testRuntime(dir);
    const code = await main(["verify", "--phase", "1"], runtime);
    expect(code).toBe(2);
    expect(runtime.out.stderr).toContain('• instanse: unknown key; did you mean "instance"?');
    expect(runtime.out.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("gen3d --help", () => {
  it("lists init, deploy, resume, verify, status and plan", async () => {
    const runtime = testRuntime(process.cwd());
    expect(await main(["--help"], runtime)).toBe(0);
    for (const command of [
      "init",
      "deploy",
      "resume",
      "verify",
      "status",
      "plan",
      "destroy",
      "logs",
      "cost",
    ]) {
      expect(runtime.out.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });
});
