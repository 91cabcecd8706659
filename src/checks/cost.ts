import { findInstance } from "../catalog/instances.js";
import { pricesFor, type RegionPrices } from "../catalog/regions.js";
import type { Gen3dConfig } from "../config/schema.js";
import { type GateResult, gate } from "../engine/gate.js";

const HOURS_PER_MONTH = 730;
const DAY_SECONDS = 24 * 3600;

/**
 * Target tracking scales in through an alarm Application Auto Scaling creates and manages: the
 * metric must stay below target for 15 one-minute datapoints (the policy's AlarmLow alarm, as
 * DescribeAlarms shows it; Application Auto Scaling user guide, "How target tracking scaling works":
 * it removes capacity more slowly than it adds it).
 */
export const SCALE_IN_ALARM = { datapoints: 15, periodSeconds: 60 };

export interface CostComponent {
  seconds: number;
  source: string;
}

export interface CostEstimate {
  instanceType: string;
  pricePerHour: number;
  priceSource: string;
  /** Whose prices these are: the region, their date and source, and whether they are exact. */
  prices: RegionPrices;
  jobsPerDay: number;
  secondsPerJob: number;
  /** Billed before the first job runs on a new instance. */
  coldStart: { provisioning: CostComponent; imagePull: CostComponent; modelLoad: CostComponent };
  /** Billed after the last job, until target tracking has removed the instance. */
  scaleIn: { alarm: CostComponent; cooldown: CostComponent };
  /** Instance-seconds one wake-up costs on top of its jobs: cold start + scale-in. */
  overheadSecondsPerWake: number;
  /** Only the seconds jobs run: the seed's figure, which no endpoint at min 0 can reach. */
  asyncComputeOnlyPerMonth: number;
  /** Async, min 0, all of a day's jobs in one burst: one wake-up a day (lower bound). */
  asyncBurstPerMonth: number;
  /** Async, min 0, every job alone: one wake-up per job (upper bound). */
  asyncIsolatedJobsPerMonth: number;
  /** Async, min 1 (a warm instance): one instance always on, as real-time. */
  asyncWarmPoolPerMonth: number;
  /** Real-time endpoint, instance.initialCount instances always on. */
  realtimeAlwaysOnPerMonth: number;
  /** 1 − async/real-time, for the burst (best) and isolated (worst) cases. */
  savingsVsRealtime: { best: number; worst: number };
}

/** What `gen3d cost` may set instead of the config: the traffic, the region, the instance type. */
export interface CostOverrides {
  jobsPerDay?: number;
  secondsPerJob?: number;
  region?: string;
  instanceType?: string;
}

