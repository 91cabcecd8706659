import type { Gen3dConfig } from "../config/schema.js";
import { formatDuration } from "../engine/progress.js";

/**
 * How long CreateEndpoint usually takes, as a range to set expectations while phase 7 waits.
 * SageMaker publishes no launch times: these are rules of thumb (GPU hosts take longer to come
 * up than CPU ones), plus the image pull at cost.imagePullMBps for an image at its size budget,
 * plus the model load budget. Shown as "typical", never used as a limit.
 */
const LAUNCH_MINUTES: { family: RegExp; min: number; max: number }[] = [
  { family: /^(g\d|p\d|inf\d|trn\d)/, min: 5, max: 10 },
  { family: /.*/, min: 3, max: 6 },
];

export function instanceFamily(instanceType: string): string {
  return instanceType.replace(/^ml\./, "").split(".")[0] ?? instanceType;
}

export function typicalDeployRange(config: Gen3dConfig): { minSeconds: number; maxSeconds: number } {
  const family = instanceFamily(config.instance.type);
  const launch = LAUNCH_MINUTES.find((l) => l.family.test(family)) ?? { min: 3, max: 6 };
  const pullSeconds = (config.image.maxSizeGb * 1000) / config.cost.imagePullMBps;
  const loadSeconds = config.timeouts.startupSeconds;
  return {
    minSeconds: launch.min * 60 + pullSeconds / 2,
    maxSeconds: launch.max * 60 + pullSeconds + loadSeconds,
  };
}

/** "typical for g6e: 5m50s–13m40s". */
export function typicalDeployLine(config: Gen3dConfig): string {
  const { minSeconds, maxSeconds } = typicalDeployRange(config);
  return `typical for ${instanceFamily(config.instance.type)}: ${formatDuration(minSeconds)}–${formatDuration(maxSeconds)}`;
}

/** "6–14 min": the typical range in whole minutes (the low end rounded down, the high end up). */
export function typicalDeployMinutes(config: Gen3dConfig): string {
  const { minSeconds, maxSeconds } = typicalDeployRange(config);
  return `${Math.floor(minSeconds / 60)}–${Math.ceil(maxSeconds / 60)} min`;
}
