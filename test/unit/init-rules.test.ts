import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { typicalDeployLine } from "../../src/catalog/deploy-time.js";
import { main } from "../../src/cli.js";
import { flagProblems, initRules } from "../../src/commands/init-rules.js";
import { SCAFFOLD_ENTRIES } from "../../src/commands/init-scaffold.js";
import { parseConfig } from "../../src/config/load.js";
import { testRuntime } from "../support/fakes.js";
import { validConfig } from "../support/project.js";

describe("init's answer rules are the config schema's", () => {
  it("says why a bucket name is refused, so the prompt can ask again", () => {
    expect(initRules.bucket("demo-bucket")).toBe(true);
    expect(initRules.bucket("My_Bucket")).toMatch(/valid S3 bucket name: upper-case letters are not allowed/);
    expect(initRules.bucket("my_bucket")).toMatch(/underscores are not allowed/);
    expect(initRules.bucket("ab")).toMatch(/3 to 63 characters/);
    expect(initRules.bucket("a..b")).toMatch(/adjacent dots/);
  });

  it("takes only regions where SageMaker runs, with a did-you-mean", () => {
    expect(initRules.region("eu-west-1")).toBe(true);
    expect(initRules.region("us-esat-1")).toMatch(/did you mean us-east-1\?/);
    expect(initRules.region("useast1")).toMatch(/must look like us-east-1/);
  });

  it("project, repository and role follow the schema's own patterns", () => {
    expect(initRules.project("my project")).toMatch(/letters, digits and single hyphens/);
    expect(initRules.repository("Team/Gen3D")).toBe("invalid ECR repository name");
    expect(initRules.repository("team/gen3d")).toBe(true);
    expect(initRules.roleArn("arn:aws:iam::123456789012:user/x")).toMatch(/must be an IAM role ARN/);
  });

  it("endpoint, registry, instance type and image version are checked as flags, named by flag", () => {
    expect(
      flagProblems({
        endpoint: "not a url",
        registry: "http://127.0.0.1:5000/x",
        instanceType: "g6e.xlarge",
        imageVersion: "latest",
      }),
    ).toEqual([
      expect.stringMatching(/^--endpoint not a url: /),
      expect.stringMatching(/^--registry http:\/\/127.0.0.1:5000\/x: must be host or host:port/),
      expect.stringMatching(/^--instance-type g6e.xlarge: must look like ml.g6e.xlarge/),
      expect.stringMatching(/^--image-version latest: never `latest`/),
    ]);
    expect(flagProblems({ endpoint: "http://127.0.0.1:5055", registry: "127.0.0.1:5000" })).toEqual([]);
  });

  it("lists every bad flag at once for a non-interactive init", () => {
    expect(flagProblems({ bucket: "Bad_Bucket", region: "us-east-1", roleArn: "nope" })).toEqual([
      expect.stringMatching(/^--bucket Bad_Bucket: /),
      expect.stringMatching(/^--role-arn nope: /),
    ]);
  });
});

describe("what init scaffolds is what the package ships", () => {
  it('package.json "files" holds each scaffolded entry and no weights or environments', async () => {
    const files = (JSON.parse(await readFile("package.json", "utf8")) as { files: string[] }).files;
    for (const entry of SCAFFOLD_ENTRIES)
      expect(
        files.some((f) => f === `container/${entry}` || f.startsWith(`container/${entry}/`)),
        entry,
      ).toBe(true);
    expect(files.some((f) => /models|\.venv|tests/.test(f))).toBe(false);
  });
});

describe("phase 7's typical wait", () => {
  it("names the instance family and a range that includes the image pull", () => {
    const config = parseConfig(validConfig(), "gen3d.config.json");
    expect(typicalDeployLine(config)).toMatch(/^typical for g6e: \d+m\d{2}s–\d+m\d{2}s$/);
  });
});

describe("non-interactive init outside the repository", () => {
  const flags = ["--project", "demo", "--role-arn", "arn:aws:iam::123456789012:role/demo"];

  it("lists the bad flags and writes nothing", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-flags-"));
    const runtime = testRuntime(dir);
    expect(await main(["init", ...flags, "--bucket", "Bad_Bucket", "--region", "us-esat-1"], runtime)).toBe(
      2,
    );
    expect(runtime.out.stderr).toContain("--bucket Bad_Bucket: must be a valid S3 bucket name");
    expect(runtime.out.stderr).toContain(
      "--region us-esat-1: SageMaker does not run in us-esat-1; did you mean us-east-1?",
    );
    expect(runtime.out.stderr).not.toContain("gen3d resume");
    expect(existsSync(path.join(dir, "gen3d.config.json"))).toBe(false);
  });

  it("copies the reference container, and refuses a --context-dir without a Dockerfile", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-flags-"));
    const runtime = testRuntime(dir);
    expect(await main(["init", ...flags, "--bucket", "demo-bucket", "--json"], runtime)).toBe(0);
    expect(JSON.parse(runtime.out.stdout)).toMatchObject({
      ok: true,
      contextDir: "container",
      scaffolded: true,
    });
    expect(existsSync(path.join(dir, "container", "Dockerfile"))).toBe(true);
    const raw = JSON.parse(await readFile(path.join(dir, "gen3d.config.json"), "utf8"));
    expect(existsSync(path.resolve(dir, raw.$schema))).toBe(true);

    const other = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-flags-"));
    const refused = testRuntime(other);
    expect(await main(["init", ...flags, "--bucket", "demo-bucket", "--context-dir", "mine"], refused)).toBe(
      2,
    );
    expect(refused.out.stderr).toMatch(/mine holds no Dockerfile/);
    expect(existsSync(path.join(other, "gen3d.config.json"))).toBe(false);
  });
});
