import { preflightPhase } from "./01-preflight.js";
import { buildPhase } from "./02-build.js";
import { localTestPhase } from "./03-local-test.js";
import { pushPhase } from "./04-push.js";
import { modelPhase } from "./05-model.js";
import { endpointConfigPhase } from "./06-endpoint-config.js";
import { deployPhase } from "./07-deploy.js";
import { autoscalingPhase } from "./08-autoscaling.js";
import { integrationPhase } from "./09-integration.js";
import { scaleToZeroPhase } from "./10-scale-to-zero.js";
import type { Phase } from "./phase.js";

/** Phases 1–10 in order. Each is a plain object; the engine compiles them to listr2 tasks. */
export function allPhases(): Phase[] {
  return [
    preflightPhase,
    buildPhase,
    localTestPhase,
    pushPhase,
    modelPhase,
    endpointConfigPhase,
    deployPhase,
    autoscalingPhase,
    integrationPhase,
    scaleToZeroPhase,
  ];
}
