/**
 * What running a Python file does at its top level, read from its statements (not from words in
 * it): a file that only imports libraries and defines functions — the SageMaker `inference.py`
 * handler shape — exits as soon as Python has read it, so it cannot be serving HTTP. Anything
 * else (a `__main__` block, a call, an import of the project's own code) is left to phase 3,
 * which runs the image.
 */

export interface TopLevel {
  /** True when every top-level statement only defines or imports a library. */
  definesOnly: boolean;
  /** Functions and classes defined at the top level. */
  defined: string[];
  /** First statement that runs something (line, text), when not definesOnly. */
  runs?: { line: number; text: string };
}

interface LogicalLine {
  line: number;
  indented: boolean;
  /** The statement with string literals emptied and comments removed. */
  text: string;
}

/** Splits source into logical lines (brackets, backslashes and triple-quoted strings joined). */
export function logicalLines(source: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let text = "";
  let startLine = 1;
  let indented = false;
  let line = 1;
  let depth = 0;
  let atStart = true;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (atStart) {
      if (c === " " || c === "\t" || c === "\f") {
        indented = true;
        continue;
      }
      if (c === "\n" || c === "#" || c === "\r") {
        // Blank or comment-only line: not a statement.
        if (c === "#") while (i < source.length && source[i] !== "\n") i++;
        if (source[i] === "\n") line++;
        indented = false;
        continue;
      }
      atStart = false;
      startLine = line;
    }
    if (c === "#") {
      while (i + 1 < source.length && source[i + 1] !== "\n") i++;
    } else if (c === "'" || c === '"') {
      const triple = source.startsWith(c.repeat(3), i);
      const end = triple ? c.repeat(3) : c;
      let j = i + end.length;
      while (j < source.length && !source.startsWith(end, j)) {
        if (source[j] === "\\") j++;
        else if (source[j] === "\n" && !triple) break;
        if (source[j] === "\n") line++;
        j++;
      }
      text += `${c}${c}`;
      i = j + end.length - 1;
    } else if (c === "\\" && source[i + 1] === "\n") {
      i++;
      line++;
      text += " ";
    } else if (c === "\n") {
      line++;
      if (depth > 0) text += " ";
      else {
        out.push({ line: startLine, indented, text: text.trim() });
        text = "";
        atStart = true;
        indented = false;
      }
    } else {
      if ("([{".includes(c)) depth++;
      if (")]}".includes(c)) depth = Math.max(0, depth - 1);
      text += c;
    }
  }
  if (text.trim()) out.push({ line: startLine, indented, text: text.trim() });
  return out;
}

/** Calls that only read configuration or set up logging: they return, they never serve. */
const QUIET_CALLEE =
  /^(logging|os|os\.path|os\.environ|sys\.path|warnings|json|pathlib|Path|int|str|float|bool|dict|list|set|tuple|frozenset|len|range|getattr|isinstance)(\.[A-Za-z_]\w*)*$/;

function callsOnlyQuiet(expression: string): boolean {
  for (const match of expression.matchAll(/([A-Za-z_][\w.]*)\s*\(/g)) {
    if (!QUIET_CALLEE.test(match[1] as string)) return false;
  }
  return true;
}

/** The root module an import statement names (`from a.b import c` → a; relative → "."). */
export function importedRoots(statement: string): string[] {
  const from = /^from\s+(\.*)([\w.]*)\s+import\b/.exec(statement);
  if (from) return [from[1] ? "." : ((from[2] as string).split(".")[0] as string)];
  const plain = /^import\s+(.+)$/.exec(statement);
  if (!plain) return [];
  return (plain[1] as string).split(",").map((part) => part.trim().split(/[\s.]/)[0] as string);
}

/**
 * Reads the top level of a Python file. `isLocal` says whether an imported module is the
 * project's own (in the build context): importing it may run anything, so it is not "defines only".
 */
export function topLevel(source: string, isLocal: (module: string) => boolean): TopLevel {
  const defined: string[] = [];
  let definesOnly = true;
  let runs: TopLevel["runs"];
  for (const statement of logicalLines(source)) {
    if (statement.indented) continue;
    const { text } = statement;
    const definition = /^(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/.exec(text);
    let quiet = false;
    if (definition) {
      defined.push(definition[2] as string);
      quiet = true;
    } else if (text.startsWith("@"))
      quiet = QUIET_CALLEE.test(text.slice(1).split("(")[0]?.trim() ?? "") && callsOnlyQuiet(text.slice(1));
    else if (/^(import|from)\s/.test(text))
      quiet = importedRoots(text).every((m) => m !== "." && !isLocal(m));
    else if (/^(""|'')$/.test(text) || text === "pass") quiet = true;
    else if (/^[A-Za-z_][\w.]*\s*(:[^=]+)?=[^=]/.test(text) || /^[\w.]+\s*\(/.test(text))
      quiet = callsOnlyQuiet(text);
    if (!quiet && definesOnly) {
      definesOnly = false;
      runs = { line: statement.line, text: text.slice(0, 80) };
    }
  }
  return runs ? { definesOnly, defined, runs } : { definesOnly, defined };
}
