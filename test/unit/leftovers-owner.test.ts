import { type ChildProcess, spawn } from "node:child_process";
import os from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import type { Docker, DockerResult } from "../../src/adapters/docker.js";
import { reapContainers } from "../../src/adapters/leftovers.js";

/**
 * Which containers the next run reaps, judged from `docker ps` rows: a live owner PID is the
 * owner only if that process started before the container was created. Otherwise the kernel gave
 * the dead owner's PID to another process, or gen3d is PID 1 again in a restarted container.
 */
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

function dockerTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

/** A docker whose `ps` lists `rows` until `rm` removes them; every command is recorded. */
function fakeDocker(rows: { id: string; name: string; pid: number; created: Date }[]) {
  const calls: string[][] = [];
  let listed = rows;
  const docker = {
    async exec(args: readonly string[]): Promise<DockerResult> {
      calls.push([...args]);
      if (args[0] === "rm") {
        listed = listed.filter((r) => !args.includes(r.id));
        return { exitCode: 0, stdout: "", stderr: "" } as DockerResult;
      }
      if (args[0] === "ps") {
        const byLabel = args.some((a) => a.startsWith("label="));
        const stdout = byLabel
          ? listed
              .map((r) =>
                [r.id, r.name, "exited", String(r.pid), os.hostname(), dockerTime(r.created)].join("\t"),
              )
              .join("\n")
          : "";
        return { exitCode: 0, stdout, stderr: "" } as DockerResult;
      }
      throw new Error(`unexpected docker ${args.join(" ")}`);
    },
  } as unknown as Docker;
  return { docker, calls };
}

describe.skipIf(process.platform !== "linux")("leftover containers: whose owner really runs", () => {
  it("reaps one whose owner PID a later process now has, and one recorded as this process before it started", async () => {
    const later = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(later);
    await new Promise((r) => setTimeout(r, 100));
    const hourAgo = new Date(Date.now() - 3_600_000);
    const { docker, calls } = fakeDocker([
      { id: "c-reused", name: "gen3d-build-listing", pid: later.pid as number, created: hourAgo },
      {
        id: "c-self",
        name: "gen3d-local-test-p",
        pid: process.pid,
        created: new Date(Date.now() - 86_400_000),
      },
      { id: "c-live", name: "gen3d-live", pid: later.pid as number, created: new Date(Date.now() + 60_000) },
    ]);
    const reaped = await reapContainers(docker, "p", new AbortController().signal);
    expect(calls.find((c) => c[0] === "rm")).toEqual(["rm", "--force", "c-reused", "c-self"]);
    expect(reaped).toHaveLength(2);
    expect(reaped.join("; ")).toContain("gen3d-build-listing");
    expect(reaped.join("; ")).not.toContain("gen3d-live");
  });

  it("leaves a live run's container alone (its owner started before it)", async () => {
    const { docker, calls } = fakeDocker([
      { id: "c-mine", name: "gen3d-local-test-p", pid: process.pid, created: new Date() },
    ]);
    expect(await reapContainers(docker, "p", new AbortController().signal)).toEqual([]);
    expect(calls.some((c) => c[0] === "rm")).toBe(false);
  });
});
