import { type GateResult, gate } from "../engine/gate.js";
import {
  type CudaVersion,
  cudaSupports,
  DEFAULT_GPU_DRIVER,
  formatCuda,
  GPU_DRIVER_SOURCE,
  type GpuDriver,
  INFERENCE_AMIS,
  type InferenceAmi,
  instanceFamily,
} from "./instances.js";

/** The CUDA version an image is built for, and where gen3d read it. */
export interface ImageCuda {
  /** major.minor, e.g. "12.1". */
  version: string;
  /** e.g. `docker inspect: env CUDA_VERSION=12.1.1`, `Dockerfile: FROM pytorch/pytorch:…-cuda12.1-…`. */
  source: string;
}

export function parseCuda(version: string): CudaVersion | undefined {
  const match = /^(\d{1,2})\.(\d{1,2})/.exec(version.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/**
 * CUDA from a base image reference, where the name or tag says it: `…:2.5.1-cuda12.1-…`
 * (pytorch/pytorch), `nvidia/cuda:12.1.1-…`, `…-cu121-…` (PyTorch wheels and DLC tags).
 */
export function cudaFromImageRef(image: string): CudaVersion | undefined {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastSegment = withoutDigest.split("/").at(-1) ?? withoutDigest;
  const [name, tag = ""] = lastSegment.split(":");
  const spelled = /cuda[-_]?(\d{1,2})\.(\d{1,2})/i.exec(tag);
  if (spelled) return { major: Number(spelled[1]), minor: Number(spelled[2]) };
  if (name === "cuda" && /^\d/.test(tag)) return parseCuda(tag);
  const short = /(?:^|[-_.])cu(\d{2})(\d)(?:$|[-_.])/.exec(tag);
  return short ? { major: Number(short[1]), minor: Number(short[2]) } : undefined;
}

/**
 * CUDA from an image's config, as `docker image inspect` shows it: NVIDIA's CUDA images set
 * `CUDA_VERSION` (and `NVIDIA_REQUIRE_CUDA`); a label may say it too.
 */
export function cudaFromImageConfig(
  env: readonly string[],
  labels: Readonly<Record<string, string>>,
): ImageCuda | undefined {
  for (const entry of env) {
    const [key, ...rest] = entry.split("=");
    const value = rest.join("=");
    if (key === "CUDA_VERSION" && parseCuda(value)) {
      return { version: formatCuda(parseCuda(value) as CudaVersion), source: `image env ${entry}` };
    }
  }
  for (const label of ["com.nvidia.cuda.version", "cuda_version", "gen3d.cuda-version"]) {
    const value = labels[label];
    const cuda = value === undefined ? undefined : parseCuda(value);
    if (cuda) return { version: formatCuda(cuda), source: `image label ${label}=${value}` };
  }
  for (const entry of env) {
    const require = /^NVIDIA_REQUIRE_CUDA=.*cuda>=(\d+\.\d+)/.exec(entry);
    if (require?.[1])
      return { version: require[1], source: `image env NVIDIA_REQUIRE_CUDA (cuda>=${require[1]})` };
  }
  return undefined;
}

export type DriverPlan =
  /** The instance family's default driver runs the image: no InferenceAmiVersion needed. */
  | { type: "default"; family: string; driver: GpuDriver }
  /** The default driver is too old: this AMI's driver runs the image and allows the family. */
  | { type: "ami"; family: string; driver: GpuDriver; ami: InferenceAmi }
  /** Nothing documented for this family runs the image; `families` are those that do. */
  | { type: "no-fit"; family: string; driver?: GpuDriver; families: string[] }
  /** gen3d has no driver record for this family (a CPU instance, or one newer than the catalog). */
  | { type: "unknown-family"; family: string };

/** Which driver an endpoint of `instanceType` would run, and the InferenceAmiVersion to set if any. */
export function driverPlan(instanceType: string, cuda: CudaVersion): DriverPlan {
  const family = instanceFamily(instanceType);
  const driver = DEFAULT_GPU_DRIVER[family];
  if (!driver) return { type: "unknown-family", family };
  if (cudaSupports(driver.cuda, cuda)) return { type: "default", family, driver };
  const ami = INFERENCE_AMIS.find((a) => a.families.includes(family) && cudaSupports(a.cuda, cuda));
  if (ami) return { type: "ami", family, driver, ami };
  return { type: "no-fit", family, driver, families: familiesThatRun(cuda) };
}

/** Instance families on which some documented driver (default or AMI) runs `cuda`, sorted. */
export function familiesThatRun(cuda: CudaVersion): string[] {
  const families = new Set<string>();
  for (const [family, driver] of Object.entries(DEFAULT_GPU_DRIVER))
    if (cudaSupports(driver.cuda, cuda)) families.add(family);
  for (const ami of INFERENCE_AMIS)
    if (cudaSupports(ami.cuda, cuda)) for (const family of ami.families) families.add(family);
  return [...families].sort();
}

function describeDriver(driver: GpuDriver): string {
  return `NVIDIA ${driver.driver} (CUDA ${formatCuda(driver.cuda)})`;
}

export function noFitHint(plan: Extract<DriverPlan, { type: "no-fit" }>, cuda: string): string {
  return plan.families.length > 0
    ? `Choose an instance of a family whose driver runs CUDA ${cuda}: ${plan.families.map((f) => `ml.${f}.*`).join(", ")} (instance.type), or build on a base image with an older CUDA. Source: ${GPU_DRIVER_SOURCE}`
    : `No SageMaker inference driver gen3d knows runs CUDA ${cuda}: build on a base image with an older CUDA. Source: ${GPU_DRIVER_SOURCE}`;
}

/** Preflight/endpoint-config gate: the host's driver runs the image's CUDA. */
export function gpuDriverGate(instanceType: string, cuda: ImageCuda | undefined): GateResult {
  const id = "instance.gpu-driver";
  const title = "the host's GPU driver runs the image's CUDA";
  if (!cuda) {
    return gate(
      id,
      title,
      "not-checked",
      "the image's CUDA version is unknown (no CUDA_VERSION env or label, and the base image tag does not name one)",
      {
        hint: "Use a CUDA base image that says its version (nvidia/cuda, pytorch/pytorch …-cudaX.Y-…), or LABEL com.nvidia.cuda.version=X.Y in the Dockerfile.",
      },
    );
  }
  const version = parseCuda(cuda.version);
  if (!version)
    return gate(id, title, "not-checked", `unreadable CUDA version ${cuda.version} (${cuda.source})`);
  const plan = driverPlan(instanceType, version);
  const evidence = { cuda, plan };
  switch (plan.type) {
    case "default":
      return gate(
        id,
        title,
        "pass",
        `${instanceType}: default driver ${describeDriver(plan.driver)} runs CUDA ${cuda.version} (${cuda.source})`,
        { evidence },
      );
    case "ami":
      return gate(
        id,
        title,
        "pass",
        `${instanceType}: the default driver ${describeDriver(plan.driver)} cannot run CUDA ${cuda.version} (${cuda.source}); ` +
          `the endpoint config sets InferenceAmiVersion ${plan.ami.version}, ${describeDriver(plan.ami)}`,
        { evidence },
      );
    case "no-fit":
      return gate(
        id,
        title,
        "fail",
        `${instanceType}: no driver SageMaker offers for ${plan.family} (default ${plan.driver ? describeDriver(plan.driver) : "unknown"}) runs CUDA ${cuda.version} (${cuda.source}); /ping would never answer and the endpoint would fail after the whole startup timeout`,
        { hint: noFitHint(plan, cuda.version), evidence },
      );
    case "unknown-family":
      return gate(
        id,
        title,
        "warn",
        `gen3d has no driver record for ${plan.family} instances: CUDA ${cuda.version} (${cuda.source}) is not checked against its driver`,
        { hint: `Check the SageMaker developer guide's GPU driver table for ${instanceType}.`, evidence },
      );
  }
}

/**
 * Before the build: the final stage's own `ENV CUDA_VERSION` / `LABEL com.nvidia.cuda.version`,
 * else what its base image's reference says.
 */
export function cudaFromDockerfile(
  finalStage: readonly { keyword: string; content: string; line: number }[],
  baseImage: string | undefined,
): ImageCuda | undefined {
  for (const { keyword, content, line } of [...finalStage].reverse()) {
    if (keyword !== "ENV" && keyword !== "LABEL") continue;
    const match = /(?:^|\s)(CUDA_VERSION|com\.nvidia\.cuda\.version)[= ]"?(\d{1,2}\.\d{1,2})/.exec(content);
    if (match?.[2]) return { version: match[2], source: `Dockerfile line ${line}: ${keyword} ${match[1]}` };
  }
  if (!baseImage) return undefined;
  const cuda = cudaFromImageRef(baseImage);
  return cuda ? { version: formatCuda(cuda), source: `Dockerfile base image ${baseImage}` } : undefined;
}
