import { describe, expect, it } from "vitest";
import { assertSagemakerRegion } from "../../src/catalog/regions.js";
import { costLines, estimateCost } from "../../src/checks/cost.js";
import { parseConfig } from "../../src/config/load.js";
import { validConfig } from "../support/project.js";

/** The seed's case: ml.g5.2xlarge ($1.515/h), 30 jobs a day of 100 s, gen3d's defaults otherwise. */
const seed = () =>
  parseConfig(
    validConfig({ instance: { type: "ml.g5.2xlarge" }, cost: { jobsPerDay: 30, secondsPerJob: 100 } }),
    "x",
  );

describe("the seed's cost matrix, recomputed with what a wake-up from zero bills", () => {
  it("counts provisioning, the image pull, model load, the scale-in alarm and the cooldown, with sources", () => {
    const estimate = estimateCost(seed());
    expect(estimate?.coldStart.provisioning).toMatchObject({
      seconds: 240,
      source: expect.stringMatching(/cost\.provisioningSeconds/),
    });
    // image.maxSizeGb 40 GB at 100 MB/s.
    expect(estimate?.coldStart.imagePull).toMatchObject({
      seconds: 410,
      source: expect.stringMatching(/40 GB.*100 MB\/s/),
    });
    expect(estimate?.coldStart.modelLoad).toMatchObject({
      seconds: 240,
      source: expect.stringMatching(/startupSeconds/),
    });
    expect(estimate?.scaleIn.alarm).toMatchObject({
      seconds: 900,
      source: expect.stringMatching(/15 datapoints × 60 s/),
    });
    expect(estimate?.scaleIn.cooldown).toMatchObject({
      seconds: 300,
      source: expect.stringMatching(/scaleInCooldownSeconds/),
    });
    expect(estimate?.overheadSecondsPerWake).toBe(240 + 410 + 240 + 900 + 300);
  });

  it("the seed's $38/month is only the jobs' own seconds; at min 0 the truth is $65–$841 against $1,106 always on", () => {
    const estimate = estimateCost(seed());
    // 30 × 100 s = 0.83 h/day × 30.4 days × $1.515 ≈ $38: the seed's figure.
    expect(estimate?.asyncComputeOnlyPerMonth).toBeCloseTo(38.4, 1);
    // One wake-up a day: (2,090 + 3,000) s/day.
    expect(estimate?.asyncBurstPerMonth).toBeCloseTo(65.15, 1);
    // Every job alone: 30 × (2,090 + 100) s = 18.25 h/day.
    expect(estimate?.asyncIsolatedJobsPerMonth).toBeCloseTo(840.98, 1);
    expect(estimate?.realtimeAlwaysOnPerMonth).toBeCloseTo(1105.95, 1);
    expect(estimate?.asyncWarmPoolPerMonth).toBeCloseTo(1105.95, 1);
    expect(estimate?.savingsVsRealtime).toEqual({ best: 0.94, worst: 0.24 });
  });

  it("caps a day at 24 h: jobs closer together than a wake-up cycle keep the instance up all day", () => {
    const config = parseConfig(
      validConfig({ instance: { type: "ml.g5.2xlarge" }, cost: { jobsPerDay: 200, secondsPerJob: 100 } }),
      "x",
    );
    const estimate = estimateCost(config);
    expect(estimate?.asyncIsolatedJobsPerMonth).toBeCloseTo(1105.95, 1);
    expect(estimate?.savingsVsRealtime.worst).toBe(0);
  });

  it("prints every component with its source and the recomputed matrix", () => {
    const lines = costLines(estimateCost(seed()) as NonNullable<ReturnType<typeof estimateCost>>).join("\n");
    expect(lines).toMatch(/every wake-up from zero also bills 34m50s/);
    expect(lines).toMatch(/image pull +6m50s: image\.maxSizeGb 40 GB/);
    expect(lines).toMatch(/scale-in +15m00s: target tracking's scale-in alarm/);
    expect(lines).toMatch(/real-time, always on: +\$1105\.95\/month/);
    expect(lines).toMatch(/async, min 0 instances: \$65\.15–\$840\.98\/month .* saves 24%–94%/);
    expect(lines).toMatch(/async, min 1 \(warm\): +\$1105\.95\/month/);
    expect(lines).toMatch(/jobs' own seconds only: \$38\.40\/month \(a common way of counting/);
  });

  it("the traffic, region and instance type can come from flags instead of the config", () => {
    const estimate = estimateCost(seed(), {
      jobsPerDay: 500,
      secondsPerJob: 20,
      region: "us-west-2",
      instanceType: "ml.g5.xlarge",
    });
    expect(estimate).toMatchObject({ jobsPerDay: 500, secondsPerJob: 20, instanceType: "ml.g5.xlarge" });
    expect(estimate?.asyncComputeOnlyPerMonth).toBeCloseTo(1.408 * ((500 * 20) / 3600) * (730 / 24), 1);
  });

  it("says whose prices it used, their date and source: exact where known, us-east-1's marked as such elsewhere", () => {
    const oregon = estimateCost(seed(), { region: "us-west-2" });
    expect(oregon?.prices).toMatchObject({
      region: "us-west-2",
      requested: "us-west-2",
      exact: true,
      date: "2025",
    });
    expect(costLines(oregon as NonNullable<typeof oregon>)[0]).toMatch(
      /^ml\.g5\.2xlarge at \$1\.5\d\/h: us-west-2 prices .*aws\.amazon\.com\/sagemaker\/pricing.*2025/,
    );
    const frankfurt = estimateCost(seed(), { region: "eu-central-1" });
    expect(frankfurt?.prices).toMatchObject({ region: "us-east-1", requested: "eu-central-1", exact: false });
    expect(costLines(frankfurt as NonNullable<typeof frankfurt>)[0]).toMatch(
      /us-east-1 prices: gen3d knows no prices for eu-central-1, which usually costs more/,
    );
  });
});

describe("regions", () => {
  it("refuses a region SageMaker does not run in, with did-you-mean, before any call", () => {
    expect(() => assertSagemakerRegion("us-esat-1")).toThrow(
      expect.objectContaining({
        code: "REGION_UNKNOWN",
        hint: expect.stringContaining("Did you mean us-east-1?"),
      }),
    );
    expect(() => assertSagemakerRegion("eu-west-1")).not.toThrow();
  });
});
