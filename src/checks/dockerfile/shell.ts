import type { Instruction } from "dockerfile-ast";
import type { Node, Syntax } from "mvdan-sh";
import { execArgv, lineOf } from "./parse.js";

/** One simple command of a RUN line, as the shell sees it. Word values are undefined when they expand to something unknown here. */
export interface ShellCommand {
  /** Dockerfile line the command starts on. */
  line: number;
  /** `export`/`declare -x` (assigns are exported), or a call (leading assigns apply to it alone, or to the shell when there are no args). */
  kind: "call" | "export";
  assigns: { name: string; value: string | undefined }[];
  args: (string | undefined)[];
  /** Targets of `>`/`>>` redirections. */
  writes: (string | undefined)[];
}

export type RunScript = { commands: ShellCommand[] } | { error: string; line: number };

let syntax: Syntax | undefined;

/** mvdan-sh is 1.5 MB of GopherJS: loaded on the first RUN line, not at CLI start-up. */
async function shellSyntax(): Promise<Syntax> {
  if (!syntax) {
    const mod = (await import("mvdan-sh")) as unknown as { default: { syntax: Syntax } };
    syntax = mod.default.syntax;
  }
  return syntax;
}

type Vars = ReadonlyMap<string, string>;

/** mvdan.cc/sh/v3's RedirOperator values that write a file: `>` `>>` `>|` `&>` `&>>`. */
const WRITE_REDIRECTS = new Set([54, 55, 60, 64, 65]);

const dropEscapes = (text: string, quoted: boolean) =>
  quoted ? text.replace(/\\([$`"\\\n])/g, "$1") : text.replace(/\\(.)/gs, "$1");

function partText(sx: Syntax, part: Node, vars: Vars, quoted: boolean): string | undefined {
  switch (sx.NodeType(part)) {
    case "Lit":
      return dropEscapes(String(part.Value), quoted);
    case "SglQuoted":
      return String(part.Value);
    case "DblQuoted":
      return joined(sx, part.Parts as Node[], vars, true);
    case "ParamExp": {
      const name = (part.Param as { Value: string } | null)?.Value ?? "";
      const known = vars.get(name);
      if (known !== undefined) return known;
      const fallback = (part.Exp as { Word?: Node } | null)?.Word;
      return fallback ? wordText(sx, fallback, vars) : undefined;
    }
    default:
      return undefined;
  }
}

function joined(sx: Syntax, parts: Node[], vars: Vars, quoted: boolean): string | undefined {
  let out = "";
  for (const part of parts) {
    const text = partText(sx, part, vars, quoted);
    if (text === undefined) return undefined;
    out += text;
  }
  return out;
}

function wordText(sx: Syntax, word: Node, vars: Vars): string | undefined {
  return joined(sx, word.Parts as Node[], vars, false);
}

/** An unquoted expansion to nothing is no word at all (`pip install ${EXTRA} -r f`). */
function isEmptyUnquoted(sx: Syntax, word: Node, vars: Vars): boolean {
  const parts = word.Parts as Node[];
  return parts.every((p) => sx.NodeType(p) === "ParamExp") && wordText(sx, word, vars) === "";
}

/**
 * The script Docker hands to `/bin/sh -c`: comment and blank lines inside a continued RUN are
 * dropped by the builder; each becomes a lone `\` so line numbers stay those of the Dockerfile.
 */
function scriptOf(instruction: Instruction): { script: string; firstLine: number } {
  const raw = instruction.getRawArgumentsContent() ?? "";
  const start = instruction.getArgumentsRange()?.start.line ?? instruction.getRange().start.line;
  const heredoc = /^<<-?\s*["']?(\w+)["']?[^\n]*\n([\s\S]*?)\n\s*\1\s*$/.exec(raw);
  if (heredoc) return { script: heredoc[2] ?? "", firstLine: start + 2 };
  const lines = raw.split("\n").map((line, i) => (i > 0 && /^\s*(#.*)?$/.test(line) ? "\\" : line));
  return { script: lines.join("\n"), firstLine: start + 1 };
}

/** The simple commands of a RUN line, in the order the shell runs them. */
export async function runCommands(instruction: Instruction, vars: Vars = new Map()): Promise<RunScript> {
  const argv = execArgv(instruction);
  if (argv)
    return { commands: [{ line: lineOf(instruction), kind: "call", assigns: [], args: argv, writes: [] }] };
  const sx = await shellSyntax();
  const { script, firstLine } = scriptOf(instruction);
  let file: Node;
  try {
    file = sx.NewParser().Parse(script, "");
  } catch (error) {
    const message = (error as { Error?: () => string }).Error?.() ?? String(error);
    const at = /^(\d+):\d+: /.exec(message);
    return {
      error: message.replace(/^\d+:\d+: /, ""),
      line: firstLine + (at ? Number(at[1]) - 1 : 0),
    };
  }
  const found: { offset: number; command: ShellCommand }[] = [];
  // Keyed by offset: GopherJS hands out a new wrapper object at each field access.
  const writesOf = new Map<number, (string | undefined)[]>();
  sx.Walk(file, (node) => {
    if (!node) return true;
    const type = sx.NodeType(node);
    const line = firstLine + node.Pos().Line() - 1;
    if (type === "Stmt") {
      const redirects = (node.Redirs as Node[]) ?? [];
      const writes = redirects
        .filter((r) => WRITE_REDIRECTS.has(r.Op as number))
        .map((r) => wordText(sx, r.Word as Node, vars));
      if (node.Cmd) writesOf.set((node.Cmd as Node).Pos().Offset(), writes);
    }
    if (type === "CallExpr") {
      const assigns = ((node.Assigns as Node[]) ?? []).map((a) => ({
        name: (a.Name as { Value: string }).Value,
        value: a.Value ? wordText(sx, a.Value as Node, vars) : "",
      }));
      const args = ((node.Args as Node[]) ?? [])
        .filter((w) => !isEmptyUnquoted(sx, w, vars))
        .map((w) => wordText(sx, w, vars));
      const command: ShellCommand = {
        line,
        kind: "call",
        assigns,
        args,
        writes: writesOf.get(node.Pos().Offset()) ?? [],
      };
      found.push({ offset: node.Pos().Offset(), command });
    }
    if (type === "DeclClause") {
      const variant = (node.Variant as { Value: string }).Value;
      const assigns = ((node.Args as Node[]) ?? [])
        .filter((a) => a.Name)
        .map((a) => ({
          name: (a.Name as { Value: string }).Value,
          value: a.Naked ? undefined : a.Value ? wordText(sx, a.Value as Node, vars) : "",
        }));
      const kind = variant === "export" ? "export" : "call";
      found.push({ offset: node.Pos().Offset(), command: { line, kind, assigns, args: [], writes: [] } });
    }
    return true;
  });
  return { commands: found.sort((a, b) => a.offset - b.offset).map((f) => f.command) };
}

/** `env [-i] [-u NAME] NAME=value … program args` → the program's args and the assignments. */
export function throughEnv(command: ShellCommand): {
  args: (string | undefined)[];
  assigns: ShellCommand["assigns"];
} {
  const [program, ...rest] = command.args;
  if (program !== "env") return { args: command.args, assigns: command.assigns };
  const assigns = [...command.assigns];
  let i = 0;
  for (; i < rest.length; i++) {
    const word = rest[i];
    if (word === "-u" || word === "--unset") i++;
    else if (word?.startsWith("-")) continue;
    else if (word && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) {
      const eq = word.indexOf("=");
      assigns.push({ name: word.slice(0, eq), value: word.slice(eq + 1) });
    } else break;
  }
  return { args: rest.slice(i), assigns };
}
