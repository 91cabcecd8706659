import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A config that passes the schema; tests override what they need. */
export function validConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    project: { name: "gen3d-test" },
    aws: { region: "us-east-1" },
    s3: { bucket: "gen3d-test-bucket" },
    executionRoleArn: "arn:aws:iam::123456789012:role/gen3d-sagemaker",
    ecr: { repository: "gen3d-test" },
    image: { name: "gen3d-test", version: "1.0.0", contextDir: "container" },
    models: [
      {
        name: "sam3",
        localPath: "container/models/sam3",
        expectedSizeBytes: 1000,
        gpuMemoryGb: 6,
        tasks: ["get_embedding", "segment"],
      },
    ],
    instance: { type: "ml.g6e.xlarge", initialCount: 1, minCount: 0, maxCount: 2 },
    ...overrides,
  };
}

export const GOOD_DOCKERFILE = `ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime
FROM \${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC
RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /opt/gen3d/requirements.txt
RUN pip install --no-cache-dir -r /opt/gen3d/requirements.txt
COPY models/sam3 /opt/gen3d/models/sam3
COPY gen3d_serving /opt/gen3d/gen3d_serving
WORKDIR /opt/gen3d
ENTRYPOINT ["python3", "-m", "gen3d_serving"]
`;

export const GOOD_SERVER_MAIN = `import sys
from gen3d_serving.server import main

if __name__ == "__main__":
    main(sys.argv[1:])
`;

export const GOOD_SERVER = `import subprocess

def main(args):
    # 'serve' (SageMaker) or nothing: start gunicorn on 8080
    subprocess.run(["gunicorn", "--bind", "0.0.0.0:8080", "gen3d_serving.app:app"])
`;

/** A valid safetensors file of exactly `size` bytes (one U8 tensor of "x"; header padded with spaces, as the format allows). */
export function fakeSafetensors(size: number): string {
  const headerBytes = 64;
  const data = size - 8 - headerBytes;
  const header = JSON.stringify({ weights: { dtype: "U8", shape: [data], data_offsets: [0, data] } });
  return `${String.fromCharCode(headerBytes)}${"\0".repeat(7)}${header.padEnd(headerBytes, " ")}${"x".repeat(data)}`;
}

export interface ProjectFiles {
  dockerfile?: string;
  config?: Record<string, unknown>;
  /** Extra files, path → content, relative to the project root. */
  files?: Record<string, string>;
  /** Leave out the model directory (seed #2). */
  withoutModels?: boolean;
}

/** Writes a throwaway project (config + container context) and returns its directory. */
export async function makeProject(options: ProjectFiles = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-test-"));
  const files: Record<string, string> = {
    "gen3d.config.json": JSON.stringify(options.config ?? validConfig(), null, 2),
    "container/Dockerfile": options.dockerfile ?? GOOD_DOCKERFILE,
    "container/requirements.txt": "flask==3.0.3\n",
    "container/gen3d_serving/__init__.py": "",
    "container/gen3d_serving/__main__.py": GOOD_SERVER_MAIN,
    "container/gen3d_serving/server.py": GOOD_SERVER,
    ...(options.withoutModels ? {} : { "container/models/sam3/model.safetensors": fakeSafetensors(1000) }),
    ...options.files,
  };
  for (const [relative, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), content);
  }
  return dir;
}

/** Writes a STATE.json as gen3d would have left it: an empty record, with `state` over it. */
export async function writeStateFile(
  dir: string,
  state: Record<string, unknown>,
  at = new Date().toISOString(),
) {
  const record = {
    schemaVersion: 1,
    project: "gen3d-test",
    createdAt: at,
    updatedAt: at,
    phases: {},
    artifacts: {},
    history: [],
    ...state,
  };
  await writeFile(path.join(dir, "STATE.json"), JSON.stringify(record));
}
