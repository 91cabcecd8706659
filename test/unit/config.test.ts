import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { didYouMean } from "../../src/config/format-issues.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { UserError } from "../../src/engine/errors.js";
import { validConfig } from "../support/project.js";

function problems(value: unknown): string[] {
  try {
    parseConfig(value, "gen3d.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).details;
  }
  throw new Error("expected the config to be rejected");
}

describe("config", () => {
  it("accepts a valid config and fills defaults", () => {
    const config = parseConfig(validConfig(), "x");
    expect(config.s3.prefixes.output).toBe("gen3d/output");
    expect(config.async.scaleInCooldownSeconds).toBe(300);
    expect(config.models[0]?.packaging).toBe("image");
  });

  it("reports every problem at once, as path: message", () => {
    const lines = problems(
      validConfig({
        aws: { region: "useast1" },
        instance: { type: "g5.2xlarge", maxCount: 0 },
        executionRoleArn: "role",
      }),
    );
    expect(lines.some((l) => l.startsWith("• aws.region:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("• instance.type:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("• instance.maxCount:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("• executionRoleArn:"))).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(4);
  });

  it("suggests the key meant for an unknown one, at any depth", () => {
    const lines = problems(validConfig({ instanse: {}, s3: { bucket: "b-b-b", prefixs: {} } }));
    expect(lines).toContain('• instanse: unknown key; did you mean "instance"?');
    expect(lines).toContain('• s3.prefixs: unknown key; did you mean "prefixes"?');
  });

  it("names required keys and array positions", () => {
    const config = validConfig();
    delete config.project;
    (config.models as Record<string, unknown>[])[0] = { name: "sam3" };
    const lines = problems(config);
    expect(lines.some((l) => l.startsWith("• project: required"))).toBe(true);
    expect(lines.some((l) => l.startsWith("• models[0].localPath: required"))).toBe(true);
  });

  it("refuses the latest tag for the image version", () => {
    const lines = problems(validConfig({ image: { name: "x", version: "latest" } }));
    expect(lines.join("\n")).toMatch(/image\.version: never `latest`/);
  });

  it("applies cross-field rules after the schema", () => {
    const lines = problems(
      validConfig({ instance: { type: "ml.g6e.xlarge", minCount: 3, maxCount: 2, initialCount: 1 } }),
    );
    expect(lines).toContain("• instance.minCount: 3 is above instance.maxCount (2)");
  });

  it("refuses a MaxConcurrentInvocationsPerInstance above what the container admits at once", () => {
    const over = problems(validConfig({ async: { maxConcurrentInvocationsPerInstance: 40 } }));
    expect(over.join("\n")).toMatch(
      /async\.maxConcurrentInvocationsPerInstance: 40 is above what the container admits at once \(32, its default\)/,
    );
    const raised = parseConfig(
      validConfig({
        async: { maxConcurrentInvocationsPerInstance: 40 },
        localTest: { environment: { GEN3D_MAX_CONCURRENCY: "64" } },
      }),
      "x",
    );
    expect(raised.async.maxConcurrentInvocationsPerInstance).toBe(40);
    const bad = problems(validConfig({ localTest: { environment: { GEN3D_MAX_CONCURRENCY: "lots" } } }));
    expect(bad.join("\n")).toMatch(/GEN3D_MAX_CONCURRENCY: "lots" is not a whole number from 1 to 256/);
  });

  it("gives a clear error for a missing file and for broken JSON, never a stack", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-config-"));
    await expect(loadConfig(path.join(dir, "nope.json"))).rejects.toMatchObject({
      code: "CONFIG_NOT_FOUND",
      showStack: false,
    });
    await writeFile(path.join(dir, "bad.json"), '{"project": {"name": "x",}}');
    await expect(loadConfig(path.join(dir, "bad.json"))).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("did-you-mean stays quiet when nothing is close", () => {
    expect(didYouMean("zzzzzz", ["instance", "models"])).toBeUndefined();
    expect(didYouMean("modles", ["instance", "models"])).toBe("models");
  });
});
