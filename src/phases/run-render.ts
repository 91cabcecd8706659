import { formatDuration, progressIntervalMs, RepeatThrottle } from "../engine/progress.js";
import type { Phase, PhaseContext } from "./phase.js";

/** What the runner tells a renderer about one phase. */
export interface TaskHandle {
  /** The phase runs, for this reason. */
  start(reason: string): void;
  /** The phase does not run: skipped (or, for `plan`, would run), with why. */
  skip(why: string): void;
  /** A progress line from the running phase. */
  setOutput(line: string): void;
}

/** What a phase ended as (the runner's outcome), for its closing line. */
export interface PhaseEnd {
  type: string;
  durationMs?: number;
  outcome?: string;
}

/** Runs one phase through a task handle; rejects when the phase failed or was interrupted. */
export type RunOne = (phase: Phase, task: TaskHandle) => Promise<void>;

type RenderContext = Pick<PhaseContext, "io" | "clock" | "env">;

const NO_LINES: TaskHandle = { start: () => {}, skip: () => {}, setOutput: () => {} };

/** `plan` prints its plan as a table (commands/render.ts): the walk itself prints nothing. */
export async function runSilently(selected: readonly Phase[], run: RunOne): Promise<void> {
  for (const phase of selected) await run(phase, NO_LINES);
}

/**
 * Without a terminal (CI logs, pipes) and with --json: plain lines on stderr, one when a phase
 * starts, is skipped or ends, and its progress lines throttled (`RepeatThrottle`): a line every
 * few seconds for a wait that polls, never one per poll.
 */
export async function runWithPlainLines(
  ctx: RenderContext,
  selected: readonly Phase[],
  run: RunOne,
  ended: (id: number) => PhaseEnd | undefined,
): Promise<void> {
  const interval = progressIntervalMs(false, ctx.env);
  for (const phase of selected) {
    const say = (text: string) => ctx.io.stderr(`phase ${phase.id} ${phase.name}: ${text}\n`);
    const progress = new RepeatThrottle(say, ctx.clock, interval);
    try {
      await run(phase, {
        start: (reason) => say(`started — ${reason}`),
        skip: (why) => say(`skipped — ${why}`),
        setOutput: (line) => progress.offer(line),
      });
    } finally {
      progress.flush();
      const end = ended(phase.id);
      if (end?.type === "passed") {
        const took = formatDuration((end.durationMs ?? 0) / 1000);
        say(`passed in ${took}${end.outcome ? ` — ${end.outcome}` : ""}`);
      } else if (end?.type === "failed" || end?.type === "interrupted") say(end.type);
    }
  }
}

/** In a terminal: listr2's tasks, each redrawing its newest progress line in place. */
export async function runInTerminal(
  ctx: RenderContext,
  selected: readonly Phase[],
  run: RunOne,
): Promise<void> {
  const { DefaultRenderer, Listr, ListrLogger, ProcessOutput, createWritable } = await import("listr2");
  // The terminal is stderr, where it draws: listr2 judges by stdout and, with stdout redirected
  // (`gen3d deploy > log`), would fall back to a line per event on the terminal.
  class StderrRenderer extends DefaultRenderer {
    static override nonTTY = true;
  }
  const sink = createWritable((chunk) => ctx.io.stderr(chunk)) as NodeJS.WriteStream;
  const logger = new ListrLogger({ processOutput: new ProcessOutput(sink, sink), useIcons: true });
  const list = new Listr(
    selected.map((phase) => ({
      title: `${phase.id}. ${phase.title}`,
      task: async (_: unknown, task: { skip(m: string): void; output: string }) =>
        run(phase, {
          start: (reason) => (task.output = reason),
          skip: (why) => task.skip(`${phase.title}: skipped, ${why}`),
          setOutput: (line) => (task.output = line),
        }),
      rendererOptions: { persistentOutput: false, outputBar: 1 },
    })),
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      renderer: StderrRenderer,
      // A skipped phase is not a warning: the down arrow, dimmed, with its reason as the title.
      rendererOptions: {
        logger,
        collapseSkips: true,
        collapseErrors: false,
        suffixSkips: false,
        color: {
          SKIPPED_WITH_COLLAPSE: (text: string) => (ctx.io.color ? `\u001b[2m${text}\u001b[22m` : text),
        },
      },
    } as never,
  );
  await list.run();
}
