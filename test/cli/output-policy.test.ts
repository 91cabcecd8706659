import { readFileSync } from "node:fs";
import { access, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { awsFailure } from "../../src/adapters/aws-errors.js";
import { main, stdoutWriter } from "../../src/cli.js";
import { COMMANDS } from "../../src/commands/definitions.js";
import { stoppedRunHint } from "../../src/commands/deploy.js";
import { withoutNoise } from "../../src/commands/render.js";
import { colorEnabled, createIo } from "../../src/engine/output.js";
import { StateStore } from "../../src/engine/state.js";
import { localTestGates } from "../../src/phases/03-local-test.js";
import { dockerDown, testRuntime } from "../support/fakes.js";
import { makeProject, validConfig, writeStateFile } from "../support/project.js";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;

async function projectWithState(state: Record<string, unknown>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-out-"));
  await writeFile(path.join(dir, "gen3d.config.json"), JSON.stringify(validConfig()));
  const now = new Date(Date.now() - 3 * 60_000).toISOString();
  await writeStateFile(
    dir,
    { history: [{ at: now, event: "phase-passed", phase: 2, detail: "0.2.0-9f8e7d6c5b4a" }], ...state },
    now,
  );
  return { dir, now };
}

describe("the program: help, version, exit codes, colours", () => {
  it("every command's --help shows its examples and the global options", async () => {
    for (const command of COMMANDS) {
      const runtime = testRuntime(os.tmpdir());
      expect(await main([command.name, "--help"], runtime)).toBe(0);
      expect(runtime.out.stdout, command.name).toContain("Examples:");
      expect(runtime.out.stdout, command.name).toContain(`$ ${command.examples[0]}`);
      expect(runtime.out.stdout, command.name).toMatch(/Global Options:[\s\S]*--json[\s\S]*--no-color/);
    }
  });

  it("--version prints package.json's version", async () => {
    const runtime = testRuntime(os.tmpdir());
    expect(await main(["--version"], runtime)).toBe(0);
    expect(runtime.out.stdout.trim()).toBe(version);
  });

  it("an unexpected error exits 70 (not 1, a failed gate) and says how to report it", async () => {
    const { dir } = await projectWithState({ phases: {}, artifacts: {} });
    const runtime = testRuntime(dir, {
      clock: {
        now: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'at')");
        },
        sleep: async () => {},
      },
    });
    expect(await main(["status"], runtime)).toBe(70);
    expect(runtime.out.stderr).toMatch(/bug in gen3d[\s\S]*report it[\s\S]*--verbose/);
    expect(runtime.out.stderr).not.toContain("TypeError: Cannot read"); // the stack: --verbose only
  });

  it("colour: NO_COLOR set and non-empty or --no-color turn it off, FORCE_COLOR turns it on", () => {
    expect(colorEnabled({ env: {}, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: { NO_COLOR: "1" }, isTTY: true })).toBe(false);
    expect(colorEnabled({ env: { NO_COLOR: "" }, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: {}, isTTY: true, noColor: true })).toBe(false);
    expect(colorEnabled({ env: { FORCE_COLOR: "1" }, isTTY: false })).toBe(true);
    expect(colorEnabled({ env: { FORCE_COLOR: "0" }, isTTY: true })).toBe(false);
    expect(createIo({ env: { FORCE_COLOR: "1", CI: "true" } }).color).toBe(true);
  });

  it("--no-color and FORCE_COLOR reach the output", async () => {
    const { dir } = await projectWithState({
      phases: { "1": { status: "passed", attempts: 1 } },
      artifacts: {},
    });
    const forced = testRuntime(dir, { env: { CI: "true", FORCE_COLOR: "1" } });
    await main(["status"], forced);
    expect(forced.out.stdout).toContain("\u001b[32mpassed");
    const plain = testRuntime(dir, { env: { CI: "true", FORCE_COLOR: "1" } });
    await main(["--no-color", "status"], plain);
    expect(plain.out.stdout).not.toContain("\u001b[");
  });
});

