import path from "node:path";
import { createAccount } from "../adapters/account.js";
import { cudaFromDockerfile, gpuDriverGate } from "../catalog/gpu-driver.js";
import { awsGates } from "../checks/aws-account.js";
import { costGate } from "../checks/cost.js";
import { dockerDaemonGate } from "../checks/docker-daemon.js";
import { dockerfileGates, finalBaseImage, parseDockerfile, readDockerfile } from "../checks/dockerfile.js";
import { instanceFitGate } from "../checks/instance-fit.js";
import { modelGates, modelsInImageGate } from "../checks/models.js";
import { requirementsGate } from "../checks/requirements.js";
import { hashValue, listTree } from "../engine/fingerprint.js";
import { buildTarget, dockerfileInput } from "./build-context.js";
import { type GateResult, gate, type Phase } from "./phase.js";

/** Phase 1: everything that can be checked before anything is built or paid for. */
export const preflightPhase: Phase = {
  id: 1,
  name: "preflight",
  title: "Preflight checks",

  async inputs(ctx) {
    const dockerfile = dockerfileInput(ctx);
    const models = await Promise.all(
      ctx.config.models.map(async (m) => {
        const dir = path.resolve(ctx.loaded.baseDir, m.localPath);
        const files = await listTree(dir).catch(() => []);
        return { name: m.name, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) };
      }),
    );
    // The whole build context: a changed requirements file, .dockerignore or entry script must
    // re-run the gates that read them.
    const context = await buildTarget(ctx).then(
      (t) => t.contextHash,
      () => "missing",
    );
    return {
      config: ctx.config,
      dockerfile: hashValue((await readDockerfile(dockerfile)) ?? null),
      models,
      context,
    };
  },

  async run() {
    // Preflight only looks; its gates are the whole phase.
    return { outcome: "checked" };
  },

  async verify(ctx) {
    const { config, loaded } = ctx;
    const results: GateResult[] = [
      gate(
        "config.valid",
        "config valid",
        "pass",
        `${path.basename(loaded.file)} matches the schema and cross-field rules`,
        {
          evidence: { file: loaded.file, hash: hashValue(loaded.raw) },
        },
      ),
    ];
    const dockerfile = dockerfileInput(ctx);
    const text = await readDockerfile(dockerfile);
    ctx.progress("Dockerfile");
    results.push(...(await dockerfileGates(dockerfile, text)));
    ctx.progress("models");
    results.push(...(await modelGates(config, loaded.baseDir)));
    const instructions = text !== undefined ? parseDockerfile(text) : undefined;
    if (instructions) {
      results.push(await requirementsGate(dockerfile, instructions));
      results.push(await modelsInImageGate(config, loaded.baseDir, dockerfile, instructions));
    }
    results.push(instanceFitGate(config));
    if (instructions) {
      // Before anything is built, the CUDA the Dockerfile declares or its base image's tag names.
      const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf("FROM");
      const finalStage = instructions.slice(lastFrom + 1).map((i) => ({
        keyword: i.getKeyword(),
        content: i.getArgumentsContent() ?? "",
        line: i.getRange().start.line + 1,
      }));
      const cuda = cudaFromDockerfile(finalStage, finalBaseImage(instructions, dockerfile.buildArgs));
      results.push(gpuDriverGate(config.instance.type, cuda));
    }
    ctx.progress("docker daemon");
    results.push(await dockerDaemonGate(ctx.docker, process.platform, ctx.signal));
    ctx.progress("AWS");
    results.push(...(await awsGates(config, createAccount(ctx))));
    results.push(costGate(config));
    return results;
  },
};
