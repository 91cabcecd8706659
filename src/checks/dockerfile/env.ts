import { From, type Instruction } from "dockerfile-ast";
import { expand, globalArgs, properties, stagesOf } from "./parse.js";

export interface RunContext {
  instruction: Instruction;
  /** ENV and ARG values in effect for this RUN (what its shell's environment holds). */
  vars: Map<string, string>;
  stage: number;
}

/**
 * Every RUN line with the variables the builder puts in its environment: ENV and ARG of its
 * stage (build args override ARG defaults), ENV inherited from a parent stage (`FROM base AS x`).
 */
export function runContexts(instructions: Instruction[], buildArgs: Record<string, string>): RunContext[] {
  const global = globalArgs(instructions, buildArgs);
  const stageEnv = new Map<string, Map<string, string>>();
  const out: RunContext[] = [];
  stagesOf(instructions).forEach((stage, index) => {
    const from = stage[0] as From;
    const parent = stageEnv.get(expand(from.getImage() ?? "", global));
    const env = new Map(parent ?? []);
    const vars = new Map(env);
    for (const instruction of stage) {
      const keyword = instruction.getKeyword();
      if (keyword === "ENV") {
        for (const { name, value } of properties(instruction)) {
          const resolved = expand(value ?? "", vars);
          env.set(name, resolved);
          vars.set(name, resolved);
        }
      } else if (keyword === "ARG") {
        for (const { name, value } of properties(instruction)) {
          const resolved = buildArgs[name] ?? (value !== undefined ? expand(value, vars) : global.get(name));
          if (resolved !== undefined && !env.has(name)) vars.set(name, resolved);
        }
      } else if (keyword === "RUN") out.push({ instruction, vars: new Map(vars), stage: index });
    }
    const name = from.getBuildStage();
    if (name) stageEnv.set(name, env);
  });
  return out;
}

export { From };