describe("hints that fit the situation", () => {
  it("a failed gate shows its fix once, names the check, and deploy lists the phases once", async () => {
    const dir = await makeProject({
      config: { ...validConfig(), aws: { region: "us-east-1", endpoint: "http://127.0.0.1:9" } },
    });
    const runtime = testRuntime(dir, { docker: dockerDown() });
    expect(await main(["deploy", "--to", "1"], runtime)).toBe(1);
    const all = runtime.out.stderr + runtime.out.stdout;
    const fixes = [...all.matchAll(/fix: (.+)/g)].map((m) => m[1]);
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) expect(all.split(fix as string).length - 1, fix).toBe(1);
    expect(all).not.toMatch(/hint: .*\n[\s\S]*fix: |gate\(s\) failed/);
    expect(all).toMatch(/Docker daemon reachable: /);
    // One phase list: the run's lines on stderr, no table of the same phases afterwards.
    expect(runtime.out.stdout).not.toMatch(/^#\s+phase/m);
    // A record now exists: resume is the right next step.
    expect(all).toContain("gen3d resume");
  });

  it("gen3d resume is suggested only where there is a run to resume", async () => {
    const credentials = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    const hint = (awsFailure(credentials, "GetCallerIdentity") as { hint?: string }).hint ?? "";
    expect(hint).toMatch(/refresh them/);
    expect(hint).not.toContain("gen3d resume");

    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-out-"));
    const empty = await StateStore.open(path.join(dir, "STATE.json"), "p");
    const { InterruptedError, GateFailedError } = await import("../../src/engine/errors.js");
    expect(stoppedRunHint(new InterruptedError(), empty)).toBeUndefined();
    await empty.setPhase(1, { status: "failed", attempts: 1 });
    expect(stoppedRunHint(new InterruptedError(), empty)).toMatch(/gen3d resume/);
    expect(stoppedRunHint(new GateFailedError("GATE_X", "no", { hint: "Fix X." }), empty)).toBe(
      "Fix X; then `gen3d resume` carries on from that phase.",
    );

    const missing = testRuntime(dir);
    expect(await main(["--config", "nope.json", "deploy"], missing)).toBe(2);
    expect(missing.out.stderr).toContain("gen3d init");
    expect(missing.out.stderr).not.toContain("gen3d resume");
  });

  it("a task that failed in the local test shows the removed container's log lines, not `docker logs`", () => {
    const gates = localTestGates(
      {
        imageId: "sha256:1",
        image: "x",
        boundTo: "sha256:1",
        startup: { healthy: true, budgetSeconds: 60, exitedEarly: false },
        pings: { count: 3, maxMs: 5, slow: 0, failed: 0 },
        tasks: {
          segment: { ok: false, ms: 10, status: 500, problem: "HTTP 500", artifacts: [] },
        },
        logs: { problems: [], tail: ["ERROR request 4f2a: KeyError 'mask'"] },
      },
      ["segment"],
      "sha256:1",
    );
    const failed = gates.find((g) => g.status === "fail" && g.title === "segment works");
    expect(failed?.hint).not.toContain("docker logs");
    expect(failed?.details?.join("\n")).toContain("ERROR request 4f2a");
  });
});

describe("honest status", () => {
  it("marks artifacts from an older run stale beside current ones, and renders teardown readably", async () => {
    const { dir } = await projectWithState({
      phases: {
        "2": { status: "passed", attempts: 2, finishedAt: new Date().toISOString() },
        "4": { status: "stale", attempts: 1, note: "phase 2 passed with changed inputs" },
      },
      artifacts: {
        imageTag: "0.2.0-9f8e7d6c5b4a",
        imageUri:
          "1.dkr.ecr.us-east-1.amazonaws.com/gen3d@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        teardown: { at: "2026-12-01T10:00:00.000Z", removed: ["endpoint gen3d-async"], leftovers: [] },
      },
    });
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(0);
    const out = runtime.out.stdout;
    expect(out).toMatch(/imageTag\s+0\.2\.0-9f8e7d6c5b4a\s*$/m);
    expect(out).toMatch(
      /imageUri\s+\S+@sha256:aaaaaaaaaaaa…\s+stale: from an earlier run \(phase 4 is stale\)/,
    );
    expect(out).toMatch(/teardown\s+at: [^;]+ ago; removed: \[endpoint gen3d-async\]/);
    expect(out).not.toContain("[object Object]");
    expect(out).not.toMatch(ISO);
    expect(out).toMatch(/3 min ago/);

    const verbose = testRuntime(dir);
    await main(["status", "--verbose"], verbose);
    expect(verbose.out.stdout).toMatch(ISO);
    expect(verbose.out.stdout).toContain("a".repeat(64));

    const json = testRuntime(dir);
    await main(["status", "--json"], json);
    expect(JSON.parse(json.out.stdout).staleArtifacts).toEqual(["imageUri"]);
  });

  it("a skipped phase's line loses its timestamp and input hash unless --verbose", () => {
    expect(
      withoutNoise(
        "phase 2 build: skipped — passed 2026-12-02T06:00:00.123Z, inputs unchanged (9f8e7d6c), image sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef exists\n",
        new Date("2026-12-02T06:03:00.000Z"),
      ),
    ).toBe(
      "phase 2 build: skipped — passed 3 min ago, inputs unchanged, image sha256:0123456789ab… exists\n",
    );
  });

  it("plan without a terminal prints a plan, not listr's skipped tasks or warnings", async () => {
    const dir = await makeProject({ config: validConfig() });
    const runtime = testRuntime(dir);
    expect(await main(["plan"], runtime)).toBe(0);
    expect(runtime.out.stdout).toMatch(/^1\s+Preflight checks\s+run\s+never run$/m);
    expect(runtime.out.stdout).toContain("gen3d deploy would run 10 phase(s)");
    expect(runtime.out.stderr).not.toMatch(/SKIPPED|would run,|⚠/);
  });
});

