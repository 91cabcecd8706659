"""The policies phase 8 writes, run for real (time-scaled): 0 → 1 → 0 with the step policy, and
the seed's failure — target tracking alone stays at zero with a backlog."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import BUCKET, Emulator, deploy, png_bytes, put_input, wait_result, wait_until

SCALE = 120  # one AWS minute = 0.5 s
RESOURCE = "endpoint/{}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _policies(emu: Emulator, name: str, *, step: bool, adjustment: str = "ExactCapacity") -> None:
    aas = emu.client("application-autoscaling")
    rid = RESOURCE.format(name)
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION, MinCapacity=0, MaxCapacity=2)
    aas.put_scaling_policy(
        PolicyName=f"{name}-backlog", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 2.0,
            "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
                                              "Dimensions": [{"Name": "EndpointName", "Value": name}], "Statistic": "Average"},
            "ScaleInCooldown": 300, "ScaleOutCooldown": 300,
        },
    )
    if not step:
        return
    arn = aas.put_scaling_policy(
        PolicyName=f"{name}-from-zero", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=DIMENSION, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": adjustment, "MetricAggregationType": "Average", "Cooldown": 300,
                                        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
    )["PolicyARN"]
    emu.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{name}-backlog-without-capacity", Namespace="AWS/SageMaker", MetricName="HasBacklogWithoutCapacity",
        Dimensions=[{"Name": "EndpointName", "Value": name}], Statistic="Average", Period=60, EvaluationPeriods=2, DatapointsToAlarm=2,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing", AlarmActions=[arn],
    )


def _count(emu: Emulator, name: str) -> int:
    return emu.client("sagemaker").describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"]


def _submit(emu: Emulator, name: str, ident: str) -> dict:
    emu.client("s3").put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
    location = put_input(emu, f"requests/{ident}.json", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": BUCKET})
    return emu.client("sagemaker-runtime").invoke_endpoint_async(EndpointName=name, InputLocation=location, ContentType="application/json", InferenceId=ident)


@pytest.mark.time_scale(SCALE)
def test_zero_to_one_to_zero_with_step_and_target_tracking(emulator: Emulator, backend_image: str) -> None:
    name = "ep-cycle"
    # Even with a model load longer than the cooldown, ExactCapacity 1 never adds a second instance.
    deploy(emulator, backend_image, name, environment={"GEN3D_TEST_LOAD_DELAY_MS": "4000"})
    _policies(emulator, name, step=True)

    # Idle: target tracking's scale-in (15 minutes below 90 % of the target) takes it to zero.
    wait_until(lambda: _count(emulator, name) == 0, 60, "scale-in to 0 after 15 idle AWS minutes")
    wait_until(lambda: not emulator.containers(), 60, "the instance container to stop")

    answer = _submit(emulator, name, "cold-1")
    kind, _ = wait_result(emulator, answer["OutputLocation"], answer["FailureLocation"], timeout=90)
    assert kind == "output"
    view = emulator.endpoint_view(name)
    [cold] = view["coldStarts"]
    steps = cold["secondsFromRequest"]
    assert cold["inferenceId"] == "cold-1" and cold["timeScale"] == SCALE
    assert 0 < steps["alarm"] <= steps["scaleOut"] <= steps["instanceStarted"] <= steps["firstPing"] <= steps["result"]
    # The alarm needs 2 datapoints of 1 minute: at least 1 AWS minute after the request.
    assert cold["awsEquivalentSeconds"]["alarm"] >= 60

    # Back to zero once idle again, and every change is a scaling activity.
    wait_until(lambda: _count(emulator, name) == 0 and not emulator.containers(), 90, "the second scale-in to 0")
    acts = emulator.client("application-autoscaling").describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=RESOURCE.format(name))["ScalingActivities"]
    descriptions = [a["Description"] for a in reversed(acts)]
    assert descriptions == ["Setting desired instance count to 0.", "Setting desired instance count to 1.", "Setting desired instance count to 0."]
    assert "backlog-without-capacity in state ALARM" in acts[1]["Cause"]
    assert all(a["StatusCode"] == "Successful" for a in acts)
    # The alarm's state is visible in CloudWatch.
    history = emulator.endpoint_view(name)["scaling"]["alarms"]
    assert f"{name}-backlog-without-capacity" in history


@pytest.mark.time_scale(SCALE)
def test_change_in_capacity_adds_a_second_instance_when_the_cold_start_outlasts_the_cooldown(emulator: Emulator, backend_image: str) -> None:
    """The hazard of a repeatable step: the alarm stays in ALARM while the first instance starts, so
    once the cooldown (300 s = 2.5 s here) ends the policy fires again."""
    name = "ep-storm"
    # A model load of 4 s: longer than the cooldown at this time scale.
    deploy(emulator, backend_image, name, environment={"GEN3D_TEST_LOAD_DELAY_MS": "4000"})
    _policies(emulator, name, step=True, adjustment="ChangeInCapacity")
    wait_until(lambda: _count(emulator, name) == 0 and not emulator.containers(), 60, "scale-in to 0")
    answer = _submit(emulator, name, "storm-1")
    kind, _ = wait_result(emulator, answer["OutputLocation"], answer["FailureLocation"], timeout=90)
    assert kind == "output"
    acts = emulator.client("application-autoscaling").describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=RESOURCE.format(name))["ScalingActivities"]
    assert "Setting desired instance count to 2." in [a["Description"] for a in acts]


@pytest.mark.time_scale(SCALE)
def test_target_tracking_alone_stays_at_zero_with_a_backlog(emulator: Emulator, backend_image: str) -> None:
    name = "ep-seed"
    deploy(emulator, backend_image, name)
    _policies(emulator, name, step=False)
    wait_until(lambda: _count(emulator, name) == 0, 60, "scale-in to 0")

    answer = _submit(emulator, name, "stuck-1")
    time.sleep(20 * 60 / SCALE)  # 20 AWS minutes
    assert _count(emulator, name) == 0
    assert not emulator.containers()
    view = emulator.endpoint_view(name)
    assert view["backlog"] == 1 and view["counters"]["succeeded"] == 0
    assert emulator.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="out/").get("KeyCount", 0) == 0
    # What an operator would look at: HasBacklogWithoutCapacity = 1 in CloudWatch.
    stats = emulator.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName="HasBacklogWithoutCapacity", Dimensions=[{"Name": "EndpointName", "Value": name}],
        StartTime=datetime.now(timezone.utc) - timedelta(minutes=5), EndTime=datetime.now(timezone.utc) + timedelta(minutes=1), Period=60, Statistics=["Maximum"],
    )["Datapoints"]
    assert stats and max(p["Maximum"] for p in stats) == 1.0
    assert answer["OutputLocation"].endswith("stuck-1.out")
