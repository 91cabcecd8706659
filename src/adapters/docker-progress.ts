import { formatBytes, formatDuration, RateMeter, type ThrottledLine } from "../engine/progress.js";
import type { EngineMessage } from "./docker-engine.js";

type LayerState = "preparing" | "waiting" | "pushing" | "pushed" | "present" | "mounted";

interface Layer {
  id: string;
  state: LayerState;
  current: number;
  total: number | undefined;
}

/** What a push did, for the phase's evidence and its closing line. */
export interface PushSummary {
  layers: number;
  pushedLayers: number;
  alreadyPresent: number;
  mounted: number;
  pushedBytes: number;
  seconds: number;
  digest?: string;
}

/**
 * Follows `docker push`'s JSON stream: each layer's state and bytes (the ids are the layers'
 * short diff IDs), totals, rate and time left. Layers the registry already holds are counted as
 * such — the point of a layered Dockerfile is that a code change uploads kilobytes.
 */
export class PushProgress {
  private readonly layers = new Map<string, Layer>();
  private readonly meter = new RateMeter();
  private digest: string | undefined;

  constructor(private readonly startedMs: number) {}

  /** Applies one message; returns true when a layer changed state (worth a line of its own in a log). */
  update(message: EngineMessage, nowMs: number): boolean {
    if (message.aux?.Digest) this.digest = message.aux.Digest;
    const id = message.id;
    const status = message.status ?? "";
    if (!id || !/^[0-9a-f]{12}$/.test(id)) return false;
    const layer = this.layers.get(id) ?? { id, state: "preparing", current: 0, total: undefined };
    this.layers.set(id, layer);
    const before = layer.state;
    if (status === "Preparing") layer.state = "preparing";
    else if (status === "Waiting") layer.state = "waiting";
    else if (status === "Pushing") {
      layer.state = "pushing";
      layer.current = message.progressDetail?.current ?? layer.current;
      if (message.progressDetail?.total) layer.total = message.progressDetail.total;
    } else if (status === "Pushed") {
      layer.state = "pushed";
      if (layer.total !== undefined) layer.current = layer.total;
    } else if (status === "Layer already exists") layer.state = "present";
    else if (status.startsWith("Mounted from")) layer.state = "mounted";
    this.meter.add(nowMs, this.sentBytes);
    return before !== layer.state;
  }

  private get sentBytes(): number {
    let sum = 0;
    for (const layer of this.layers.values()) sum += layer.current;
    return sum;
  }

  private count(...states: LayerState[]): number {
    return [...this.layers.values()].filter((l) => states.includes(l.state)).length;
  }

  /** One line: totals, rate, time left, layer counts, and the layers uploading now. */
  line(nowMs: number): string {
    const layers = [...this.layers.values()];
    if (layers.length === 0)
      return `preparing the push · ${formatDuration((nowMs - this.startedMs) / 1000)} elapsed`;
    const uploading = layers.filter((l) => l.state === "pushing" || l.state === "pushed");
    const known = uploading.reduce((s, l) => s + (l.total ?? l.current), 0);
    const unsized = this.count("preparing", "waiting");
    const sent = this.sentBytes;
    const rate = this.meter.rate;
    const eta = this.meter.eta(Math.max(0, known - sent));
    const parts = [
      `pushed ${formatBytes(sent)} of ${unsized > 0 ? "≥ " : ""}${formatBytes(known)}`,
      rate !== undefined ? `${formatBytes(rate)}/s` : undefined,
      eta !== undefined ? `ETA ${unsized > 0 ? "≥ " : ""}${formatDuration(eta)}` : undefined,
      `layers: ${this.count("pushed")} pushed, ${this.count("pushing")} uploading, ${unsized} waiting, ${this.count("present", "mounted")} already present`,
      `${formatDuration((nowMs - this.startedMs) / 1000)} elapsed`,
    ];
    const active = layers
      .filter((l) => l.state === "pushing")
      .sort((a, b) => (b.total ?? 0) - (a.total ?? 0))
      .slice(0, 3)
      .map((l) => `${l.id} ${formatBytes(l.current)}/${l.total ? formatBytes(l.total) : "?"}`);
    return [...parts.filter(Boolean), ...(active.length > 0 ? [`now: ${active.join(", ")}`] : [])].join(
      " · ",
    );
  }

