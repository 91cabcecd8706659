import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAccount } from "../support/aws-account.js";
import { containersNamed, spawnCli } from "../support/cli-process.js";
import {
  configuredProject,
  LOCAL_REGISTRY,
  removeImages,
  requireLocalStack,
} from "../support/local-stack.js";
import { type MotoServer, startMoto } from "../support/moto/moto.js";

/**
 * `--json` carries what the human output shows for a failed local test: the failing gate, its
 * hint and the container's last log lines (issue 13 item 7), through the real CLI.
 */
const PROJECT = "gen3d-json-tail";

describe("a failed local test in --json", { timeout: 300_000 }, () => {
  let moto: MotoServer;
  let dir: string;
  const repository = `gen3d-json-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    requireLocalStack();
    moto = await startMoto();
    await seedAccount(moto);
    dir = await configuredProject({
      endpoint: moto.endpoint,
      repository,
      name: PROJECT,
      environment: { GEN3D_BACKEND: "no-such-backend" },
    });
  });

  afterAll(async () => {
    await moto?.stop();
    removeImages((r) => r.startsWith(`${LOCAL_REGISTRY}/${repository}`) || r.startsWith("gen3d-it:"));
  });

  it("deploy --json: the startup gate, its hint and the log tail; no container left", async () => {
    const result = await spawnCli(dir, ["deploy", "--to", "3", "--json"], moto.env).output;
    expect(result.code, result.stderr.slice(-3000)).toBe(1);
    const document = JSON.parse(result.stdout) as {
      ok: boolean;
      error: { code: string; message: string; hint?: string; details: string[] };
    };
    expect(document.ok).toBe(false);
    expect(document.error.code).toBe("GATE_LOCAL_STARTUP");
    expect(document.error.message).toMatch(/started no HTTP server: the container exited \(code \d+\)/);
    const details = document.error.details.join("\n");
    // The gate's own fix, shown once (the closing hint only says how to carry on).
    expect(details).toMatch(/docker run --network host IMAGE serve/);
    expect(details).toMatch(/container log \(last lines\)/);
    expect(details).toMatch(/no-such-backend/);
    expect(containersNamed(`gen3d-local-test-${PROJECT}`)).toEqual([]);
  });
});
