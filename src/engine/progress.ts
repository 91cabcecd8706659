import type { Clock } from "./clock.js";

/** 26 KB, 1.4 GB: decimal units, as registries and `docker images` report sizes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** 45 s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** How long ago `iso` was, as a human says it: "just now", "5 min ago", "3 h ago", "2 days ago". */
export function timeAgo(iso: string, now: Date): string {
  const seconds = Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

/** "elapsed 4m10s / limit 30m00s": every long wait says how long it may still take. */
export function elapsedOfLimit(elapsedSeconds: number, limitSeconds: number): string {
  return `elapsed ${formatDuration(elapsedSeconds)} / limit ${formatDuration(limitSeconds)}`;
}

/** Seconds between progress lines without a terminal, unless GEN3D_PROGRESS_SECONDS says otherwise. */
export const PLAIN_PROGRESS_SECONDS = 10;
/** In a terminal the line is redrawn in place: throttled only so rendering stays cheap. */
export const TTY_PROGRESS_MS = 200;

export function progressIntervalMs(
  isTTY: boolean,
  env: Readonly<Record<string, string | undefined>>,
): number {
  if (isTTY) return TTY_PROGRESS_MS;
  const configured = Number(env.GEN3D_PROGRESS_SECONDS);
  return (Number.isFinite(configured) && configured > 0 ? configured : PLAIN_PROGRESS_SECONDS) * 1000;
}

/**
 * Turns a stream of progress events into lines at most once per interval. In a terminal the
 * renderer redraws one line in place, so the interval is short; without one every line is kept in
 * the log, so it is a line every few seconds, never one per event.
 */
export class ThrottledLine {
  private last = Number.NEGATIVE_INFINITY;
  private pending: string | undefined;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly clock: Pick<Clock, "now">,
    private readonly intervalMs: number,
  ) {}

  /** Offers the current state; `render` runs only when a line is due. */
  offer(render: () => string): void {
    const now = this.clock.now().getTime();
    if (now - this.last >= this.intervalMs) {
      this.last = now;
      this.pending = undefined;
      this.emit(render());
    } else {
      this.pending = render();
    }
  }

  /** Emits a line now whatever the interval (a summary, a failure). */
  force(line: string): void {
    this.last = this.clock.now().getTime();
    this.pending = undefined;
    this.emit(line);
  }

  /** The newest state not yet shown, if any. */
  get unshown(): string | undefined {
    return this.pending;
  }
}

/** Bytes per second over a sliding window, and the time left at that rate. */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  add(tMs: number, totalBytes: number): void {
    this.samples.push({ t: tMs, bytes: totalBytes });
    while (this.samples.length > 2 && tMs - (this.samples[0]?.t ?? tMs) > this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or undefined before two samples a moment apart. */
  get rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 500) return undefined;
    return Math.max(0, (last.bytes - first.bytes) / ((last.t - first.t) / 1000));
  }

  eta(remainingBytes: number): number | undefined {
    const rate = this.rate;
    return rate && rate > 0 ? remainingBytes / rate : undefined;
  }
}

/** A line's shape: its numbers and hex ids blanked, so "waiting 3 s" and "waiting 4 s" are one shape. */
function shapeOf(line: string): string {
  return line.replace(/[0-9a-f]{6,}|\d+(?:\.\d+)?/gi, "#");
}

/**
 * Lines for a log, not a terminal: a line of a new shape is shown at once (a step that started,
 * a summary); a line of a shape already shown (a poll saying the same thing with a new number) at
 * most once per interval for that shape, so a loop that alternates two lines does not flood
 * either. `flush` shows the newest line held back, so a log ends on the latest state.
 */
export class RepeatThrottle {
  private readonly shownAt = new Map<string, number>();
  private held: { line: string; shape: string } | undefined;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly clock: Pick<Clock, "now">,
    private readonly intervalMs: number,
  ) {}

  offer(line: string): void {
    const now = this.clock.now().getTime();
    const shape = shapeOf(line);
    const last = this.shownAt.get(shape);
    if (last !== undefined && now - last < this.intervalMs) {
      this.held = { line, shape };
      return;
    }
    this.shownAt.set(shape, now);
    if (this.held?.shape === shape) this.held = undefined;
    this.emit(line);
  }

  flush(): void {
    if (this.held !== undefined) this.emit(this.held.line);
    this.held = undefined;
  }
}
