import { describe, expect, it } from "vitest";
import { type LocalTestEvidence, localTestEvidence } from "../../src/phases/local-test/evidence.js";
import { localTestGates } from "../../src/phases/local-test/gates.js";

/** What phase 3 recorded for a healthy image that answered both tasks: the yardstick each case bends. */
function recorded(change: (e: LocalTestEvidence) => void = () => {}): LocalTestEvidence {
  const evidence = localTestEvidence.parse({
    imageId: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    image: "gen3d-demo:ctx-1234",
    boundTo: "host:8080",
    startup: {
      healthy: true,
      secondsToHealthy: 4.2,
      budgetSeconds: 120,
      exitedEarly: false,
      probedPort: 8080,
    },
    pings: { count: 31, maxMs: 40, slow: 0, failed: 0 },
    tasks: {
      segment: {
        ok: true,
        ms: 850,
        status: 200,
        artifacts: [{ key: "masks/a.png", kind: "mask", ok: true, detail: "PNG 64×64" }],
      },
      get_embedding: { ok: true, ms: 300, status: 200, artifacts: [] },
    },
    alive: { afterSeconds: 5, running: true, pingStatus: 200 },
    logs: { problems: [], tail: ["Listening at: http://0.0.0.0:8080", "GET /ping 200"] },
    stop: { seconds: 1.3, exitCode: 0 },
  });
  change(evidence);
  return evidence;
}

const verdicts = (gates: ReturnType<typeof localTestGates>) =>
  Object.fromEntries(gates.map((g) => [g.id, g.status]));

describe("phase 3's gates over recorded evidence (no Docker)", () => {
  const tasks = ["segment", "get_embedding"] as const;

  it("all pass for a healthy container that answered every task and stopped on SIGTERM", () => {
    const e = recorded();
    const gates = localTestGates(e, [...tasks], e.imageId);
    expect(verdicts(gates)).toEqual({
      "local.bound-to-image": "pass",
      "local.startup": "pass",
      "local.ping-latency": "pass",
      "local.task.segment": "pass",
      "local.task.get_embedding": "pass",
      "local.alive": "pass",
      "local.logs": "pass",
      "local.sigterm": "pass",
    });
  });

  it("evidence for another image than the current one fails, naming both and the re-run", () => {
    const gates = localTestGates(recorded(), [...tasks], "sha256:2222222222222222222222");
    const bound = gates.find((g) => g.id === "local.bound-to-image");
    expect(bound?.status).toBe("fail");
    expect(bound?.message).toMatch(/ran on sha256:111111111111.*current image is sha256:222222222222/);
    expect(bound?.hint).toMatch(/gen3d deploy --from 3/);
  });

  it("a server on another port fails startup with the port its log names, and stops there", () => {
    const e = recorded((x) => {
      x.startup = {
        healthy: false,
        budgetSeconds: 120,
        exitedEarly: false,
        probedPort: 8080,
        listening: [{ port: 5000, line: "Running on http://0.0.0.0:5000" }],
      };
    });
    const gates = localTestGates(e, [...tasks], e.imageId);
    expect(gates.map((g) => g.id)).toEqual(["local.bound-to-image", "local.startup"]);
    expect(gates[1]?.status).toBe("fail");
    expect(gates[1]?.message).toMatch(/port 5000/);
    expect(gates[1]?.hint).toMatch(/0\.0\.0\.0:8080/);
  });

  it("a task the container does not offer, a slow /ping, a traceback and an ignored SIGTERM each fail on their own", () => {
    const e = recorded((x) => {
      x.tasks.get_embedding = {
        ok: false,
        ms: 12,
        status: 400,
        problem: "HTTP 400",
        response: { error: "unknown task get_embedding" },
        artifacts: [],
      };
      x.pings = { count: 31, maxMs: 2600, slow: 2, failed: 0 };
      x.logs.problems = ["Traceback (most recent call last):"];
      x.stop = { seconds: 31, exitCode: 137 };
    });
    const gates = localTestGates(e, [...tasks], e.imageId);
    expect(verdicts(gates)).toMatchObject({
      "local.task.segment": "pass",
      "local.task.get_embedding": "fail",
      "local.ping-latency": "fail",
      "local.logs": "fail",
      "local.sigterm": "fail",
    });
    const task = gates.find((g) => g.id === "local.task.get_embedding");
    expect(task?.hint).toMatch(/does not implement the get_embedding task/);
  });

  it("a task that was never exercised fails rather than passing by omission", () => {
    const e = recorded((x) => {
      delete x.tasks.segment;
    });
    const gate = localTestGates(e, [...tasks], e.imageId).find((g) => g.id === "local.task.segment");
    expect(gate).toMatchObject({ status: "fail", message: "segment was not exercised" });
  });
});
