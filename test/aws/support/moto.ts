import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Starts the patched moto server (test/support/moto/server.py, owned by the local-stack harness)
 * on 127.0.0.1 and a free port. The harness' control API lets a test script an endpoint's
 * lifecycle (Creating → InService or Failed) and its instance counts.
 */
export interface EndpointBehaviour {
  endpointName: string;
  mode: "in_service" | "creating_then_in_service" | "failed" | "stuck";
  creatingSeconds?: number;
  creatingDescribes?: number;
  failureReason?: string;
  updateFailure?: "rollback" | "failed";
  deletingSeconds?: number;
  deletingDescribes?: number;
}

export interface Moto {
  endpoint: string;
  port: number;
  reset(): Promise<void>;
  stop(): Promise<void>;
  setEndpointBehaviour(behaviour: EndpointBehaviour): Promise<void>;
  setEndpointInstances(body: { endpointName: string; currentInstanceCount: number; desiredInstanceCount?: number }): Promise<void>;
}

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../support/moto/server.py");

export const TEST_ENV = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
};

export async function startMoto(): Promise<Moto> {
  const python = process.env.GEN3D_PYTHON ?? "python3";
  const child: ChildProcess = spawn(python, [SERVER, "0"], {
    env: { ...process.env, ...TEST_ENV, GEN3D_MOTO_HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto did not start within 60 s:\n${stderr}`)), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with ${code} before it was ready:\n${stderr}`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const match = /^MOTO_READY port=(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${endpoint}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`moto ${route}: ${response.status} ${await response.text()}`);
  };
  return {
    endpoint,
    port,
    reset: () => post("/moto-api/reset", {}),
    setEndpointBehaviour: (behaviour) => post("/gen3d-test/endpoint-behaviour", behaviour),
    setEndpointInstances: (body) => post("/gen3d-test/endpoint-instances", body),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
