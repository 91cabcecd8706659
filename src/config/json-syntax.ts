/**
 * Where a JSON text first breaks, as line and column (1-based, columns in characters), with what
 * was expected there. JSON.parse says only "position 812" on Node 20, or nothing at all ("Unexpected
 * token 'a', "abc" is not valid JSON"); an editor wants a line and a column.
 */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
  /** The offending line, for a caret under the column. */
  text: string;
}

class Stop {
  constructor(
    readonly at: number,
    readonly reason: string,
  ) {}
}

/** The first syntax error in `text`, or undefined when it is valid JSON. Iterative: depth costs no stack. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const describe = (at: number) => {
    if (at >= text.length) return "the end of the file";
    const c = text.codePointAt(at) as number;
    return c > 0x20 && c < 0x7f
      ? JSON.stringify(String.fromCodePoint(c))
      : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20)
        throw new Stop(i, "a line break or control character inside a string: escape it, or close the quote");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          for (let k = 2; k < 6; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? ""))
              throw new Stop(i + k, "\\u in a string needs four hex digits");
          }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Stop(i + 1, `an unknown escape \\${e ?? ""} in a string`);
        continue;
      }
      i++;
    }
    throw new Stop(i, 'a string that is never closed (a missing ")');
  };
  const digits = (what: string) => {
    if (!/[0-9]/.test(text[i] ?? "")) throw new Stop(i, `expected ${what}, found ${describe(i)}`);
    while (/[0-9]/.test(text[i] ?? "")) i++;
  };
  const number = () => {
    if (text[i] === "-") i++;
    if (text[i] === "0") {
      i++;
      if (/[0-9]/.test(text[i] ?? "")) throw new Stop(i, "expected a number without leading zeros");
    } else digits("a digit");
    if (text[i] === ".") {
      i++;
      digits("a digit after the decimal point");
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits("a digit in the exponent");
    }
  };
  // Each open container: what it expects next.
  const stack: ("object" | "array")[] = [];
  const value = () => {
    ws();
    const c = text[i];
    if (c === '"') return string();
    if (c === "{" || c === "[") {
      stack.push(c === "{" ? "object" : "array");
      i++;
      return "open";
    }
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    if (c === "'") throw new Stop(i, "expected a value: JSON strings take double quotes, not single");
    throw new Stop(i, `expected a value, found ${describe(i)}`);
  };
  const key = () => {
    ws();
    if (text[i] !== '"') {
      throw new Stop(
        i,
        text[i] === "}"
          ? 'expected a property name, found "}" (a trailing comma before it?)'
          : `expected a property name in double quotes, found ${describe(i)}`,
      );
    }
    string();
    ws();
    if (text[i] !== ":") throw new Stop(i, `expected ":" after the property name, found ${describe(i)}`);
    i++;
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    let opened = value() === "open";
    for (;;) {
      const top = stack.at(-1);
      if (!top) break;
      ws();
      const close = top === "object" ? "}" : "]";
      if (opened && text[i] === close) {
        stack.pop();
        i++;
        opened = false;
        continue;
      }
      if (!opened) {
        if (text[i] === close) {
          stack.pop();
          i++;
          continue;
        }
        if (text[i] !== ",") throw new Stop(i, `expected "," or "${close}", found ${describe(i)}`);
        i++;
        ws();
        if (text[i] === close)
          throw new Stop(
            i,
            `expected a ${top === "object" ? "property" : "value"} after ",", found "${close}" (a trailing comma?)`,
          );
      }
      if (top === "object") key();
      opened = value() === "open";
    }
    ws();
    if (i < text.length)
      throw new Stop(i, `expected the end of the file after the value, found ${describe(i)}`);
    return undefined;
  } catch (stop) {
    if (!(stop instanceof Stop)) throw stop;
    return locate(text, stop.at, stop.reason);
  }
}

function locate(text: string, at: number, reason: string): JsonSyntaxError {
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", at) === -1 ? text.length : text.indexOf("\n", at);
  return {
    line,
    column: [...text.slice(lineStart, at)].length + 1,
    reason,
    text: text.slice(lineStart, lineEnd).replace(/\r$/, ""),
  };
}
