import { instanceFamily, typicalDeployMinutes, typicalDeployRange } from "../catalog/deploy-time.js";
import type { Gen3dConfig } from "./schema.js";

/** Legal but unwise: the config loads, and the command goes on, but this will likely hurt later. */
export interface ConfigWarning {
  /** The config key, as `path.to.key`. */
  path: string;
  message: string;
  /** What to change, when there is a clear fix. */
  hint?: string;
}

/**
 * Phase 7 gives up after timeouts.deploySeconds. Below the typical creation time for the instance
 * family it will likely give up on an endpoint that was about to come up (and still bills); below
 * the startup health check SageMaker was told to allow, it gives up before SageMaker would. A
 * local emulator (aws.endpoint) creates endpoints in seconds: the typical range does not apply.
 */
function deployTimeWarnings(config: Gen3dConfig): ConfigWarning[] {
  const limit = config.timeouts.deploySeconds;
  const path = "timeouts.deploySeconds";
  if (config.aws.endpoint) return [];
  const { minSeconds, maxSeconds } = typicalDeployRange(config);
  if (limit < minSeconds) {
    return [
      {
        path,
        message: `${limit} s is below the typical endpoint creation time: deploy will likely time out (typical creation of ml.${instanceFamily(config.instance.type)} takes ${typicalDeployMinutes(config)})`,
        hint: `Raise timeouts.deploySeconds to at least ${Math.ceil(maxSeconds / 60) * 60}, or leave it out (default 3600).`,
      },
    ];
  }
  const healthCheck = config.timeouts.containerStartupHealthCheckSeconds;
  if (healthCheck !== undefined && limit < healthCheck) {
    return [
      {
        path,
        message: `${limit} s is shorter than timeouts.containerStartupHealthCheckSeconds (${healthCheck} s): deploy would give up while SageMaker still waits for the container`,
        hint: `Raise timeouts.deploySeconds above ${healthCheck}, or lower timeouts.containerStartupHealthCheckSeconds.`,
      },
    ];
  }
  return [];
}

/** Phase 4 pushes to aws.registry when AWS calls go to an emulator: without one it stops there. */
function registryWarnings(config: Gen3dConfig): ConfigWarning[] {
  if (!config.aws.endpoint || config.aws.registry) return [];
  return [
    {
      path: "aws.registry",
      message:
        "not set, but aws.endpoint is: phase 4 (push) will stop, because the emulator has no Docker registry standing in for ECR",
      hint: 'Set aws.registry to the local registry, e.g. "127.0.0.1:5000" (scripts/local-stack/up.sh starts one).',
    },
  ];
}

/** Every warning for a config that passed the schema and the cross-field rules. */
export function configWarnings(config: Gen3dConfig): ConfigWarning[] {
  return [...deployTimeWarnings(config), ...registryWarnings(config)];
}
