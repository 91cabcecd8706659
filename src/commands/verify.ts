import { type GlobalOptions, openContext, type Runtime } from "../engine/app.js";
import { UserError } from "../engine/errors.js";
import { bold, dim, green, red, yellow } from "../engine/output.js";
import type { GateResult } from "../engine/phase.js";
import { failingGates } from "../engine/runner.js";
import { allPhases } from "../phases/index.js";

const mark = { pass: "✔", fail: "✖", warn: "!", "not-checked": "-" } as const;

/** `gen3d verify --phase N`: only phase N's gates, against reality; nothing is written. */
export async function verifyCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: { phase: number },
): Promise<number> {
  const phase = allPhases().find((p) => p.id === options.phase);
  if (!phase)
    throw new UserError("BAD_FLAG", `--phase ${options.phase}: no such phase`, { hint: "Phases are 1–10." });
  const { ctx, release } = await openContext(globals, runtime);
  try {
    const gates = await phase.verify({ ...ctx, progress: () => {} });
    const failed = failingGates(gates);
    if (ctx.io.json) {
      ctx.io.stdout(
        `${JSON.stringify({ ok: failed.length === 0, phase: phase.id, name: phase.name, gates }, null, 2)}\n`,
      );
    } else {
      ctx.io.stderr(`${bold(ctx.io, `Phase ${phase.id}: ${phase.title}`)}\n${renderGates(ctx.io, gates)}`);
      ctx.io.stderr(
        failed.length === 0
          ? `${green(ctx.io, "passed")}: ${gates.length} gate(s)\n`
          : `${red(ctx.io, "failed")}: ${failed.length} of ${gates.length} gate(s)\n`,
      );
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    await release();
  }
}

export function renderGates(io: Parameters<typeof bold>[0], gates: readonly GateResult[]): string {
  const lines: string[] = [];
  for (const g of gates) {
    const paint =
      g.status === "pass" ? green : g.status === "fail" ? red : g.status === "warn" ? yellow : dim;
    const where = g.location ? `${g.location.file}${g.location.line ? `:${g.location.line}` : ""}: ` : "";
    const [first, ...rest] = g.message.split("\n");
    lines.push(`${paint(io, mark[g.status])} ${g.title}: ${where}${first}`);
    for (const line of [...rest, ...(g.status === "pass" ? [] : (g.details ?? []))])
      lines.push(`    ${line}`);
    if (g.hint && g.status !== "pass") lines.push(`    ${yellow(io, "fix")}: ${g.hint}`);
  }
  return `${lines.join("\n")}\n`;
}
