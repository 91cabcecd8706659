"""InvokeEndpointAsync for real: queued, at most MaxConcurrentInvocationsPerInstance in flight per
instance, outputs equal to a direct /invocations call, failures in the failure location, and no
request lost when an instance dies under it."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import urllib.request
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import BUCKET, Emulator, _docker, deploy, png_bytes, put_input, s3_object, wait_result, wait_until

VOLATILE = {"timing_ms", "cached", "cache_source", "embedding_cached"}


def _stable(body: bytes) -> dict:
    return {k: v for k, v in json.loads(body).items() if k not in VOLATILE}


def _invoke(emu: Emulator, name: str, input_location: str, **extra: object) -> dict:
    return emu.client("sagemaker-runtime").invoke_endpoint_async(EndpointName=name, InputLocation=input_location, ContentType="application/json", **extra)


def _direct(port: int, payload: dict) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def _invocation_windows(container: str) -> list[tuple[float, float]]:
    """(start, end) of every /invocations the container logged (its JSON log lines)."""
    windows = []
    logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
    for line in logs.stdout.splitlines() + logs.stderr.splitlines():
        if '"invocation"' not in line:
            continue
        try:
            record = json.loads(line[line.index("{"):])
        except ValueError:
            continue
        if record.get("msg") != "invocation" or "duration_ms" not in record:
            continue
        end = datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).timestamp()
        # Shrunk by 5 ms each side: the log's millisecond stamps must not invent an overlap.
        windows.append((end - record["duration_ms"] / 1000.0 + 0.005, end - 0.005))
    return windows


def _max_overlap(windows: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in windows] + [(e, -1) for _, e in windows])
    best = current = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


def test_twenty_requests_two_at_a_time_all_outputs_equal_direct_calls(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-conc", max_concurrency=2, environment={"GEN3D_TEST_DELAY_MS": "300"})
    s3 = emulator.client("s3")
    s3.put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
    jobs = []
    for i in range(20):
        payload = {"task": "segment", "image_s3_key": "inputs/photo.png", "bucket": BUCKET, "prompt_type": "point", "point": [10 + i, 12], "session_id": f"s{i}"}
        location = put_input(emulator, f"requests/{i}.json", payload)
        answer = _invoke(emulator, "ep-conc", location, InferenceId=f"job-{i}")
        assert answer["InferenceId"] == f"job-{i}"
        assert answer["OutputLocation"] == f"s3://{BUCKET}/out/job-{i}.out"
        jobs.append((payload, answer))
    results = [wait_result(emulator, a["OutputLocation"], a["FailureLocation"], timeout=180) for _, a in jobs]
    assert [kind for kind, _ in results] == ["output"] * 20, [b[:300] for k, b in results if k != "output"]

    view = emulator.endpoint_view("ep-conc")
    [instance] = view["instances"]
    assert view["counters"]["submitted"] == 20 and view["counters"]["succeeded"] == 20
    assert instance["maxInFlight"] == 2  # the slots were used, and never exceeded
    [container] = emulator.containers()
    windows = _invocation_windows(container)
    assert len(windows) == 20
    assert _max_overlap(windows) <= 2, "the container saw more than 2 invocations at once"

    # Each output is what a direct /invocations call answers for the same input.
    for (payload, _), (_, body) in zip(jobs[:5], results[:5]):
        assert _stable(body) == _stable(_direct(instance["port"], payload))


def test_a_missing_input_object_is_a_4xx_naming_it(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-missing")
    with pytest.raises(ClientError) as caught:
        _invoke(emulator, "ep-missing", f"s3://{BUCKET}/requests/nope.json")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "requests/nope.json" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown:
        _invoke(emulator, "no-such-endpoint", f"s3://{BUCKET}/requests/nope.json")
    assert "no-such-endpoint" in unknown.value.response["Error"]["Message"]


def test_a_request_the_container_refuses_lands_in_the_failure_location(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-fail")
    location = put_input(emulator, "requests/bad.json", {"task": "segment", "image_s3_key": "inputs/absent.png", "bucket": BUCKET, "prompt_type": "point", "point": [1, 1]})
    answer = _invoke(emulator, "ep-fail", location, InferenceId="bad-1")
    kind, body = wait_result(emulator, answer["OutputLocation"], answer["FailureLocation"])
    assert kind == "failure"
    assert answer["FailureLocation"] == f"s3://{BUCKET}/failures/bad-1-error.out"
    text = body.decode()
    assert re.search(r"Received client error \(4\d\d\) from primary", text), text
    assert "inputs/absent.png" in text  # the container's own message travels
    assert s3_object(emulator, answer["OutputLocation"]) is None
    assert emulator.endpoint_view("ep-fail")["counters"]["failed"] == 1


def test_an_instance_killed_mid_request_loses_nothing(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-kill", max_concurrency=2, environment={"GEN3D_TEST_DELAY_MS": "2500"})
    emulator.client("s3").put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
    answers = []
    for i in range(3):
        location = put_input(emulator, f"requests/k{i}.json", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": BUCKET, "session_id": f"k{i}"})
        answers.append(_invoke(emulator, "ep-kill", location, InferenceId=f"kill-{i}"))
    wait_until(lambda: emulator.endpoint_view("ep-kill")["inFlight"] == 2, 30, "two requests in flight")
    [victim] = emulator.containers()
    _docker("kill", "--signal", "KILL", victim)

    outcomes = [wait_result(emulator, a["OutputLocation"], a["FailureLocation"], timeout=180) for a in answers]
    # Every request ends somewhere; the replacement instance served the retried ones.
    assert len(outcomes) == 3
    assert all(kind == "output" for kind, _ in outcomes), [b[:200] for _, b in outcomes]
    view = emulator.endpoint_view("ep-kill")
    assert view["counters"]["instanceDeaths"] == 1
    assert view["counters"]["retried"] >= 2
    assert view["counters"]["succeeded"] == 3 and view["backlog"] == 0
    assert victim not in emulator.containers()
    assert len(emulator.containers()) == 1  # replaced


def test_sdk_headers_reach_the_container_and_sns_is_notified(emulator: Emulator, backend_image: str) -> None:
    sns = emulator.client("sns")
    sqs = emulator.client("sqs")
    topic = sns.create_topic(Name="lsm-ok")["TopicArn"]
    queue = sqs.create_queue(QueueName="lsm-ok")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sm = emulator.client("sagemaker")
    sm.create_model(ModelName="ep-sns-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                    PrimaryContainer={"Image": backend_image, "Environment": {"GEN3D_BACKEND": "test", "GEN3D_ALLOWED_BUCKETS": BUCKET}})
    sm.create_endpoint_config(
        EndpointConfigName="ep-sns-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "ep-sns-model", "InstanceType": "ml.g6e.xlarge", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out", "NotificationConfig": {"SuccessTopic": topic}}},
    )
    sm.create_endpoint(EndpointName="ep-sns", EndpointConfigName="ep-sns-config")
    wait_until(lambda: sm.describe_endpoint(EndpointName="ep-sns")["EndpointStatus"] == "InService", 120, "InService")
    emulator.client("s3").put_object(Bucket=BUCKET, Key="inputs/photo.png", Body=png_bytes())
    location = put_input(emulator, "requests/sns.json", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": BUCKET})
    answer = _invoke(emulator, "ep-sns", location, InferenceId="sns-1", RequestTTLSeconds=600, InvocationTimeoutSeconds=60)
    kind, _ = wait_result(emulator, answer["OutputLocation"], answer["FailureLocation"])
    assert kind == "output"
    messages = wait_until(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"), 20, "the SNS success notification")
    note = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert note["invocationStatus"] == "Completed" and note["inferenceId"] == "sns-1"
    assert note["responseParameters"]["outputLocation"] == answer["OutputLocation"]
