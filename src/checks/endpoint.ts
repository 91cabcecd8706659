import type { DescribedEndpoint } from "../adapters/sagemaker.js";
import { type GateResult, gate } from "../engine/gate.js";
import { VARIANT_NAME } from "../spec/sagemaker.js";

/** Phase 7's gates: InService, on the config phase 6 made, with the async variant. */
export function endpointGates(
  name: string,
  configName: string,
  endpoint: DescribedEndpoint | undefined,
): GateResult[] {
  if (endpoint === undefined) {
    return [
      gate("endpoint.in-service", "endpoint InService", "fail", `SageMaker has no endpoint ${name}`, {
        hint: "Run phase 7: `gen3d deploy --from 7`.",
      }),
    ];
  }
  const gates: GateResult[] = [];
  gates.push(
    endpoint.EndpointStatus === "InService"
      ? gate("endpoint.in-service", "endpoint InService", "pass", endpoint.EndpointArn, {
          evidence: { status: endpoint.EndpointStatus, arn: endpoint.EndpointArn },
        })
      : gate(
          "endpoint.in-service",
          "endpoint InService",
          "fail",
          `endpoint ${name} is ${endpoint.EndpointStatus}`,
          {
            ...(endpoint.FailureReason ? { evidence: { failureReason: endpoint.FailureReason } } : {}),
            hint:
              endpoint.EndpointStatus === "Failed"
                ? "Run `gen3d resume`: phase 7 deletes the failed endpoint, redeploys, and explains a new failure."
                : "Wait for SageMaker to finish, or run `gen3d resume` to wait with gen3d.",
          },
        ),
  );
  gates.push(
    endpoint.EndpointConfigName === configName
      ? gate("endpoint.config", "endpoint runs the current config", "pass", configName)
      : gate(
          "endpoint.config",
          "endpoint runs the current config",
          "fail",
          `endpoint runs ${endpoint.EndpointConfigName ?? "nothing"}, phase 6 made ${configName}`,
          { hint: "Run `gen3d deploy --from 7` to update the endpoint." },
        ),
  );
  const variant = endpoint.ProductionVariants?.find((v) => v.VariantName === VARIANT_NAME);
  gates.push(
    variant
      ? gate(
          "endpoint.variant",
          `variant ${VARIANT_NAME}`,
          "pass",
          `${variant.CurrentInstanceCount ?? "?"} instance(s) now, ${variant.DesiredInstanceCount ?? "?"} desired`,
        )
      : gate(
          "endpoint.variant",
          `variant ${VARIANT_NAME}`,
          "fail",
          `endpoint has no variant ${VARIANT_NAME}`,
        ),
  );
  return gates;
}
