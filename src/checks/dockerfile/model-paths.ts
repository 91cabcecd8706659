import { stat } from "node:fs/promises";
import path from "node:path";
import type { Instruction } from "dockerfile-ast";
import { listTree } from "../../engine/fingerprint.js";
import { type GateResult, gate } from "../../engine/gate.js";
import { formatBytes } from "../format.js";
import { runContexts } from "./env.js";
import { loadIgnoreRules } from "./ignore.js";
import { cleanSource, copies, type DockerfileInput, imagePath, stagesOf, workdirAt } from "./parse.js";
import { runCommands } from "./shell.js";
import { matchSource } from "./sources.js";

/** Where SageMaker mounts model data (ModelDataUrl / ModelDataSource), read-only, over the image. */
export const SAGEMAKER_MODEL_DIR = "/opt/ml/model";

const under = (p: string | undefined) =>
  p !== undefined && (p === SAGEMAKER_MODEL_DIR || p.startsWith(`${SAGEMAKER_MODEL_DIR}/`));

/** Programs that only read what they are given: naming /opt/ml/model to them writes nothing. */
const READS_ONLY = new Set([
  "ls",
  "cat",
  "test",
  "[",
  "[[",
  "stat",
  "du",
  "echo",
  "printf",
  "find",
  "head",
  "tail",
  "file",
  "sha256sum",
  "md5sum",
  "grep",
  "wc",
  "readlink",
  "realpath",
]);

interface Baked {
  line: number;
  what: string;
  /** Bytes the build context would put there; undefined when not knowable here. */
  bytes?: number;
}

/** Bytes of the context files a COPY source takes, after .dockerignore. */
async function sourceBytes(
  contextDir: string,
  source: string,
  ignored: (p: string) => boolean,
): Promise<number> {
  let total = 0;
  for (const match of await matchSource(contextDir, source)) {
    const absolute = path.join(contextDir, match);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) continue;
    if (info.isFile()) total += ignored(match) ? 0 : info.size;
    else if (info.isDirectory()) {
      const prefix = match === "." ? "" : `${match}/`;
      for (const f of await listTree(absolute)) if (!ignored(`${prefix}${f.path}`)) total += f.size;
    }
  }
  return total;
}

/** What the final stage puts under /opt/ml/model: COPY/ADD destinations and RUN lines that write there. */
export async function bakedUnderModelDir(
  input: DockerfileInput,
  instructions: Instruction[],
): Promise<Baked[]> {
  const stages = stagesOf(instructions);
  const final = stages.at(-1) ?? [];
  const rules = await loadIgnoreRules(input.contextDir);
  const baked: Baked[] = [];
  for (const [index, instruction] of final.entries()) {
    const [mapping] = copies([instruction]);
    if (!mapping) continue;
    const destination = imagePath(mapping.destination, workdirAt(final, index));
    if (!under(destination)) continue;
    const what = `${mapping.keyword} ${mapping.sources.join(" ")} ${mapping.destination}`;
    if (mapping.fromStage || mapping.sources.some((source) => /^(https?|git):\/\//.test(source))) {
      baked.push({ line: mapping.line, what });
      continue;
    }
    let bytes = 0;
    for (const source of mapping.sources)
      bytes += await sourceBytes(input.contextDir, cleanSource(source), (p) => rules.ignores(p));
    baked.push({ line: mapping.line, what, bytes });
  }
  const finalStage = stages.length - 1;
  for (const run of runContexts(instructions, input.buildArgs)) {
    if (run.stage !== finalStage) continue;
    const script = await runCommands(run.instruction, run.vars);
    if ("error" in script) continue;
    const workdir = workdirAt(final, final.indexOf(run.instruction));
    for (const command of script.commands) {
      const program = command.args[0]?.split("/").at(-1);
      const paths = [
        ...(program && !READS_ONLY.has(program) ? command.args.slice(1) : []),
        ...command.writes,
      ].map((p) => (p?.startsWith("/") || p?.startsWith(".") ? imagePath(p, workdir) : p));
      if (paths.some(under) || (under(workdir) && command.writes.length > 0))
        baked.push({
          line: command.line,
          what: `RUN ${command.args.filter(Boolean).join(" ").slice(0, 80)}`,
        });
    }
  }
  return baked.sort((a, b) => a.line - b.line);
}

const HIDDEN = "SageMaker mounts model data at /opt/ml/model read-only, over whatever the image holds there";
const MOVE =
  'Put weights under another path (e.g. COPY models/sam3/ /opt/gen3d/models/sam3/, the reference Dockerfile\'s layout, and models[].containerPath to match), or ship them as S3 model data (models[].packaging: "s3").';

/** Nothing is baked under /opt/ml/model (where SageMaker mounts model data over it): it would be hidden, its bytes dead weight. */
export async function modelDirGate(input: DockerfileInput, instructions: Instruction[]): Promise<GateResult> {
  const id = "dockerfile.model-dir";
  const title = "nothing baked under /opt/ml/model";
  const baked = await bakedUnderModelDir(input, instructions);
  const first = baked[0];
  if (!first) return gate(id, title, "pass", "no COPY, ADD or RUN writes under /opt/ml/model");
  const known = baked.reduce((sum, b) => sum + (b.bytes ?? 0), 0);
  const size = known > 0 ? `${formatBytes(known)} of the build context` : "files";
  return gate(
    id,
    title,
    "fail",
    `${baked.map((b) => `line ${b.line}: ${b.what}${b.bytes !== undefined ? ` (${formatBytes(b.bytes)})` : ""}`).join("; ")} — ${size} baked under /opt/ml/model: ${HIDDEN}, so they are dead weight in the image`,
    {
      hint: MOVE,
      location: { file: input.displayFile, line: first.line },
      evidence: { baked, bytes: known },
    },
  );
}

/** Phase 2's reading of the built image: what `find /opt/ml/model -type f` lists there. */
export function modelDirInImageGate(
  listing: { size: number; path: string }[] | { error: string },
): GateResult {
  const id = "image.model-dir";
  const title = "nothing baked under /opt/ml/model in the image";
  if ("error" in listing)
    return gate(id, title, "not-checked", `could not list /opt/ml/model in the image: ${listing.error}`);
  if (listing.length === 0) return gate(id, title, "pass", "/opt/ml/model holds no file in the image");
  const bytes = listing.reduce((s, f) => s + f.size, 0);
  return gate(
    id,
    title,
    "fail",
    `the image holds ${listing.length} file(s), ${formatBytes(bytes)}, under /opt/ml/model (${listing
      .slice(0, 3)
      .map((f) => f.path)
      .join(", ")}${listing.length > 3 ? ", …" : ""}): ${HIDDEN}, so they are dead weight`,
    { hint: MOVE, evidence: { files: listing.length, bytes } },
  );
}
