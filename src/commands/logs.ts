import type { FilteredLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { createLogs, endpointLogGroup, formatEvent } from "../adapters/cloudwatch-logs.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { isAbort, UserError } from "../engine/errors.js";
import { jsonLine, printJson } from "../engine/output.js";
import { endpointNameFor } from "../spec/sagemaker.js";

export interface LogsOptions {
  follow?: boolean;
  /** Minutes back to start from (commander passes a string). */
  since?: string | number;
  /** Seconds between polls with --follow. */
  pollSeconds?: number;
}

export interface LogsResult {
  group: string;
  lines: number;
  /** False when the log group does not exist yet. */
  found: boolean;
}

function sinceMinutes(value: LogsOptions["since"]): number {
  const n = typeof value === "number" ? value : Number(value ?? 30);
  if (!Number.isFinite(n) || n < 0) {
    throw new UserError("BAD_FLAG", `--since ${String(value)}: expected a number of minutes`, {
      hint: "e.g. --since 60",
    });
  }
  return n;
}

/**
 * Prints the endpoint's CloudWatch log lines (every stream, oldest first) on stdout; with
 * `follow`, keeps polling for new ones until the run is aborted (Ctrl-C), which ends it cleanly.
 */
export async function readLogs(ctx: AppContext, options: LogsOptions = {}): Promise<LogsResult> {
  const endpointName = ctx.state.state.artifacts.endpointName ?? endpointNameFor(ctx.config);
  const group = endpointLogGroup(endpointName);
  const logs = createLogs(ctx);
  let startTime = ctx.clock.now().getTime() - sinceMinutes(options.since) * 60_000;
  const seen = new Set<string>();
  let printed = 0;
  const collected: FilteredLogEvent[] = [];
  let found = true;
  const pollMs = (options.pollSeconds ?? 5) * 1000;
  const emit = (event: FilteredLogEvent) => {
    const id = event.eventId ?? `${event.logStreamName}:${event.timestamp}:${event.message}`;
    if (seen.has(id)) return;
    seen.add(id);
    // --json: one document at the end; with --follow there is no end, so one JSON event a line.
    if (!ctx.io.json) ctx.io.stdout(`${formatEvent(event)}\n`);
    else if (options.follow) ctx.io.stdout(jsonLine(ctx.io, { event }));
    else collected.push(event);
    printed += 1;
    if (event.timestamp !== undefined) startTime = Math.max(startTime, event.timestamp);
  };
  try {
    for (;;) {
      const batch = await logs.filterLogEvents(group, startTime);
      if (batch === undefined && found)
        ctx.io.stderr(`log group ${group} does not exist (yet): the endpoint has not written logs\n`);
      found = batch !== undefined;
      for (const event of (batch ?? []).sort((x, y) => (x.timestamp ?? 0) - (y.timestamp ?? 0))) emit(event);
      if (!options.follow) break;
      await ctx.clock.sleep(pollMs, ctx.signal);
    }
  } catch (error) {
    if (!(options.follow && (isAbort(error) || ctx.signal.aborted))) throw error;
  }
  if (ctx.io.json && !options.follow) {
    printJson(ctx.io, found, { group, found, events: collected });
  }
  return { group, lines: printed, found };
}

/** `gen3d logs [-f] [--since MINUTES]`. */
export async function logsCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: LogsOptions = {},
): Promise<number> {
  const { ctx, release } = await openContext(globals, runtime);
  try {
    const result = await readLogs(ctx, options);
    if (!result.found && !options.follow) return 1;
    return 0;
  } finally {
    await release();
  }
}
