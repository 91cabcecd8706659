import { describe, expect, it } from "vitest";
import type { EngineMessage } from "../../src/adapters/docker-engine.js";
import {
  BuildProgress,
  followBuild,
  PushProgress,
  pushSummaryLine,
} from "../../src/adapters/docker-progress.js";
import {
  elapsedOfLimit,
  formatBytes,
  formatDuration,
  progressIntervalMs,
  ThrottledLine,
} from "../../src/engine/progress.js";

/** A clock the test moves by hand. */
function manualClock(startMs = 0) {
  let now = startMs;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms), ms: () => now };
}

/** What `docker push` streams for 3 layers: one new (4 MB), two the registry already holds. */
function pushStream(): { atMs: number; message: EngineMessage }[] {
  const events: { atMs: number; message: EngineMessage }[] = [
    { atMs: 0, message: { status: "The push refers to repository [127.0.0.1:5000/app]" } },
    { atMs: 10, message: { status: "Preparing", id: "aaaaaaaaaaaa", progressDetail: {} } },
    { atMs: 10, message: { status: "Preparing", id: "bbbbbbbbbbbb", progressDetail: {} } },
    { atMs: 10, message: { status: "Preparing", id: "cccccccccccc", progressDetail: {} } },
    { atMs: 50, message: { status: "Layer already exists", id: "bbbbbbbbbbbb", progressDetail: {} } },
    { atMs: 60, message: { status: "Layer already exists", id: "cccccccccccc", progressDetail: {} } },
  ];
  // 4 MB over 40 s, one message every 100 ms: 400 events.
  for (let i = 1; i <= 400; i++) {
    events.push({
      atMs: 100 + i * 100,
      message: {
        status: "Pushing",
        id: "aaaaaaaaaaaa",
        progressDetail: { current: i * 10_000, total: 4_000_000 },
      },
    });
  }
  events.push({ atMs: 40_200, message: { status: "Pushed", id: "aaaaaaaaaaaa", progressDetail: {} } });
  events.push({
    atMs: 40_300,
    message: { status: "0.1.0-abc: digest: sha256:1234 size: 1234", progressDetail: {} },
  });
  events.push({ atMs: 40_300, message: { aux: { Tag: "0.1.0-abc", Digest: "sha256:1234", Size: 1234 } } });
  return events;
}

describe("progress formatting", () => {
  it("bytes, durations and elapsed / limit read as a person would write them", () => {
    expect(formatBytes(26_000)).toBe("26.0 KB");
    expect(formatBytes(15_100_000_000)).toBe("15.1 GB");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(elapsedOfLimit(250, 1800)).toBe("elapsed 4m10s / limit 30m00s");
  });

  it("without a TTY the interval is seconds (configurable), in a terminal a fraction of one", () => {
    expect(progressIntervalMs(false, {})).toBe(10_000);
    expect(progressIntervalMs(false, { GEN3D_PROGRESS_SECONDS: "2" })).toBe(2_000);
    expect(progressIntervalMs(false, { GEN3D_PROGRESS_SECONDS: "nonsense" })).toBe(10_000);
    expect(progressIntervalMs(true, {})).toBeLessThan(1_000);
  });
});

