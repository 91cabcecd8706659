/**
 * SageMaker GPU instance types gen3d knows. Memory is per GPU: a model must fit on one GPU because
 * the server holds each model once, on one device. Prices are on-demand SageMaker hosting in
 * us-east-1, taken from the public SageMaker pricing page (aws.amazon.com/sagemaker/pricing,
 * real-time inference table, as listed in 2025); other regions cost more. Re-check before budgeting.
 */
export interface InstanceType {
  type: string;
  gpu: string;
  gpus: number;
  gpuMemoryGb: number;
  vcpu: number;
  memoryGb: number;
  pricePerHour: number;
}

export const PRICE_SOURCE =
  "SageMaker real-time inference on-demand, us-east-1 (aws.amazon.com/sagemaker/pricing, 2025)";

export const INSTANCE_CATALOG: readonly InstanceType[] = [
  {
    type: "ml.g4dn.xlarge",
    gpu: "NVIDIA T4",
    gpus: 1,
    gpuMemoryGb: 16,
    vcpu: 4,
    memoryGb: 16,
    pricePerHour: 0.736,
  },
  {
    type: "ml.g4dn.2xlarge",
    gpu: "NVIDIA T4",
    gpus: 1,
    gpuMemoryGb: 16,
    vcpu: 8,
    memoryGb: 32,
    pricePerHour: 0.94,
  },
  {
    type: "ml.g5.xlarge",
    gpu: "NVIDIA A10G",
    gpus: 1,
    gpuMemoryGb: 24,
    vcpu: 4,
    memoryGb: 16,
    pricePerHour: 1.408,
  },
  {
    type: "ml.g5.2xlarge",
    gpu: "NVIDIA A10G",
    gpus: 1,
    gpuMemoryGb: 24,
    vcpu: 8,
    memoryGb: 32,
    pricePerHour: 1.515,
  },
  {
    type: "ml.g5.4xlarge",
    gpu: "NVIDIA A10G",
    gpus: 1,
    gpuMemoryGb: 24,
    vcpu: 16,
    memoryGb: 64,
    pricePerHour: 2.03,
  },
  {
    type: "ml.g5.12xlarge",
    gpu: "NVIDIA A10G",
    gpus: 4,
    gpuMemoryGb: 24,
    vcpu: 48,
    memoryGb: 192,
    pricePerHour: 7.09,
  },
  {
    type: "ml.g6.xlarge",
    gpu: "NVIDIA L4",
    gpus: 1,
    gpuMemoryGb: 24,
    vcpu: 4,
    memoryGb: 16,
    pricePerHour: 1.006,
  },
  {
    type: "ml.g6.2xlarge",
    gpu: "NVIDIA L4",
    gpus: 1,
    gpuMemoryGb: 24,
    vcpu: 8,
    memoryGb: 32,
    pricePerHour: 1.222,
  },
  {
    type: "ml.g6e.xlarge",
    gpu: "NVIDIA L40S",
    gpus: 1,
    gpuMemoryGb: 48,
    vcpu: 4,
    memoryGb: 32,
    pricePerHour: 2.336,
  },
  {
    type: "ml.g6e.2xlarge",
    gpu: "NVIDIA L40S",
    gpus: 1,
    gpuMemoryGb: 48,
    vcpu: 8,
    memoryGb: 64,
    pricePerHour: 2.81,
  },
  {
    type: "ml.g6e.4xlarge",
    gpu: "NVIDIA L40S",
    gpus: 1,
    gpuMemoryGb: 48,
    vcpu: 16,
    memoryGb: 128,
    pricePerHour: 3.78,
  },
  {
    type: "ml.p3.2xlarge",
    gpu: "NVIDIA V100",
    gpus: 1,
    gpuMemoryGb: 16,
    vcpu: 8,
    memoryGb: 61,
    pricePerHour: 3.825,
  },
  {
    type: "ml.p4d.24xlarge",
    gpu: "NVIDIA A100",
    gpus: 8,
    gpuMemoryGb: 40,
    vcpu: 96,
    memoryGb: 1152,
    pricePerHour: 37.688,
  },
  {
    type: "ml.p5.48xlarge",
    gpu: "NVIDIA H100",
    gpus: 8,
    gpuMemoryGb: 80,
    vcpu: 192,
    memoryGb: 2048,
    pricePerHour: 113.07,
  },
];

