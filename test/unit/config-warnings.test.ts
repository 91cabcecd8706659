import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { configWarnings } from "../../src/config/load-warnings.js";
import { testRuntime } from "../support/fakes.js";
import { validConfig } from "../support/project.js";

const warningsOf = (overrides: Record<string, unknown>) =>
  configWarnings(parseConfig(validConfig(overrides), "x"));

describe("config warnings: legal but unwise", () => {
  it("timeouts.deploySeconds below the typical creation time for the instance family", () => {
    // ml.g5: 5–10 min launch + a 40 GB image at 100 MB/s (200–400 s) + 240 s startup = 8–21 min.
    expect(
      warningsOf({ instance: { type: "ml.g5.xlarge", maxCount: 2 }, timeouts: { deploySeconds: 300 } }),
    ).toEqual([
      {
        path: "timeouts.deploySeconds",
        message:
          "300 s is below the typical endpoint creation time: deploy will likely time out (typical creation of ml.g5 takes 8–21 min)",
        hint: "Raise timeouts.deploySeconds to at least 1260, or leave it out (default 3600).",
      },
    ]);
    // Inside the range, or the default: nothing to say.
    expect(warningsOf({ timeouts: { deploySeconds: 600 } })).toEqual([]);
    expect(warningsOf({})).toEqual([]);
  });

  it("the typical range follows the family and the image budget", () => {
    // A CPU family launches faster (3–6 min), and a 4 GB image pulls in 20–40 s: 300 s is enough there, not on a GPU family (5–15 min).
    const small = { image: { name: "x", version: "1.0.0", maxSizeGb: 4 }, timeouts: { deploySeconds: 300 } };
    expect(warningsOf({ ...small, instance: { type: "ml.m5.xlarge" } })).toEqual([]);
    expect(warningsOf({ ...small, instance: { type: "ml.g6e.xlarge" } })[0]?.message).toMatch(
      /typical creation of ml\.g6e takes 5–15 min/,
    );
  });

  it("no deploy-time warning against a local emulator, which creates endpoints in seconds", () => {
    const local = {
      aws: { region: "us-east-1", endpoint: "http://127.0.0.1:5000", registry: "127.0.0.1:5001" },
    };
    expect(warningsOf({ ...local, timeouts: { deploySeconds: 60 } })).toEqual([]);
  });

  it("timeouts.deploySeconds shorter than the startup health check SageMaker was told to allow", () => {
    const [warning] = warningsOf({
      timeouts: { deploySeconds: 1500, containerStartupHealthCheckSeconds: 1800 },
    });
    expect(warning).toMatchObject({
      path: "timeouts.deploySeconds",
      message: expect.stringMatching(
        /1500 s is shorter than timeouts\.containerStartupHealthCheckSeconds \(1800 s\)/,
      ),
    });
  });

  it("aws.endpoint without aws.registry: phase 4 would stop there", () => {
    expect(warningsOf({ aws: { region: "us-east-1", endpoint: "http://127.0.0.1:5000" } })).toEqual([
      {
        path: "aws.registry",
        message: expect.stringMatching(/^not set, but aws\.endpoint is: phase 4 \(push\) will stop/),
        hint: expect.stringContaining('"127.0.0.1:5000"'),
      },
    ]);
  });

  it("loadConfig carries them; a command prints each once on stderr and in its --json document", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-warn-"));
    const file = path.join(dir, "gen3d.config.json");
    await writeFile(file, JSON.stringify(validConfig({ timeouts: { deploySeconds: 120 } })));
    expect((await loadConfig(file)).warnings.map((w) => w.path)).toEqual(["timeouts.deploySeconds"]);

    const human = testRuntime(dir);
    expect(await main(["plan"], human)).toBe(0);
    const printed = human.out.stderr.match(/^warning: timeouts\.deploySeconds: 120 s is below .*$/gm) ?? [];
    expect(printed).toHaveLength(1);
    expect(human.out.stderr).toContain("  Raise timeouts.deploySeconds to at least");
    expect(human.out.stdout).not.toContain("warning");

    const json = testRuntime(dir);
    expect(await main(["plan", "--json"], json)).toBe(0);
    const doc = JSON.parse(json.out.stdout) as { warnings?: { path: string }[] };
    expect(doc.warnings?.map((w) => w.path)).toEqual(["timeouts.deploySeconds"]);
  });
});
