import { NotImplementedError } from "../engine/errors.js";
import { gate, type Phase } from "./phase.js";

/** A phase that a later issue builds: it exists in the plan, fails loudly and never passes. */
export function notImplementedPhase(id: number, name: string, title: string): Phase {
  return {
    id,
    name,
    title,
    async inputs() {
      return { notImplemented: name };
    },
    async run() {
      throw new NotImplementedError(`phase ${id} (${name})`);
    },
    async verify() {
      return [
        gate(`${name}.implemented`, "implemented", "fail", `phase ${id} (${name}) is not implemented yet`),
      ];
    },
  };
}