export function findInstance(type: string): InstanceType | undefined {
  return INSTANCE_CATALOG.find((i) => i.type === type);
}

/** Cheapest instance types whose single GPU holds `gpuMemoryGb`. */
export function instancesThatFit(gpuMemoryGb: number, limit = 3): InstanceType[] {
  return INSTANCE_CATALOG.filter((i) => i.gpuMemoryGb >= gpuMemoryGb)
    .sort((a, b) => a.pricePerHour - b.pricePerHour)
    .slice(0, limit);
}

/** A CUDA version as major.minor, comparable. */
export interface CudaVersion {
  major: number;
  minor: number;
}

export function formatCuda(v: CudaVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Does a driver that supports CUDA `driver` run an image built for CUDA `image`? */
export function cudaSupports(driver: CudaVersion, image: CudaVersion): boolean {
  return driver.major > image.major || (driver.major === image.major && driver.minor >= image.minor);
}

export interface GpuDriver {
  driver: string;
  cuda: CudaVersion;
}

export const GPU_DRIVER_SOURCE =
  'SageMaker developer guide, "Best practices to minimize interruptions during GPU driver upgrades" ' +
  "(inference-gpu-drivers), and the SageMaker API reference, ProductionVariant.InferenceAmiVersion " +
  "(botocore sagemaker 2017-07-24 service model, 2025). Re-check both before relying on them: AWS " +
  "upgrades drivers and adds AMI versions over time.";

/**
 * The NVIDIA driver a SageMaker inference host of each family gets when the endpoint config names
 * no InferenceAmiVersion (real-time, batch and asynchronous inference alike).
 */
export const DEFAULT_GPU_DRIVER: Readonly<Record<string, GpuDriver>> = {
  g4dn: { driver: "470", cuda: { major: 11, minor: 4 } },
  g5: { driver: "470", cuda: { major: 11, minor: 4 } },
  p3: { driver: "470", cuda: { major: 11, minor: 4 } },
  p4d: { driver: "470", cuda: { major: 11, minor: 4 } },
  p4de: { driver: "470", cuda: { major: 11, minor: 4 } },
  g6: { driver: "535", cuda: { major: 12, minor: 2 } },
  g6e: { driver: "535", cuda: { major: 12, minor: 2 } },
  p5: { driver: "535", cuda: { major: 12, minor: 2 } },
};

export interface InferenceAmi extends GpuDriver {
  /** The ProductionVariant.InferenceAmiVersion value. */
  version: string;
  /** Instance families the AMI is documented for. */
  families: readonly string[];
}

/**
 * GPU AMI versions for ProductionVariant.InferenceAmiVersion, lowest driver first. The family lists
 * are those documented for each version; a family missing from a list is not offered that AMI.
 */
export const INFERENCE_AMIS: readonly InferenceAmi[] = [
  {
    version: "al2-ami-sagemaker-inference-gpu-2",
    driver: "535",
    cuda: { major: 12, minor: 2 },
    families: ["g4dn", "g5", "g6", "p3", "p4d", "p4de", "p5"],
  },
  {
    version: "al2-ami-sagemaker-inference-gpu-3-1",
    driver: "550",
    cuda: { major: 12, minor: 4 },
    families: ["g4dn", "g5", "g6", "g6e", "p4d", "p4de", "p5"],
  },
  {
    version: "al2023-ami-sagemaker-inference-gpu-4-1",
    driver: "580",
    cuda: { major: 13, minor: 0 },
    families: ["g5", "g6", "g6e", "p4d", "p4de", "p5"],
  },
];

/** `ml.g5.2xlarge` → `g5`. */
export function instanceFamily(type: string): string {
  return type.split(".")[1] ?? "";
}
