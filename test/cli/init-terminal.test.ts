import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";

/**
 * `gen3d init` as a person runs it: the bundled CLI in a pseudo-terminal (util-linux `script`),
 * answered keystroke by keystroke, in an empty directory outside this repository.
 */
const BUNDLE = path.resolve("node_modules/.cache", `gen3d-init-terminal-${process.pid}`);
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what it strips
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][A-Z0-9]|\r/g;

/** Its own bundle (not dist/, which other runs may be rebuilding), inside the package as when installed. */
beforeAll(async () => {
  await build({
    entryPoints: { cli: "src/cli.ts" },
    outdir: BUNDLE,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    mainFields: ["module", "main"],
    target: "node20",
    logLevel: "error",
    external: ["dockerode"],
    banner: {
      js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
    },
  });
  await writeFile(
    path.join(BUNDLE, "main.mjs"),
    'import { run } from "./cli.js";\nrun(process.argv.slice(2));\n',
  );
});
afterAll(async () => {
  await rm(BUNDLE, { recursive: true, force: true });
});

class Terminal {
  private screen = "";
  private seen = 0;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(cwd: string, args: string[]) {
    const command = [process.execPath, path.join(BUNDLE, "main.mjs"), ...args].map((a) => `'${a}'`).join(" ");
    this.child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd,
      // A terminal, not CI: init asks.
      env: { ...process.env, CI: "", NO_COLOR: "1", TERM: "xterm", COLUMNS: "200" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => {
      this.screen += d.toString().replace(ANSI, "");
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** Waits until the text shown since the last answer matches. */
  async expect(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const fresh = this.screen.slice(this.seen);
      const match = pattern.exec(fresh);
      if (match) {
        this.seen += match.index + match[0].length;
        return fresh;
      }
      if (Date.now() > until)
        throw new Error(`timed out waiting for ${pattern}; the terminal shows:\n${this.screen.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  type(keys: string): void {
    this.child.stdin?.write(keys);
  }

  get all(): string {
    return this.screen;
  }
}

const ENTER = "\r";
const CLEAR_LINE = "\u0015";
const DOWN = "\u001b[B";

describe("gen3d init in a terminal", { timeout: 90_000 }, () => {
  it("re-asks a bad bucket name and a mistyped region, then writes a config that works where it stands", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-tty-"));
    expect(path.relative(process.cwd(), dir).startsWith("..")).toBe(true);
    const term = new Terminal(dir, ["init"]);

    await term.expect(/Project name/);
    term.type(`demo${ENTER}`);
    await term.expect(/AWS region/);
    term.type(`us-esat-1${ENTER}`);
    await term.expect(/did you mean us-east-1\?/);
    term.type(`${CLEAR_LINE}us-east-1${ENTER}`);

    await term.expect(/S3 bucket/);
    term.type(`My_Bucket${ENTER}`);
    // Asked again, with the reason, the earlier answers kept.
    await term.expect(/valid S3 bucket name: upper-case letters are not allowed/);
    term.type(`${CLEAR_LINE}demo-bucket${ENTER}`);

    await term.expect(/ECR repository/);
    term.type(ENTER);
    await term.expect(/execution role ARN/);
    term.type(`arn:aws:iam::123456789012:user/demo${ENTER}`);
    await term.expect(/must be an IAM role ARN/);
    term.type(`${CLEAR_LINE}arn:aws:iam::123456789012:role/demo${ENTER}`);

    await term.expect(/Models/);
    term.type(DOWN);
    await term.expect(/SAM 3 only/);
    term.type(ENTER);
    await term.expect(/Instance type/);
    term.type(ENTER);
    await term.expect(/Copy gen3d's reference container/);
    term.type(ENTER);

    expect(await term.exited).toBe(0);
    const raw = JSON.parse(await readFile(path.join(dir, "gen3d.config.json"), "utf8"));
    const config = parseConfig(raw, path.join(dir, "gen3d.config.json"));
    expect(config.s3.bucket).toBe("demo-bucket");
    expect(config.aws.region).toBe("us-east-1");
    expect(config.ecr.repository).toBe("demo");
    expect(config.executionRoleArn).toBe("arn:aws:iam::123456789012:role/demo");
    // "SAM 3 only" means it: SAM 3D is disabled, not merely unmentioned.
    expect(config.models.find((m) => m.name === "sam3d")?.enabled).toBe(false);
    expect(config.models.find((m) => m.name === "sam3")?.enabled).toBe(true);

    // Nothing points at a file that is not there: the schema and the context exist from here.
    expect(existsSync(path.resolve(dir, raw.$schema))).toBe(true);
    expect(existsSync(path.join(dir, config.image.contextDir, "Dockerfile"))).toBe(true);
    const copied = await readdir(path.join(dir, "container"));
    expect(copied).toEqual(
      expect.arrayContaining(["Dockerfile", ".dockerignore", "gen3d_serving", "models"]),
    );
    expect(copied).not.toContain(".venv");
    expect(copied).not.toContain("tests");
    expect(await readdir(path.join(dir, "container", "models", "sam3"))).toEqual([]);

    // The closing lines: where the weights go, where they come from, what to run next.
    const screen = term.all;
    expect(screen).toContain("container/models/sam3/");
    expect(screen).toContain("facebook/sam3");
    expect(screen).toMatch(/licence/);
    expect(screen).toMatch(/sam3d: disabled/);
    expect(screen).toMatch(/next: gen3d plan/);
    expect(screen).not.toContain("gen3d resume");
  });

  it("fills expectedSizeBytes from weights already in place", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-tty-"));
    const term = new Terminal(dir, [
      "init",
      "--project",
      "sized",
      "--region",
      "eu-west-1",
      "--bucket",
      "sized-bucket",
      "--repository",
      "sized",
      "--role-arn",
      "arn:aws:iam::123456789012:role/sized",
    ]);
    await term.expect(/Models/);
    term.type(ENTER);
    await term.expect(/Instance type/);
    term.type(ENTER);
    await term.expect(/Copy gen3d's reference container/);
    term.type(ENTER);
    expect(await term.exited).toBe(0);

    // Weights arrive; a second init (--force) measures them.
    await writeFile(path.join(dir, "container/models/sam3/model.safetensors"), Buffer.alloc(12_345));
    await writeFile(path.join(dir, "container/models/sam3d/pipeline.yaml"), "a: 1\n");
    const again = new Terminal(dir, [
      "init",
      "--force",
      "--project",
      "sized",
      "--region",
      "eu-west-1",
      "--bucket",
      "sized-bucket",
      "--repository",
      "sized",
      "--role-arn",
      "arn:aws:iam::123456789012:role/sized",
    ]);
    await again.expect(/Models/);
    again.type(ENTER);
    await again.expect(/Instance type/);
    again.type(ENTER);
    expect(await again.exited).toBe(0);
    const raw = JSON.parse(await readFile(path.join(dir, "gen3d.config.json"), "utf8"));
    expect(raw.models.map((m: { expectedSizeBytes: number }) => m.expectedSizeBytes)).toEqual([12_345, 5]);
    expect(again.all).toMatch(/present: 12\.3 KB/);
  });
});
