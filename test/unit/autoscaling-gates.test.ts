import { describe, expect, it } from "vitest";
import { autoscalingGates, type ScalingReality } from "../../src/checks/autoscaling.js";
import { parseConfig } from "../../src/config/load.js";
import { desiredScaling } from "../../src/spec/autoscaling.js";
import { validConfig } from "../support/project.js";

const desired = desiredScaling(parseConfig(validConfig(), "x"), "gen3d-test-async");
const target = { ...desired.target, ScalableDimension: "sagemaker:variant:DesiredInstanceCount" };
const STEP_ARN = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:policyName/step";

/** What Describe* answers after phase 8 put everything as desired. */
function asPut(): ScalingReality {
  const policy = (p: typeof desired.stepScaling, arn: string) => ({
    ...p,
    PolicyARN: arn,
    PolicyType: p.PolicyType ?? "",
    ResourceId: target.ResourceId,
  });
  return {
    target,
    targetTracking: policy(desired.targetTracking, "arn:tt"),
    stepScaling: policy(desired.stepScaling, STEP_ARN),
    alarm: { ...desired.alarm, AlarmActions: [STEP_ARN] },
  };
}

describe("autoscaling gates over recorded reality", () => {
  it("pass when target, both policies and the alarm are as desired", () => {
    const gates = autoscalingGates(desired, asPut());
    expect(gates.map((g) => `${g.id} ${g.status}`)).toEqual([
      "autoscaling.target pass",
      "autoscaling.target-tracking pass",
      "autoscaling.scale-from-zero pass",
      "autoscaling.alarm pass",
    ]);
    expect(gates[0]?.message).toBe("min 0, max 2");
  });

  it("a missing step policy fails saying the endpoint never leaves zero; the alarm then fires nothing", () => {
    const gates = autoscalingGates(desired, { ...asPut(), stepScaling: undefined });
    expect(gates[2]).toMatchObject({
      status: "fail",
      message: "policy gen3d-test-scale-out-from-zero: missing",
      hint: expect.stringContaining("never leaves zero instances"),
    });
    expect(gates[3]).toMatchObject({ status: "fail", hint: "Run `gen3d deploy --from 8`." });
  });

  it("a target whose max differs fails naming the field", () => {
    const gates = autoscalingGates(desired, { ...asPut(), target: { ...target, MaxCapacity: 5 } });
    expect(gates[0]?.status).toBe("fail");
    expect(gates[0]?.message).toContain("MaxCapacity");
  });
});
