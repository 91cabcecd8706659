import type { ProjectFiles } from "./project.js";
import { GOOD_DOCKERFILE, validConfig } from "./project.js";

/** The seed post-mortem's mistakes, each as a project, with what phase 1 must say about it. */
export interface SeedMistake {
  name: string;
  seedIssue: string;
  project: ProjectFiles;
  /** Gate that must fail. */
  gate: string;
  /** Text the failure must show: file:line and the fix. */
  expect: RegExp[];
}

/** SAM 3D Objects: needs ≥ 32 GB of GPU memory. */
export const SAM3D_MODEL = {
  name: "sam3d",
  localPath: "container/models/sam3d",
  expectedSizeBytes: 1000,
  gpuMemoryGb: 32,
  tasks: ["generate_3d"],
};

export const SEED_MISTAKES: SeedMistake[] = [
  {
    name: "entrypoint runs inference.py",
    seedIssue: "#7",
    project: {
      dockerfile: GOOD_DOCKERFILE.replace(
        'ENTRYPOINT ["python3", "-m", "gen3d_serving"]',
        'COPY inference.py /opt/ml/code/inference.py\nENTRYPOINT ["python", "/opt/ml/code/inference.py"]',
      ),
      files: {
        "container/inference.py":
          "def model_fn(model_dir):\n    return {}\n\ndef predict_fn(data, models):\n    return {}\n",
      },
    },
    gate: "dockerfile.entrypoint",
    expect: [/container\/Dockerfile:11/, /starts no HTTP server/, /fix: Use an exec-form ENTRYPOINT/],
  },
  {
    name: "apt-get without DEBIAN_FRONTEND",
    seedIssue: "#8",
    project: { dockerfile: GOOD_DOCKERFILE.replace("ENV DEBIAN_FRONTEND=noninteractive TZ=Etc/UTC\n", "") },
    gate: "dockerfile.noninteractive",
    expect: [/container\/Dockerfile:3/, /tzdata/, /fix: Add `ENV DEBIAN_FRONTEND=noninteractive`/],
  },
  {
    name: "COPY of a missing models directory",
    seedIssue: "#2, #22",
    project: { withoutModels: true },
    gate: "dockerfile.copy-sources",
    expect: [
      /container\/Dockerfile:7/,
      /models\/sam3 \(line 7\) does not exist/,
      /fix: Put the model weights/,
    ],
  },
  {
    name: "latest base image",
    seedIssue: "pinning",
    project: { dockerfile: GOOD_DOCKERFILE.replace("2.5.1-cuda12.1-cudnn9-runtime", "latest") },
    gate: "dockerfile.base-pinned",
    expect: [/container\/Dockerfile:2/, /`latest` tag/, /fix: Pin a version tag/],
  },
  {
    name: "weights baked under /opt/ml/model (Solution 2's layout)",
    seedIssue: "#2",
    project: {
      dockerfile: GOOD_DOCKERFILE.replace(
        "COPY models/sam3 /opt/gen3d/models/sam3",
        "COPY models/sam3/ /opt/ml/model/sam3/",
      ),
    },
    gate: "dockerfile.model-dir",
    expect: [
      /container\/Dockerfile:7/,
      /1000 B of the build context baked under \/opt\/ml\/model/,
      /fix: Put weights under another path/,
    ],
  },
  {
    name: "unpinned RUN pip install (Solution 12)",
    seedIssue: "#12, #25",
    project: {
      dockerfile: GOOD_DOCKERFILE.replace(
        "RUN pip install --no-cache-dir -r /opt/gen3d/requirements.txt",
        "RUN pip install --no-cache-dir transformers diffusers accelerate",
      ),
    },
    gate: "dockerfile.requirements-pinned",
    expect: [/container\/Dockerfile:6/, /pip install transformers/, /fix: Pin each one with ==/],
  },
  {
    name: "GPU too small for SAM 3D Objects",
    seedIssue: "instance sizing",
    project: {
      config: validConfig({
        instance: { type: "ml.g5.2xlarge" },
        models: [...(validConfig().models as object[]), SAM3D_MODEL],
      }),
      files: { "container/models/sam3d/weights.bin": "y".repeat(1000) },
    },
    gate: "instance.gpu-memory",
    expect: [/ml\.g5\.2xlarge has 24 GB per GPU/, /fix: Set instance.type to one that fits: ml\.g6e\.xlarge/],
  },
];
