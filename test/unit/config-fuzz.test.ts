import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatPath } from "../../src/config/format-issues.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { UserError } from "../../src/engine/errors.js";
import { validConfig } from "../support/project.js";

/**
 * Configs near the schema: a valid config with one to four mutations — a wrong type, an unknown key
 * at any depth, a boundary number, unicode (control characters and bidi overrides included), a
 * huge string, a deeply nested value, a deleted key — or the root replaced. Every one either passes
 * or is refused as `path: message` lines; nothing else may come out of the loader.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Every path in `value`, containers included. */
function paths(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function leaves(value: Json): Path[] {
  return paths(value).filter((p) => {
    const v = get(value, p);
    return p.length > 0 && (v === null || typeof v !== "object");
  });
}

function get(value: Json, at: Path): Json | undefined {
  let node: Json | undefined = value;
  for (const key of at)
    node = node && typeof node === "object" ? (node as Record<string, Json>)[key] : undefined;
  return node;
}

/** `root` with the value at `at` replaced (or removed), copying only the containers on the way. */
function set(root: Json, at: Path, v: Json | undefined): Json {
  if (at.length === 0) return v ?? null;
  if (root === null || typeof root !== "object") return root;
  const [key, ...rest] = at as [string | number, ...Path];
  const copy: Json = Array.isArray(root) ? [...root] : { ...root };
  const child = (root as Record<string, Json>)[key];
  const next = rest.length === 0 ? v : child === undefined ? undefined : set(child, rest, v);
  if (rest.length > 0 && child === undefined) return copy;
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete (copy as Record<string, Json>)[key];
  } else {
    // defineProperty: "__proto__" becomes an own key, as JSON.parse makes it.
    Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

const boundaryNumber = fc.constantFrom(
  0,
  -0,
  -1,
  1,
  0.5,
  -0.5,
  59,
  60,
  61,
  1023,
  1024,
  65535,
  65536,
  256,
  257,
  1000,
  1001,
  3600,
  3601,
  2 ** 31,
  2 ** 53 - 1,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e-300,
  -1e308,
);
const unicode = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "\u001b[2J\u001b[31mred",
    "\u202eevil\u202c",
    "a\u0000b",
    "\ud800",
    "ü-ml.g6e",
    "名前",
    "\u2028",
    "",
  ),
);
const huge = fc
  .tuple(fc.constantFrom(1_000, 65_536, 100_000), fc.constantFrom("x", "é", "😀", "a-", "\u001b"))
  .map(([n, s]) => s.repeat(n));
const deep = fc
  .tuple(fc.integer({ min: 30, max: 400 }), fc.boolean())
  .map(([depth, asArray]) => nested(depth, "bottom", asArray));
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  boundaryNumber,
  unicode,
  huge,
  deep,
  fc.constantFrom<Json>(null, true, false, [], {}, "1", "true", [null], { "": "" }),
);
const weirdKey = fc.oneof(
  unicode,
  fc.constantFrom(
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "instanse",
    "Project",
    "name ",
    "",
  ),
);

const base = validConfig() as Json;
const knownPaths = paths(base);

type Mutation = (config: Json) => Json;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...knownPaths), anyValue).map(
    ([at, v]) =>
      (c: Json) =>
        set(c, at, v),
  ),
  fc.tuple(fc.constantFrom(...knownPaths), weirdKey, anyValue).map(([at, key, v]) => (c: Json) => {
    const parent = get(c, at);
    return parent && typeof parent === "object" && !Array.isArray(parent) ? set(c, [...at, key], v) : c;
  }),
  fc.constantFrom(...knownPaths.filter((p) => p.length > 0)).map((at) => (c: Json) => set(c, at, undefined)),
  fc.tuple(fc.constantFrom(...knownPaths), boundaryNumber).map(
    ([at, v]) =>
      (c: Json) =>
        set(c, at, v),
  ),
);
const nearConfig: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .array(mutation, { minLength: 1, maxLength: 4 })
      .map((ms) => ms.reduce((c, m) => m(c), base)),
  },
  { weight: 1, arbitrary: anyValue },
);