describe("push progress from the Engine API stream", () => {
  it("renders a fake stream to non-TTY lines at intervals, not one per event", () => {
    const clock = manualClock();
    const lines: string[] = [];
    const progress = new PushProgress(clock.ms());
    const line = new ThrottledLine((l) => lines.push(l), clock, progressIntervalMs(false, {}));
    const events = pushStream();
    for (const { atMs, message } of events) {
      clock.advance(atMs - clock.ms());
      progress.update(message, clock.ms());
      line.offer(() => progress.line(clock.ms()));
    }
    line.force(pushSummaryLine(progress.summary(clock.ms())));

    expect(lines[0]).toBe("preparing the push · 0 s elapsed");
    // 407 events over 40 s: the first line, one every 10 s after it, and the summary.
    expect(events.length).toBeGreaterThan(400);
    expect(lines.length).toBeLessThanOrEqual(7);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    // A line mid-upload: bytes so far and total, rate, time left, layer counts, the active layer.
    const mid = lines.find((l) => l.includes("uploading") && l.includes("ETA")) ?? "";
    expect(mid).toMatch(/pushed [\d.]+ [KM]B of 4\.0 MB/);
    expect(mid).toMatch(/\d+(\.\d)? KB\/s/);
    expect(mid).toMatch(/ETA \d+ s/);
    expect(mid).toContain("2 already present");
    expect(mid).toMatch(/now: aaaaaaaaaaaa [\d.]+ [KM]B\/4\.0 MB/);
    expect(lines.at(-1)).toBe("pushed 4.0 MB in 40 s (1 layer), 2 layers already present");
    expect(progress.summary(clock.ms())).toMatchObject({
      layers: 3,
      pushedLayers: 1,
      alreadyPresent: 2,
      pushedBytes: 4_000_000,
      digest: "sha256:1234",
    });
  });

  it("in a terminal the line follows the stream closely", () => {
    const clock = manualClock();
    const lines: string[] = [];
    const progress = new PushProgress(clock.ms());
    const line = new ThrottledLine((l) => lines.push(l), clock, progressIntervalMs(true, {}));
    for (const { atMs, message } of pushStream()) {
      clock.advance(atMs - clock.ms());
      progress.update(message, clock.ms());
      line.offer(() => progress.line(clock.ms()));
    }
    expect(lines.length).toBeGreaterThan(100);
  });

  it("while layers still wait, their size is unknown: the total and ETA are lower bounds", () => {
    const progress = new PushProgress(0);
    progress.update({ status: "Waiting", id: "dddddddddddd" }, 0);
    progress.update(
      { status: "Pushing", id: "eeeeeeeeeeee", progressDetail: { current: 1e6, total: 2e6 } },
      0,
    );
    progress.update(
      { status: "Pushing", id: "eeeeeeeeeeee", progressDetail: { current: 1.5e6, total: 2e6 } },
      1000,
    );
    const text = progress.line(1000);
    expect(text).toContain("of ≥ 2.0 MB");
    expect(text).toMatch(/ETA ≥ \d+ s/);
    expect(text).toContain("1 waiting");
  });
});

describe("build progress from the legacy builder's stream", () => {
  it("shows the context upload, then the step, its time, cache hits and elapsed / limit", () => {
    const progress = new BuildProgress(0, 3600);
    progress.context(500_000_000, 2_000_000_000, 0);
    progress.context(1_000_000_000, 2_000_000_000, 2000);
    expect(progress.line(2000)).toBe(
      "sending the build context 1.0 GB / 2.0 GB · 250 MB/s · ETA 4 s · elapsed 2 s / limit 1h00m",
    );
    progress.update({ stream: "Step 1/3 : FROM base\n" }, 3000);
    progress.update({ stream: " ---> 1234\n" }, 3000);
    progress.update({ stream: "Step 2/3 : COPY models/ /opt/models/\n" }, 3000);
    progress.update({ stream: " ---> Using cache\n" }, 3000);
    progress.update({ stream: "Step 3/3 : RUN pip install -r requirements.txt\n" }, 4000);
    progress.update({ stream: "Collecting torch\n" }, 65_000);
    expect(progress.line(65_000)).toBe(
      "step 3/3 RUN pip install -r requirements.txt (1m01s) · 1 cached · elapsed 1m05s / limit 1h00m · Collecting torch",
    );
    progress.update({ aux: { ID: "sha256:abc" } }, 66_000);
    expect(progress.imageId).toBe("sha256:abc");
  });
});

describe("a build's lines without a terminal", () => {
  it("names every step that starts, even a cached build done within one interval", () => {
    const lines: string[] = [];
    const clock = { now: () => new Date(0) };
    const follow = followBuild(
      new BuildProgress(0, 600),
      new ThrottledLine((l) => lines.push(l), clock, progressIntervalMs(false, {})),
      () => 0,
    );
    follow.context(1000, 2000);
    follow.context(2000, 2000);
    follow.message({ stream: "Step 1/2 : FROM base\n" });
    follow.message({ stream: " ---> Using cache\n" });
    follow.message({ stream: "Step 2/2 : COPY app /app\n" });
    follow.message({ stream: " ---> Using cache\n" });
    expect(lines).toEqual([
      "sending the build context 1.0 KB / 2.0 KB · elapsed 0 s / limit 10m00s",
      "step 1/2 FROM base (0 s) · 0 cached · elapsed 0 s / limit 10m00s",
      "step 2/2 COPY app /app (0 s) · 1 cached · elapsed 0 s / limit 10m00s",
    ]);
  });
});