describe("walkthrough wording", () => {
  it("status with no config and no record points at `gen3d init`, not deploy", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-empty-"));
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(2);
    expect(runtime.out.stderr).toMatch(/NO_STATE[\s\S]*hint[\s\S]*gen3d init/);
  });

  it("resume's verdict says resume passed", async () => {
    const { renderRunResult } = await import("../../src/commands/render.js");
    const io = { color: false, verbose: false };
    const report = { status: "passed", phases: [] } as unknown as Parameters<typeof renderRunResult>[1];
    expect(renderRunResult(io, report, "resume")).toContain("resume passed: 0 ran");
    expect(renderRunResult(io, report)).toContain("deploy passed: 0 ran");
  });

  it("cost in us-east-1 names the region once", async () => {
    const { pricesFor } = await import("../../src/catalog/regions.js");
    expect(pricesFor("us-east-1").note).not.toContain("the same on-demand prices as us-east-1");
    expect(pricesFor("us-east-1").note.match(/us-east-1/g)).toHaveLength(1);
    expect(pricesFor("us-east-2").note).toContain("the same on-demand prices as us-east-1");
  });

  it("a JSON usage error keeps commander's suggestion out of the message, in the hint", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-usage-"));
    const runtime = testRuntime(dir);
    expect(await main(["deploy", "--frm", "3", "--json"], runtime)).toBe(2);
    const doc = JSON.parse(runtime.out.stdout) as { error: { code: string; message: string; hint: string } };
    expect(doc.error.code).toBe("USAGE");
    expect(doc.error.message).not.toContain("\n");
    expect(doc.error.hint).toContain("Did you mean --from?");
  });

  it("an invalid option value without --json is an Error [USAGE], not commander's raw line", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-usage-"));
    const runtime = testRuntime(dir);
    expect(await main(["cost", "--jobs-per-day", "-5"], runtime)).toBe(2);
    expect(runtime.out.stderr).toMatch(
      /^Error \[USAGE\]: option '--jobs-per-day <n>' argument '-5' is invalid/,
    );
    expect(runtime.out.stderr).not.toMatch(/^error:/m);
  });

  it("init with flags that break a rule across fields names the key, writes nothing, blames no file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-"));
    const runtime = testRuntime(dir);
    const flags = [
      "--project",
      "demo",
      "--bucket",
      "demo-bucket",
      "--role-arn",
      "arn:aws:iam::123456789012:role/r",
    ];
    expect(await main(["init", ...flags, "--registry", "127.0.0.1:5000", "--yes"], runtime)).toBe(2);
    expect(runtime.out.stderr).toMatch(/^Error \[INIT_INVALID\]: cannot write a config with these values/);
    expect(runtime.out.stderr).toMatch(/aws\.registry: only meaningful with aws\.endpoint/);
    expect(runtime.out.stderr).not.toMatch(/gen3d\.config\.json has/);
    await expect(access(path.join(dir, "gen3d.config.json"))).rejects.toThrow();
  });

  it("init --json's hint for bad flags does not say 'above'", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-init-"));
    const runtime = testRuntime(dir);
    const flags = ["--project", "Bad Name!", "--bucket", "b", "--role-arn", "nope"];
    expect(await main(["init", ...flags, "--json"], runtime)).toBe(2);
    const doc = JSON.parse(runtime.out.stdout) as { error: { code: string; hint: string } };
    expect(doc.error.code).toBe("INIT_INVALID");
    expect(doc.error.hint).not.toContain("above");
  });
});