  summary(nowMs: number): PushSummary {
    return {
      layers: this.layers.size,
      pushedLayers: this.count("pushed"),
      alreadyPresent: this.count("present"),
      mounted: this.count("mounted"),
      pushedBytes: [...this.layers.values()]
        .filter((l) => l.state === "pushed")
        .reduce((s, l) => s + (l.total ?? l.current), 0),
      seconds: (nowMs - this.startedMs) / 1000,
      ...(this.digest ? { digest: this.digest } : {}),
    };
  }
}

/** "pushed 26 KB in 3 s (1 layer), 11 layers already present". */
export function pushSummaryLine(s: PushSummary): string {
  const present = s.alreadyPresent + s.mounted;
  return [
    `pushed ${formatBytes(s.pushedBytes)} in ${formatDuration(s.seconds)} (${s.pushedLayers} layer${s.pushedLayers === 1 ? "" : "s"})`,
    `${present} layer${present === 1 ? "" : "s"} already present${s.mounted > 0 ? ` (${s.mounted} mounted from another repository)` : ""}`,
  ].join(", ");
}

/**
 * Follows the legacy builder's JSON stream: the build context upload, then "Step n/m" with the
 * step's instruction, whether it came from cache, and how long the current step has run.
 */
export class BuildProgress {
  private contextSent = 0;
  private contextTotal: number | undefined;
  private readonly contextMeter = new RateMeter();
  private step: { n: number; of: number; instruction: string; startedMs: number } | undefined;
  private cached = 0;
  private lastOutput = "";
  imageId: string | undefined;

  constructor(
    private readonly startedMs: number,
    private readonly limitSeconds: number,
  ) {}

  context(sent: number, total: number, nowMs: number): void {
    this.contextSent = sent;
    this.contextTotal = total;
    this.contextMeter.add(nowMs, sent);
  }

  /** Applies one message; returns true when a new step started. */
  update(message: EngineMessage, nowMs: number): boolean {
    if (message.aux?.ID) this.imageId = message.aux.ID;
    let stepped = false;
    for (const raw of (message.stream ?? "").split("\n")) {
      const text = raw.trim();
      if (!text) continue;
      const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(text);
      if (step) {
        this.step = { n: Number(step[1]), of: Number(step[2]), instruction: step[3] ?? "", startedMs: nowMs };
        this.lastOutput = "";
        stepped = true;
      } else if (text === "---> Using cache") this.cached++;
      else if (!text.startsWith("--->")) this.lastOutput = text;
    }
    if (message.status && message.id) this.lastOutput = `${message.id}: ${message.status}`;
    return stepped;
  }

  line(nowMs: number): string {
    const elapsed = `elapsed ${formatDuration((nowMs - this.startedMs) / 1000)} / limit ${formatDuration(this.limitSeconds)}`;
    if (!this.step) {
      const total = this.contextTotal;
      if (total === undefined) return `starting the build · ${elapsed}`;
      const rate = this.contextMeter.rate;
      const eta = this.contextMeter.eta(total - this.contextSent);
      return [
        `sending the build context ${formatBytes(this.contextSent)} / ${formatBytes(total)}`,
        rate !== undefined ? `${formatBytes(rate)}/s` : undefined,
        eta !== undefined ? `ETA ${formatDuration(eta)}` : undefined,
        elapsed,
      ]
        .filter(Boolean)
        .join(" · ");
    }
    const instruction =
      this.step.instruction.length > 60 ? `${this.step.instruction.slice(0, 59)}…` : this.step.instruction;
    const output = this.lastOutput.length > 50 ? `${this.lastOutput.slice(0, 49)}…` : this.lastOutput;
    return [
      `step ${this.step.n}/${this.step.of} ${instruction} (${formatDuration((nowMs - this.step.startedMs) / 1000)})`,
      `${this.cached} cached`,
      elapsed,
      ...(output ? [output] : []),
    ].join(" · ");
  }
}

/**
 * Feeds a build's stream to a throttled line: a step that starts is news and shows at once, so a
 * build that runs from cache in a second still names its steps; anything else waits its turn.
 */
export function followBuild(progress: BuildProgress, line: ThrottledLine, now: () => number) {
  return {
    context(sent: number, total: number): void {
      progress.context(sent, total, now());
      line.offer(() => progress.line(now()));
    },
    message(message: EngineMessage): void {
      if (progress.update(message, now())) line.force(progress.line(now()));
      else line.offer(() => progress.line(now()));
    },
  };
}
