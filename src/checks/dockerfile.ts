import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../engine/phase.js";

/** What the Dockerfile gates need to know about the build. */
export interface DockerfileInput {
  /** Absolute path of the Dockerfile. */
  file: string;
  /** Absolute path of the build context. */
  contextDir: string;
  /** Build arguments that will be passed (they override ARG defaults). */
  buildArgs: Record<string, string>;
  /** How the path is shown in messages (relative to the config). */
  displayFile: string;
}

const SERVER_MARKERS =
  /\b(gunicorn|uvicorn|waitress|hypercorn|serve_forever|HTTPServer|make_server|WSGIServer|run_simple)\b|\bapp\.run\(|\.serve\(/;
const PYTHON = /^python(\d+(\.\d+)?)?$/;
const KNOWN_SERVERS = new Set(["gunicorn", "uvicorn", "hypercorn", "waitress-serve"]);

const lineOf = (instruction: Instruction) => instruction.getRange().start.line + 1;

/** Arguments of ARG lines before the first FROM, with defaults overridden by build args. */
function globalArgs(instructions: Instruction[], buildArgs: Record<string, string>): Map<string, string> {
  const args = new Map<string, string>();
  for (const instruction of instructions) {
    if (instruction.getKeyword() === "FROM") break;
    if (instruction.getKeyword() !== "ARG") continue;
    const content = instruction.getArgumentsContent() ?? "";
    const [name, ...rest] = content.split("=");
    if (!name) continue;
    const value =
      buildArgs[name.trim()] ?? (rest.length > 0 ? rest.join("=").replace(/^["']|["']$/g, "") : undefined);
    if (value !== undefined) args.set(name.trim(), value);
  }
  return args;
}

function expand(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g,
    (_m, name: string, fallback?: string) => vars.get(name) ?? fallback ?? "",
  );
}

/** Is the instruction written in exec (JSON array) form? */
function isExecForm(instruction: Instruction): boolean {
  return (instruction.getArgumentsContent() ?? "").trim().startsWith("[");
}

function execArgv(instruction: Instruction): string[] | undefined {
  try {
    const parsed = JSON.parse(instruction.getArgumentsContent() ?? "");
    return Array.isArray(parsed) && parsed.every((s) => typeof s === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

interface CopyMapping {
  sources: string[];
  destination: string;
  line: number;
  keyword: string;
  fromStage: boolean;
}

function copies(instructions: Instruction[]): CopyMapping[] {
  const out: CopyMapping[] = [];
  for (const instruction of instructions) {
    const keyword = instruction.getKeyword();
    if (keyword !== "COPY" && keyword !== "ADD") continue;
    const flags = (instruction as unknown as { getFlags?: () => { getName(): string }[] }).getFlags?.() ?? [];
    const fromStage = flags.some((f) => f.getName() === "from");
    let args: string[];
    if (isExecForm(instruction)) args = execArgv(instruction) ?? [];
    else
      args = instruction
        .getArguments()
        .map((a) => a.getValue())
        .filter((a) => !a.startsWith("--"));
    if (args.length < 2) continue;
    out.push({
      sources: args.slice(0, -1),
      destination: args.at(-1) as string,
      line: lineOf(instruction),
      keyword,
      fromStage,
    });
  }
  return out;
}

/** Patterns from .dockerignore, as predicates on context-relative paths. */
export async function dockerignore(contextDir: string): Promise<(relative: string) => boolean> {
  let text = "";
  try {
    text = await readFile(path.join(contextDir, ".dockerignore"), "utf8");
  } catch {
    return () => false;
  }
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => ({
      negate: l.startsWith("!"),
      regex: globToRegex(l.replace(/^!/, "").replace(/^\/+|\/+$/g, "")),
    }));
  return (relative) => {
    let ignored = false;
    const parts = relative.split("/");
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.regex.test(parts.slice(0, i).join("/"))) ignored = !rule.negate;
      }
    }
    return ignored;
  };
}

function globToRegex(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Context paths matching a COPY source (wildcards in the last segment only, as is usual). */
async function matchSource(contextDir: string, source: string): Promise<string[]> {
  const clean = path.posix.normalize(source.replace(/^\.?\/+/, "")).replace(/\/$/, "");
  if (clean === "." || clean === "") return ["."];
  if (!/[*?[]/.test(clean)) return (await exists(path.join(contextDir, clean))) ? [clean] : [];
  const dir = path.posix.dirname(clean);
  const pattern = globToRegex(path.posix.basename(clean));
  try {
    const entries = await readdir(path.join(contextDir, dir));
    return entries.filter((e) => pattern.test(e)).map((e) => (dir === "." ? e : `${dir}/${e}`));
  } catch {
    return [];
  }
}

/** Maps a path inside the image back to the context file a COPY put there. */
async function contextFileFor(
  imagePath: string,
  mappings: CopyMapping[],
  contextDir: string,
  workdir: string,
): Promise<string | undefined> {
  const absolute = (p: string) => (path.posix.isAbsolute(p) ? p : path.posix.join(workdir, p));
  const target = absolute(imagePath);
  for (const mapping of [...mappings].reverse()) {
    if (mapping.fromStage) continue;
    const destination = absolute(mapping.destination).replace(/\/$/, "");
    for (const source of mapping.sources) {
      const clean = source.replace(/^\.?\/+/, "").replace(/\/$/, "") || ".";
      const candidates: string[] = [];
      if (target === destination) candidates.push(clean);
      if (target.startsWith(`${destination}/`)) {
        const rest = target.slice(destination.length + 1);
        candidates.push(path.posix.join(clean, rest)); // COPY dir/ /dest/ copies the directory's contents
        if (path.posix.basename(clean) === rest) candidates.push(clean); // COPY file /dest/ keeps the name
      }
      for (const candidate of candidates) {
        const file = path.join(contextDir, candidate);
        if (await isFile(file)) return file;
      }
    }
  }
  return undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Finds `module/__main__.py` or `module.py` anywhere in the context (bounded walk). */
async function findModule(contextDir: string, module: string): Promise<string | undefined> {
  const relative = module.replace(/\./g, "/");
  const queue = [""];
  let visited = 0;
  while (queue.length > 0 && visited < 2000) {
    const dir = queue.shift() as string;
    visited++;
    for (const candidate of [`${relative}/__main__.py`, `${relative}.py`]) {
      const file = path.join(contextDir, dir, candidate);
      if (await isFile(file)) return file;
    }
    let entries: import("node:fs").Dirent[] = [];
    try {
      entries = await readdir(path.join(contextDir, dir), { withFileTypes: true });
    } catch {}
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "models" && e.name !== "node_modules")
        queue.push(path.join(dir, e.name));
    }
  }
  return undefined;
}

async function startsServer(file: string): Promise<boolean> {
  const text = await readFile(file, "utf8");
  if (SERVER_MARKERS.test(text)) return true;
  // A package's __main__ usually delegates: look at its siblings too.
  if (path.basename(file) === "__main__.py") {
    for (const sibling of await readdir(path.dirname(file))) {
      if (
        sibling.endsWith(".py") &&
        SERVER_MARKERS.test(await readFile(path.join(path.dirname(file), sibling), "utf8"))
      )
        return true;
    }
  }
  return false;
}

const SERVE_FIX =
  'Use an exec-form ENTRYPOINT that starts the HTTP server and accepts `serve`, e.g. ENTRYPOINT ["python3", "-m", "gen3d_serving"] ' +
  "(SageMaker starts the container as `docker run IMAGE serve`; it must answer GET /ping and POST /invocations on 8080).";

/** ENTRYPOINT/CMD: will `docker run IMAGE serve` start the server? (seed issue #7, the root cause) */
async function entrypointGate(
  input: DockerfileInput,
  stage: Instruction[],
  mappings: CopyMapping[],
): Promise<GateResult> {
  const id = "dockerfile.entrypoint";
  const title = "`docker run IMAGE serve` starts the server";
  const location = (line: number) => ({ location: { file: input.displayFile, line } });
  const entrypoint = stage.filter((i) => i.getKeyword() === "ENTRYPOINT").at(-1);
  const cmd = stage.filter((i) => i.getKeyword() === "CMD").at(-1);
  let workdir = "/";
  for (const i of stage)
    if (i.getKeyword() === "WORKDIR") workdir = path.posix.resolve(workdir, i.getArgumentsContent() ?? "/");

  if (!entrypoint) {
    const servesOnPath = mappings.some((m) => path.posix.basename(m.destination) === "serve");
    if (servesOnPath)
      return gate(id, title, "pass", "no ENTRYPOINT; a `serve` executable is copied into the image");
    return gate(
      id,
      title,
      "fail",
      `no ENTRYPOINT: \`docker run IMAGE serve\` replaces CMD${cmd ? ` (line ${lineOf(cmd)})` : ""} and runs a program named \`serve\`, which this image does not provide`,
      { hint: SERVE_FIX, ...location(cmd ? lineOf(cmd) : 1) },
    );
  }
  const line = lineOf(entrypoint);
  if (!isExecForm(entrypoint)) {
    return gate(
      id,
      title,
      "fail",
      `ENTRYPOINT ${entrypoint.getArgumentsContent()} is in shell form: it ignores the \`serve\` argument and runs under /bin/sh, which does not forward SIGTERM`,
      { hint: SERVE_FIX, ...location(line) },
    );
  }
  const argv = execArgv(entrypoint);
  if (!argv || argv.length === 0) {
    return gate(id, title, "fail", "ENTRYPOINT is not a valid JSON array of strings", {
      hint: SERVE_FIX,
      ...location(line),
    });
  }
  const evidence = { entrypoint: argv, effectiveCommand: [...argv, "serve"] };
  const program = path.posix.basename(argv[0] as string);
  const shown = JSON.stringify(argv);

  if (KNOWN_SERVERS.has(program))
    return gate(id, title, "pass", `ENTRYPOINT ${shown} runs ${program}`, { evidence });

  let sourceFile: string | undefined;
  let described: string;
  if (PYTHON.test(program)) {
    if (argv[1] === "-m" && argv[2]) {
      described = `module ${argv[2]}`;
      sourceFile = await findModule(input.contextDir, argv[2]);
    } else if (argv[1] && !argv[1].startsWith("-")) {
      described = argv[1];
      sourceFile = await contextFileFor(argv[1], mappings, input.contextDir, workdir);
    } else {
      return gate(id, title, "fail", `ENTRYPOINT ${shown} starts a bare Python interpreter`, {
        hint: SERVE_FIX,
        ...location(line),
        evidence,
      });
    }
  } else if (program === "sh" || program === "bash") {
    return gate(
      id,
      title,
      "warn",
      `ENTRYPOINT ${shown} goes through a shell; make sure it execs the server and passes "$@"`,
      {
        hint: SERVE_FIX,
        ...location(line),
        evidence,
      },
    );
  } else {
    described = argv[0] as string;
    sourceFile = await contextFileFor(argv[0] as string, mappings, input.contextDir, workdir);
  }

  if (!sourceFile) {
    return gate(
      id,
      title,
      "warn",
      `ENTRYPOINT ${shown}: ${described} is not in the build context, so it cannot be checked here; phase 3 runs it for real`,
      { ...location(line), evidence },
    );
  }
  const relative = path.relative(input.contextDir, sourceFile);
  if (await startsServer(sourceFile)) {
    return gate(id, title, "pass", `ENTRYPOINT ${shown} runs ${relative}, which starts an HTTP server`, {
      evidence: { ...evidence, source: relative },
    });
  }
  return gate(
    id,
    title,
    "fail",
    `ENTRYPOINT ${shown} runs ${relative}, which starts no HTTP server: \`docker run IMAGE serve\` would exit or hang and the endpoint never leaves Creating`,
    { hint: SERVE_FIX, ...location(line), evidence: { ...evidence, source: relative } },
  );
}

const APT = /\b(apt-get|apt|aptitude)\s+(-\S+\s+)*(install|upgrade|dist-upgrade)\b|\bdpkg-reconfigure\b/;

/** DEBIAN_FRONTEND=noninteractive before the first apt-get install (seed issue #8: tzdata hangs the build). */
function noninteractiveGate(input: DockerfileInput, stages: Instruction[][]): GateResult {
  const id = "dockerfile.noninteractive";
  const title = "DEBIAN_FRONTEND=noninteractive before apt-get";
  for (const stage of stages) {
    let set = false;
    for (const instruction of stage) {
      const keyword = instruction.getKeyword();
      const content = instruction.getArgumentsContent() ?? "";
      if (
        (keyword === "ENV" || keyword === "ARG") &&
        /\bDEBIAN_FRONTEND[= ]\s*"?noninteractive"?/.test(content)
      )
        set = true;
      if (keyword === "RUN" && APT.test(content)) {
        if (set || /DEBIAN_FRONTEND=noninteractive\s+(apt|dpkg)/.test(content)) continue;
        const line = lineOf(instruction);
        return gate(
          id,
          title,
          "fail",
          `apt-get runs at line ${line} before DEBIAN_FRONTEND=noninteractive is set: tzdata's prompt hangs the build`,
          {
            hint: `Add \`ENV DEBIAN_FRONTEND=noninteractive\` and \`ENV TZ=Etc/UTC\` (or ARG DEBIAN_FRONTEND=noninteractive) before line ${line}.`,
            location: { file: input.displayFile, line },
          },
        );
      }
    }
  }
  return gate(id, title, "pass", "every apt-get runs non-interactively (or there is none)");
}

/** Base images pinned: a tag other than latest, or a digest (seed: reproducible builds). */
function baseImageGate(input: DockerfileInput, instructions: Instruction[]): GateResult {
  const id = "dockerfile.base-pinned";
  const title = "base image pinned";
  const args = globalArgs(instructions, input.buildArgs);
  const stageNames = new Set<string>();
  const images: { image: string; line: number }[] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() !== "FROM") continue;
    const parts = (instruction.getArgumentsContent() ?? "").split(/\s+/).filter((p) => !p.startsWith("--"));
    const image = expand(parts[0] ?? "", args);
    const line = lineOf(instruction);
    if (parts[1]?.toLowerCase() === "as" && parts[2]) stageNames.add(parts[2]);
    if (stageNames.has(image) && parts[0] !== parts[2]) continue;
    if (image === "scratch") continue;
    if (!image) {
      return gate(id, title, "fail", `FROM at line ${line} names no image (an ARG without a default?)`, {
        hint: "Give the ARG a pinned default, e.g. ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime.",
        location: { file: input.displayFile, line },
      });
    }
    images.push({ image, line });
    const digest = image.includes("@sha256:");
    const lastSegment = image.split("/").at(-1) ?? image;
    const tag = digest ? undefined : lastSegment.includes(":") ? lastSegment.split(":").at(-1) : undefined;
    if (!digest && (tag === undefined || tag === "latest")) {
      return gate(
        id,
        title,
        "fail",
        `FROM ${image} (line ${line}) ${tag ? "uses the `latest` tag" : "has no tag, which means `latest`"}: the build changes under you`,
        {
          hint: "Pin a version tag (e.g. pytorch/pytorch:2.5.1-cuda12.1-cudnn9-runtime) or a digest (@sha256:…).",
          location: { file: input.displayFile, line },
        },
      );
    }
  }
  return gate(id, title, "pass", images.map((i) => i.image).join(", ") || "no base image", {
    evidence: images,
  });
}

/** Every COPY/ADD source exists in the build context and is not excluded by .dockerignore (seed #2, #22). */
async function copySourcesGate(input: DockerfileInput, mappings: CopyMapping[]): Promise<GateResult> {
  const id = "dockerfile.copy-sources";
  const title = "every COPY/ADD source exists in the build context";
  const ignored = await dockerignore(input.contextDir);
  const problems: { source: string; line: number; why: string }[] = [];
  for (const mapping of mappings) {
    if (mapping.fromStage) continue;
    for (const source of mapping.sources) {
      if (mapping.keyword === "ADD" && /^(https?|git):\/\//.test(source)) continue;
      const matches = await matchSource(input.contextDir, source);
      if (matches.length === 0) problems.push({ source, line: mapping.line, why: "does not exist" });
      else if (matches.every((m) => m !== "." && ignored(m)))
        problems.push({ source, line: mapping.line, why: "is excluded by .dockerignore" });
    }
  }
  const first = problems[0];
  if (first) {
    const context = path.relative(process.cwd(), input.contextDir) || ".";
    return gate(
      id,
      title,
      "fail",
      problems.map((p) => `${p.source} (line ${p.line}) ${p.why} in build context ${context}/`).join("; "),
      {
        hint: /model/i.test(first.source)
          ? `Put the model weights at ${context}/${first.source} before building (README: Models), or fix the COPY path.`
          : `Create ${context}/${first.source}, fix the COPY path, or remove it from .dockerignore.`,
        location: { file: input.displayFile, line: first.line },
        evidence: problems,
      },
    );
  }
  return gate(
    id,
    title,
    "pass",
    `${mappings.reduce((n, m) => n + m.sources.length, 0)} COPY/ADD source(s) found`,
  );
}

/** The Dockerfile gates of phase 1, each one concern. */
export async function dockerfileGates(
  input: DockerfileInput,
  text: string | undefined,
): Promise<GateResult[]> {
  if (text === undefined) {
    return [
      gate("dockerfile.exists", "Dockerfile exists", "fail", `${input.displayFile} not found`, {
        hint: "Set image.contextDir and image.dockerfile in gen3d.config.json to your Dockerfile.",
      }),
    ];
  }
  const instructions = parseDockerfile(text);
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === "FROM") stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  const finalStage = stages.at(-1) ?? [];
  const mappings = copies(finalStage);
  return [
    await entrypointGate(input, finalStage, mappings),
    noninteractiveGate(input, stages),
    await copySourcesGate(input, copies(instructions)),
    baseImageGate(input, instructions),
  ];
}

/** The image the final stage builds FROM, with ARGs expanded and stage aliases followed. */
export function finalBaseImage(
  instructions: Instruction[],
  buildArgs: Record<string, string>,
): string | undefined {
  const args = globalArgs(instructions, buildArgs);
  const stages = new Map<string, string>();
  let last: string | undefined;
  for (const instruction of instructions) {
    if (instruction.getKeyword() !== "FROM") continue;
    const parts = (instruction.getArgumentsContent() ?? "").split(/\s+/).filter((p) => !p.startsWith("--"));
    const named = expand(parts[0] ?? "", args);
    const image = stages.get(named) ?? named;
    if (parts[1]?.toLowerCase() === "as" && parts[2]) stages.set(parts[2], image);
    last = image;
  }
  return last || undefined;
}

export function parseDockerfile(text: string): Instruction[] {
  return DockerfileParser.parse(text).getInstructions();
}

export async function readDockerfile(input: DockerfileInput): Promise<string | undefined> {
  try {
    return await readFile(input.file, "utf8");
  } catch {
    return undefined;
  }
}

export { copies as copyInstructions };