describe("timestamps read as relative times without --verbose", () => {
  it("status after a destroy: the note keeps its time, scaleToZeroObservedAt keeps a value", async () => {
    const at = new Date(Date.now() - 3 * 60_000).toISOString();
    const { dir } = await projectWithState({
      phases: { "7": { status: "stale", attempts: 1, note: `resources removed by gen3d destroy at ${at}` } },
      artifacts: { autoscaling: { scaleToZeroObservedAt: at, minCapacity: 0 } },
    });
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(0);
    expect(runtime.out.stdout).toContain("resources removed by gen3d destroy 3 min ago");
    expect(runtime.out.stdout).toContain("scaleToZeroObservedAt: 3 min ago");
    expect(runtime.out.stdout).not.toMatch(ISO);
  });

  it("status --live's header reads relative, ISO only with --verbose", async () => {
    const { renderLiveStatus } = await import("../../src/commands/status-live.js");
    const status = {
      project: "p",
      region: "us-east-1",
      checkedAt: "2026-12-02T06:00:00.000Z",
      rows: [],
      drift: 0,
    };
    const plain = createIo({ json: false, verbose: false, noColor: true, env: {}, isTTY: false });
    const verbose = createIo({ json: false, verbose: true, noColor: true, env: {}, isTTY: false });
    expect(renderLiveStatus(plain, status)).toContain("live in us-east-1 just now");
    expect(renderLiveStatus(plain, status)).not.toMatch(ISO);
    expect(renderLiveStatus(verbose, status)).toContain("live in us-east-1 at 2026-12-02T06:00:00.000Z");
  });
});

describe("a mistyped task", () => {
  it("gen3d invoke --task segmnt says did you mean segment, and lists the tasks", async () => {
    const dir = await makeProject({ config: validConfig() });
    const runtime = testRuntime(dir);
    expect(await main(["invoke", "--task", "segmnt", "--image", "photo.png"], runtime)).toBe(2);
    expect(runtime.out.stderr).toContain(
      "--task segmnt: did you mean segment? expected one of get_embedding, segment, generate_3d",
    );
  });
});

describe("status while a phase runs", () => {
  it("phase 7 running: what it recorded is current, not stale; a null artifact is not printed as null", async () => {
    const { dir } = await projectWithState({
      phases: {
        "2": { status: "passed", attempts: 1 },
        "4": { status: "passed", attempts: 1 },
        "7": { status: "running", attempts: 2, note: "inputs changed since it passed" },
        "8": { status: "stale", attempts: 1, note: "phase 4 passed with changed inputs" },
      },
      artifacts: {
        imageTag: "0.2.0-9f8e7d6c5b4a",
        imageCuda: null,
        endpointName: "gen3d-async",
        alarmNames: ["gen3d-backlog"],
      },
    });
    const runtime = testRuntime(dir);
    expect(await main(["status"], runtime)).toBe(0);
    const out = runtime.out.stdout;
    expect(out).toMatch(/^endpointName\s+gen3d-async$/m);
    expect(out).toMatch(/^alarmNames\s+gen3d-backlog\s+stale: from an earlier run \(phase 8 is stale\)$/m);
    expect(out).not.toMatch(/imageCuda|\bnull\b/);

    const json = testRuntime(dir);
    await main(["status", "--json"], json);
    expect(JSON.parse(json.out.stdout).staleArtifacts).toEqual(["alarmNames"]);
  });
});

describe("stdout redirected while stderr is a terminal", () => {
  it("gen3d plan > plan.txt gets no colour codes; a terminal on stdout or FORCE_COLOR keeps them", () => {
    const coloured = "\u001b[33mrun\u001b[0m  never run\n";
    const written: string[] = [];
    stdoutWriter((t) => written.push(t), false, {})(coloured);
    stdoutWriter((t) => written.push(t), true, {})(coloured);
    stdoutWriter((t) => written.push(t), false, { FORCE_COLOR: "1" })(coloured);
    expect(written).toEqual(["run  never run\n", coloured, coloured]);
  });
});

describe("verify's label", () => {
  it("says fresh evidence without an ISO timestamp unless --verbose", async () => {
    const dir = await makeProject({
      config: { ...validConfig(), aws: { region: "us-east-1", endpoint: "http://127.0.0.1:9" } },
    });
    const plain = testRuntime(dir, { docker: dockerDown() });
    expect(await main(["verify", "--phase", "1"], plain)).toBe(1);
    expect(plain.out.stdout).toContain("Phase 1: Preflight checks (fresh evidence)\n");
    expect(plain.out.stdout).not.toMatch(ISO);
    const verbose = testRuntime(dir, { docker: dockerDown() });
    await main(["verify", "--phase", "1", "--verbose"], verbose);
    expect(verbose.out.stdout).toMatch(/\(fresh evidence, \d{4}-\d{2}-\d{2}T/);
  });
});
