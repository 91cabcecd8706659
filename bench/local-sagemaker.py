#!/usr/bin/env python3
"""The local SageMaker's cost per async request, and a cold start from zero, measured.

  python3 bench/local-sagemaker.py [--requests 120] [--json]

Needs the local stack (scripts/local-stack/up.sh). Builds the gen3d container with its test
backend, starts its own local SageMaker (data plane on) and an endpoint with one instance, then:

1. Emulator overhead: N segment requests one after another; for each, the emulator's own stamps
   give enqueue → output in S3 minus the container's /invocations time. p50/p99 (goal: p99 ≤ 50 ms).
2. End to end vs direct: the same segment request through InvokeEndpointAsync (client submit →
   output object visible, polled every 5 ms) and as a direct POST /invocations to the instance;
   medians and their ratio, measured in the same run.
3. Cold start: the scaling policies gen3d writes (target tracking + ExactCapacity step on
   HasBacklogWithoutCapacity), time scale 60; the endpoint scales in to 0; one job; the breakdown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local-sagemaker" / "tests"))

from conftest import BUCKET, build_backend_image, deploy, png_bytes, put_input, start_emulator, stop_emulator, wait_until  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def segment_payload(i: int) -> dict:
    return {"task": "segment", "image_s3_key": "inputs/photo.png", "bucket": BUCKET, "prompt_type": "point", "point": [5 + i % 30, 9], "session_id": f"b{i}"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-lsm-"))
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    log("building the test-backend image …")
    image = build_backend_image(work)
    results: dict = {"requests": args.requests}

    # ---- 1 + 2: real time, one instance, warm
    emu = start_emulator(1.0, work)
    try:
        emu.client("s3").create_bucket(Bucket=BUCKET)
        emu.client("s3").put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
        deploy(emu, image, "bench", max_concurrency=1)
        runtime, s3 = emu.client("sagemaker-runtime"), emu.client("s3")
        port = emu.endpoint_view("bench")["instances"][0]["port"]
        # warm-up: the embedding cache and the Python paths
        for i in range(3):
            loc = put_input(emu, f"req/warm{i}.json", segment_payload(i))
            answer = runtime.invoke_endpoint_async(EndpointName="bench", InputLocation=loc, ContentType="application/json", InferenceId=f"warm-{i}")
            wait_until(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/warm-{i}.out").get("KeyCount"), 60, "warm-up", interval=0.005)
        end_to_end, direct = [], []
        for i in range(args.requests):
            payload = segment_payload(i)
            loc = put_input(emu, f"req/{i}.json", payload)
            key = f"out/job-{i}.out"
            start = time.perf_counter()
            runtime.invoke_endpoint_async(EndpointName="bench", InputLocation=loc, ContentType="application/json", InferenceId=f"job-{i}")
            wait_until(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"), 60, key, interval=0.005)
            end_to_end.append((time.perf_counter() - start) * 1000)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
            direct.append((time.perf_counter() - start) * 1000)
        timings = [t for t in emu.api("endpoints/bench")["timings"] if t["inferenceId"].startswith("job-")]
        overhead = [t["overheadMs"] for t in timings]
        results["overheadMs"] = {"n": len(overhead), "p50": round(percentile(overhead, 50), 2), "p99": round(percentile(overhead, 99), 2), "max": round(max(overhead), 2)}
        results["containerMs"] = {"p50": round(percentile([t["containerMs"] for t in timings], 50), 2)}
        e2e, dm = statistics.median(end_to_end), statistics.median(direct)
        results["segment"] = {
            "asyncEndToEndMs": {"p50": round(e2e, 1), "p99": round(percentile(end_to_end, 99), 1)},
            "directInvocationsMs": {"p50": round(dm, 1), "p99": round(percentile(direct, 99), 1)},
            "ratioP50": round(e2e / dm, 2),
        }
    finally:
        stop_emulator(emu)

    # ---- 3: cold start, time-scaled
    scale = 60
    emu = start_emulator(float(scale), work)
    try:
        emu.client("s3").create_bucket(Bucket=BUCKET)
        emu.client("s3").put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
        deploy(emu, image, "cold")
        aas, cw = emu.client("application-autoscaling"), emu.client("cloudwatch")
        rid, dim = "endpoint/cold/variant/AllTraffic", "sagemaker:variant:DesiredInstanceCount"
        aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, MinCapacity=0, MaxCapacity=2)
        aas.put_scaling_policy(PolicyName="tt", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={"TargetValue": 2.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 300,
                                                                         "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker", "Dimensions": [{"Name": "EndpointName", "Value": "cold"}], "Statistic": "Average"}})
        arn = aas.put_scaling_policy(PolicyName="step", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dim, PolicyType="StepScaling",
                                     StepScalingPolicyConfiguration={"AdjustmentType": "ExactCapacity", "Cooldown": 300, "MetricAggregationType": "Average", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})["PolicyARN"]
        cw.put_metric_alarm(AlarmName="cold-hbwc", Namespace="AWS/SageMaker", MetricName="HasBacklogWithoutCapacity", Dimensions=[{"Name": "EndpointName", "Value": "cold"}],
                            Statistic="Average", Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[arn])
        log("waiting for the scale-in to zero (15 AWS minutes = 15 s) …")
        wait_until(lambda: emu.endpoint_view("cold")["currentInstanceCount"] == 0 and not emu.containers(), 120, "scale to zero")
        loc = put_input(emu, "req/cold.json", segment_payload(0))
        emu.client("sagemaker-runtime").invoke_endpoint_async(EndpointName="cold", InputLocation=loc, ContentType="application/json", InferenceId="cold-1")
        cold = wait_until(lambda: emu.endpoint_view("cold")["coldStarts"], 120, "the cold start")[0]
        results["coldStart"] = cold
    finally:
        stop_emulator(emu)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    o, s, c = results["overheadMs"], results["segment"], results["coldStart"]
    print(f"\nemulator overhead per async request (n={o['n']}): p50 {o['p50']} ms, p99 {o['p99']} ms, max {o['max']} ms  (goal p99 ≤ 50 ms: {'met' if o['p99'] <= 50 else 'NOT met'})")
    print(f"segment, median: through the async endpoint {s['asyncEndToEndMs']['p50']} ms vs direct /invocations {s['directInvocationsMs']['p50']} ms → ratio {s['ratioP50']}")
    steps = c["secondsFromRequest"]
    print(f"cold start at time scale {c['timeScale']:g}: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()) + f"; AWS-equivalent {c.get('awsEquivalentSeconds')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