/** Always-on versus scale-to-zero costs, recomputed for this config with what a wake-up from zero bills. */
export function estimateCost(config: Gen3dConfig, overrides: CostOverrides = {}): CostEstimate | undefined {
  const instance = findInstance(overrides.instanceType ?? config.instance.type);
  if (!instance) return undefined;
  const { provisioningSeconds, imagePullMBps } = config.cost;
  const jobsPerDay = overrides.jobsPerDay ?? config.cost.jobsPerDay;
  const secondsPerJob = overrides.secondsPerJob ?? config.cost.secondsPerJob;
  const prices = pricesFor(overrides.region ?? config.aws.region);
  const imageMb = config.image.maxSizeGb * 1024;
  const coldStart = {
    provisioning: {
      seconds: provisioningSeconds,
      source:
        "cost.provisioningSeconds (an assumption: SageMaker publishes no launch time for GPU instances; time phase 10's cold start and set it)",
    },
    imagePull: {
      seconds: Math.round(imageMb / imagePullMBps),
      source: `image.maxSizeGb ${config.image.maxSizeGb} GB (the size budget phase 2 holds the image to) at cost.imagePullMBps ${imagePullMBps} MB/s (an assumption)`,
    },
    modelLoad: {
      seconds: config.timeouts.startupSeconds,
      source:
        "timeouts.startupSeconds (the local startup budget; phase 3 measures the real time to the first /ping)",
    },
  };
  const scaleIn = {
    alarm: {
      seconds: SCALE_IN_ALARM.datapoints * SCALE_IN_ALARM.periodSeconds,
      source: `target tracking's scale-in alarm: ${SCALE_IN_ALARM.datapoints} datapoints × ${SCALE_IN_ALARM.periodSeconds} s below target (Application Auto Scaling's managed AlarmLow alarm)`,
    },
    cooldown: {
      seconds: config.async.scaleInCooldownSeconds,
      source:
        "async.scaleInCooldownSeconds (the policy's ScaleInCooldown: no further scale-in before it ends)",
    },
  };
  const overhead =
    coldStart.provisioning.seconds +
    coldStart.imagePull.seconds +
    coldStart.modelLoad.seconds +
    scaleIn.alarm.seconds +
    scaleIn.cooldown.seconds;
  const days = HOURS_PER_MONTH / 24;
  const perMonth = (secondsPerDay: number) =>
    round(instance.pricePerHour * (Math.min(DAY_SECONDS, secondsPerDay) / 3600) * days);
  const compute = jobsPerDay * secondsPerJob;
  const realtime = round(instance.pricePerHour * HOURS_PER_MONTH * Math.max(1, config.instance.initialCount));
  const burst = perMonth(jobsPerDay > 0 ? overhead + compute : 0);
  const isolated = perMonth(jobsPerDay * (overhead + secondsPerJob));
  const saving = (async: number) => (realtime === 0 ? 0 : round(1 - async / realtime));
  return {
    instanceType: instance.type,
    pricePerHour: instance.pricePerHour,
    priceSource: prices.note,
    prices,
    jobsPerDay,
    secondsPerJob,
    coldStart,
    scaleIn,
    overheadSecondsPerWake: overhead,
    asyncComputeOnlyPerMonth: perMonth(compute),
    asyncBurstPerMonth: burst,
    asyncIsolatedJobsPerMonth: isolated,
    asyncWarmPoolPerMonth: round(instance.pricePerHour * HOURS_PER_MONTH),
    realtimeAlwaysOnPerMonth: realtime,
    savingsVsRealtime: { best: saving(burst), worst: saving(isolated) },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

export function costLines(estimate: CostEstimate): string[] {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const pct = (n: number) => `${Math.round(n * 100)}%`;
  const { coldStart, scaleIn } = estimate;
  return [
    `${estimate.instanceType} at ${usd(estimate.pricePerHour)}/h: ${estimate.prices.note}`,
    `${estimate.jobsPerDay} jobs/day × ${estimate.secondsPerJob} s/job; every wake-up from zero also bills ${duration(estimate.overheadSecondsPerWake)}:`,
    `  provisioning ${duration(coldStart.provisioning.seconds)}: ${coldStart.provisioning.source}`,
    `  image pull   ${duration(coldStart.imagePull.seconds)}: ${coldStart.imagePull.source}`,
    `  model load   ${duration(coldStart.modelLoad.seconds)}: ${coldStart.modelLoad.source}`,
    `  scale-in     ${duration(scaleIn.alarm.seconds)}: ${scaleIn.alarm.source}`,
    `  cooldown     ${duration(scaleIn.cooldown.seconds)}: ${scaleIn.cooldown.source}`,
    "async vs real-time for this traffic, recomputed:",
    `  real-time, always on:   ${usd(estimate.realtimeAlwaysOnPerMonth)}/month`,
    `  async, min 0 instances: ${usd(estimate.asyncBurstPerMonth)}–${usd(estimate.asyncIsolatedJobsPerMonth)}/month (all jobs in one burst a day … every job alone), saves ${pct(estimate.savingsVsRealtime.worst)}–${pct(estimate.savingsVsRealtime.best)}`,
    `  async, min 1 (warm):    ${usd(estimate.asyncWarmPoolPerMonth)}/month: a warm instance bills like real-time`,
    `  jobs' own seconds only: ${usd(estimate.asyncComputeOnlyPerMonth)}/month (a common way of counting; no endpoint at min 0 bills this little)`,
  ];
}

export function costGate(config: Gen3dConfig): GateResult {
  const estimate = estimateCost(config);
  if (!estimate) {
    return gate(
      "cost.summary",
      "cost summary",
      "not-checked",
      `no price known for ${config.instance.type}; cost not estimated`,
    );
  }
  return gate("cost.summary", "cost summary", "pass", costLines(estimate).join("\n"), { evidence: estimate });
}
