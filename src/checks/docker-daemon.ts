import { z } from "zod";
import type { Docker } from "../adapters/docker.js";
import { dockerAdvice } from "../adapters/docker.js";
import { Gen3dError } from "../engine/errors.js";
import { type GateResult, gate } from "../engine/gate.js";

const versionEvidence = z.object({
  Client: z.object({ Version: z.string() }).passthrough().optional(),
  Server: z
    .object({ Version: z.string(), Os: z.string(), Arch: z.string() })
    .passthrough()
    .nullable()
    .optional(),
});

/** The Docker daemon answers (the client alone is not enough to build). */
export async function dockerDaemonGate(
  docker: Docker,
  platform: NodeJS.Platform,
  signal?: AbortSignal,
): Promise<GateResult> {
  const id = "docker.daemon";
  const title = "Docker daemon reachable";
  try {
    const result = await docker.exec(["version", "--format", "{{json .}}"], {
      allowFailure: true,
      signal,
      timeoutMs: 20_000,
    });
    const firstLine = result.stdout.split("\n").find((l) => l.trim().startsWith("{")) ?? "{}";
    const parsed = versionEvidence.safeParse(JSON.parse(firstLine));
    const server = parsed.success ? parsed.data.Server : undefined;
    if (result.exitCode !== 0 || !server) {
      return gate(
        id,
        title,
        "fail",
        `the Docker daemon is not reachable${result.stderr ? `: ${result.stderr.trim().split("\n").at(-1)}` : ""}`,
        {
          hint: dockerAdvice(platform),
        },
      );
    }
    return gate(id, title, "pass", `Docker ${server.Version} (${server.Os}/${server.Arch})`, {
      evidence: server,
    });
  } catch (error) {
    if (error instanceof Gen3dError && error.code === "INTERRUPTED") throw error;
    const message = error instanceof Gen3dError ? error.message : String(error);
    return gate(id, title, "fail", message, {
      hint: error instanceof Gen3dError ? error.hint : dockerAdvice(platform),
    });
  }
}
