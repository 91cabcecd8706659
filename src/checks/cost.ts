import { findInstance, PRICE_SOURCE } from "../catalog/instances.js";
import type { Gen3dConfig } from "../config/schema.js";
import { type GateResult, gate } from "../engine/phase.js";

const HOURS_PER_MONTH = 730;

export interface CostEstimate {
  instanceType: string;
  pricePerHour: number;
  priceSource: string;
  jobsPerDay: number;
  secondsPerJob: number;
  /** Async, min 0: billed only while jobs run (lower bound: jobs arrive back to back). */
  asyncBusyOnlyPerMonth: number;
  /** Async, min 0: every job wakes an instance that then idles through the scale-in cooldown (upper bound). */
  asyncIsolatedJobsPerMonth: number;
  /** Real-time endpoint, one instance always on. */
  realtimeAlwaysOnPerMonth: number;
  savingsVsRealtime: number;
}

/** The seed's Solution 4 matrix, for this config. */
export function estimateCost(config: Gen3dConfig): CostEstimate | undefined {
  const instance = findInstance(config.instance.type);
  if (!instance) return undefined;
  const { jobsPerDay, secondsPerJob } = config.cost;
  const days = HOURS_PER_MONTH / 24;
  const busyHoursPerDay = Math.min(24, (jobsPerDay * secondsPerJob) / 3600);
  const isolatedHoursPerDay = Math.min(
    24,
    (jobsPerDay * (secondsPerJob + config.async.scaleInCooldownSeconds + config.timeouts.startupSeconds)) /
      3600,
  );
  const round = (n: number) => Math.round(n * 100) / 100;
  const realtime = round(instance.pricePerHour * HOURS_PER_MONTH * Math.max(1, config.instance.initialCount));
  const asyncBusy = round(instance.pricePerHour * busyHoursPerDay * days);
  return {
    instanceType: instance.type,
    pricePerHour: instance.pricePerHour,
    priceSource: PRICE_SOURCE,
    jobsPerDay,
    secondsPerJob,
    asyncBusyOnlyPerMonth: asyncBusy,
    asyncIsolatedJobsPerMonth: round(instance.pricePerHour * isolatedHoursPerDay * days),
    realtimeAlwaysOnPerMonth: realtime,
    savingsVsRealtime: realtime === 0 ? 0 : round(1 - asyncBusy / realtime),
  };
}

export function costLines(estimate: CostEstimate): string[] {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  return [
    `${estimate.instanceType} at ${usd(estimate.pricePerHour)}/h (${estimate.priceSource})`,
    `${estimate.jobsPerDay} jobs/day × ${estimate.secondsPerJob} s/job:`,
    `  async, min 0 instances: ${usd(estimate.asyncBusyOnlyPerMonth)}–${usd(estimate.asyncIsolatedJobsPerMonth)}/month (jobs back to back … each job alone plus cooldown)`,
    `  real-time, always on:   ${usd(estimate.realtimeAlwaysOnPerMonth)}/month`,
    `  async saves ${Math.round(estimate.savingsVsRealtime * 100)}% at best`,
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
