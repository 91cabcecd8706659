import type { Phase } from "../engine/phase.js";
import { preflightPhase } from "./01-preflight.js";
import { notImplementedPhase } from "./not-implemented.js";
import { phaseTitle } from "./titles.js";

const placeholder = (id: number) => {
  const { name, title } = phaseTitle(id);
  return notImplementedPhase(id, name, title);
};

/** Phases 1–10 in order. Each is a plain object; the engine compiles them to listr2 tasks. */
export function allPhases(): Phase[] {
  return [
    preflightPhase,
    placeholder(2),
    placeholder(3),
    placeholder(4),
    placeholder(5),
    placeholder(6),
    placeholder(7),
    placeholder(8),
    placeholder(9),
    placeholder(10),
  ];
}