const PROBLEM_LINE = /^• (\(root\)|[A-Za-z0-9_$[][^\n]*?): [^\n]+$/;
const STACK_FRAME = /\n\s+at \S.*:\d+:\d+/;

/** Characters a terminal would act on instead of printing: escapes, bidi overrides, line separators. */
function unprintable(text: string): string[] {
  return [...text].filter((c) => /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c) && c !== "\n");
}

/** The loader's verdict: accepted, or the lines it printed; anything but a UserError fails the test. */
function verdict(value: unknown): { ok: true } | { ok: false; error: UserError } {
  try {
    parseConfig(value, "gen3d.config.json");
    return { ok: true };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { ok: false, error };
  }
}

function expectPathMessage(error: UserError) {
  expect(error.code).toBe("CONFIG_INVALID");
  expect(error.exitCode).toBe(2);
  expect(error.details.length).toBeGreaterThan(0);
  for (const line of error.details) {
    expect(line).toMatch(PROBLEM_LINE);
    expect(line.length).toBeLessThan(900);
    expect(unprintable(line), line).toEqual([]);
  }
}

describe("fuzzed configs near the schema", () => {
  it("every one is accepted or refused as `path: message` lines (in-process, 3000 runs)", () => {
    fc.assert(
      fc.property(nearConfig, (config) => {
        const result = verdict(config);
        if (!result.ok) expectPathMessage(result.error);
      }),
      { numRuns: 3_000, seed: 14_4 },
    );
  });

  it("a wrong type at a known key is refused naming that key", () => {
    const typed = leaves(base);
    const wrong = fc
      .tuple(fc.constantFrom(...typed), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>)
      .filter(([at, v]) => {
        const was = get(base, at);
        return (
          typeof v !== typeof was ||
          (v === null) !== (was === null) ||
          Array.isArray(v) !== Array.isArray(was)
        );
      });
    fc.assert(
      fc.property(wrong, ([at, v]) => {
        const result = verdict(set(base, at, v));
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expectPathMessage(result.error);
        const where = formatPath(at);
        expect(result.error.details.some((l) => l.startsWith(`• ${where}:`))).toBe(true);
      }),
      { numRuns: 500, seed: 14_5 },
    );
  });

  it("names unknown keys at any depth, escaped so a terminal prints them as text", () => {
    const result = verdict(
      set(set(base, ["instance", "\u001b[2Jtype"], "x"), ["models", 0, "\u202eeman"], 1),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectPathMessage(result.error);
    expect(result.error.details).toContain(
      '• instance["\\u001b[2Jtype"]: unknown key (known here: type, initialCount, minCount, maxCount, volumeSizeGb)',
    );
    expect(result.error.details.some((l) => l.startsWith('• models[0]["\\u202eeman"]: unknown key'))).toBe(
      true,
    );
  });

  it("refuses nesting deeper than any config needs, by path, without a stack overflow", () => {
    const result = verdict(
      set(base, ["smokeTests"], { segment: { image: "a.png", payload: { p: nested(100_000, 1, true) } } }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectPathMessage(result.error);
    expect(result.error.details[0]).toMatch(
      /^• smokeTests\.segment\.payload\.p\[0\]\[0\]\[0\]\[0\]…: nested deeper than 32 levels/,
    );
  });
});

/** Line and column of a UTF-16 offset, columns counted in characters. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return {
    line: before.split("\n").length,
    column: [...before.slice(before.lastIndexOf("\n") + 1)].length + 1,
  };
}

const corrupted = fc
  .tuple(
    nearConfig.map((c) => JSON.stringify(c, null, 2) ?? "null"),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("delete", "insert", "truncate"),
        fc.constantFrom(",", "{", "}", "[", "]", ":", '"', "'", "x", "\n", "01", "\u0001"),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [n, op, s]) => {
      const at = t.length === 0 ? 0 : n % t.length;
      if (op === "delete") return t.slice(0, at) + t.slice(at + 1);
      if (op === "insert") return t.slice(0, at) + s + t.slice(at);
      return t.slice(0, at);
    }, text),
  );

describe("broken JSON", () => {
  it("is refused with the line and column where it breaks, agreeing with JSON.parse where it says (300 runs)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-fuzz-"));
    const file = path.join(dir, "gen3d.config.json");
    await fc.assert(
      fc.asyncProperty(corrupted, async (text) => {
        let parseError: Error | undefined;
        try {
          JSON.parse(text);
        } catch (e) {
          parseError = e as Error;
        }
        await writeFile(file, text);
        const outcome = await loadConfig(file).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!parseError) {
          if (outcome !== undefined) {
            expect(outcome).toBeInstanceOf(UserError);
            expectPathMessage(outcome as UserError);
          }
          return;
        }
        expect(outcome).toBeInstanceOf(UserError);
        const error = outcome as UserError;
        const match = new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+): not valid JSON: \\S`,
        ).exec(error.message);
        expect(match, error.message).not.toBeNull();
        const [line, column] = [Number(match?.[1]), Number(match?.[2])];
        const lines = text.split("\n");
        expect(line).toBeLessThanOrEqual(lines.length);
        expect(column).toBeLessThanOrEqual([...(lines[line - 1] ?? "")].length + 1);
        const position = /at position (\d+)/.exec(parseError.message);
        if (position) expect({ line, column }).toEqual(lineColumn(text, Number(position[1])));
        expect(error.message).not.toMatch(/position \d+/);
      }),
      { numRuns: 300, seed: 14_6 },
    );
  });

  it("a trailing comma points at the line and column of the brace after it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-fuzz-"));
    const file = path.join(dir, "gen3d.config.json");
    await writeFile(file, '{\n  "project": { "name": "x" },\n}\n');
    const error = (await loadConfig(file).catch((e: unknown) => e)) as UserError;
    expect(error.message).toBe(
      `${file}:3:1: not valid JSON: expected a property after ",", found "}" (a trailing comma?)`,
    );
    expect(error.details).toEqual(["  }", "  ^"]);
  });
});

/**
 * The same inputs through the bundled CLI (`node scripts/build.mjs` first): a bounded sample, since
 * each run is a process. Exit 2, `path: message` lines, no stack trace, STATE.json untouched.
 */
describe("fuzzed configs through the real CLI entry", { timeout: 240_000 }, () => {
  it("20 refused configs each exit 2 with path: message lines and leave STATE.json as it was", async () => {
    const objects = fc
      .sample(nearConfig, { numRuns: 400, seed: 14_7 })
      .filter((c) => !verdict(c).ok)
      .slice(0, 14)
      .map((c) => JSON.stringify(c, null, 2));
    const texts = fc.sample(corrupted, { numRuns: 200, seed: 14_8 }).filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    });
    const inputs = [...objects, ...texts.slice(0, 6)];
    expect(inputs).toHaveLength(20);
    const dir = await mkdtemp(path.join(os.tmpdir(), "gen3d-fuzz-cli-"));
    const state = path.join(dir, "STATE.json");
    const recorded = '{"a record": "gen3d must not touch"}\n';
    await writeFile(state, recorded);
    const before = (await stat(state)).mtimeMs;
    for (const [n, text] of inputs.entries()) {
      await writeFile(path.join(dir, "gen3d.config.json"), text);
      const args = n % 3 === 0 ? ["deploy", "--json"] : n % 3 === 1 ? ["deploy"] : ["plan"];
      const run = spawnSync(process.execPath, [path.resolve("bin/gen3d.js"), ...args], {
        cwd: dir,
        env: { ...process.env, CI: "true", NO_COLOR: "1" },
        encoding: "utf8",
        timeout: 30_000,
      });
      const shown = `input ${n} (${args.join(" ")}):\n${run.stderr.slice(0, 2000)}`;
      expect(run.status, shown).toBe(2);
      expect(run.stderr, shown).not.toMatch(STACK_FRAME);
      expect(run.stderr, shown).toMatch(/CONFIG_INVALID/);
      expect(unprintable(run.stderr), shown).toEqual([]);
      const problems = run.stderr.split("\n").filter((l) => l.trimStart().startsWith("• "));
      const located = /gen3d\.config\.json:\d+:\d+: not valid JSON: /.test(run.stderr);
      expect(located || problems.length > 0, shown).toBe(true);
      for (const line of problems) expect(line.trimStart(), shown).toMatch(PROBLEM_LINE);
      if (args.includes("--json")) {
        const doc = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } };
        expect(doc).toMatchObject({ ok: false, error: { code: "CONFIG_INVALID" } });
      }
    }
    expect(await readFile(state, "utf8")).toBe(recorded);
    expect((await stat(state)).mtimeMs).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(["STATE.json", "gen3d.config.json"]);
  });
});
