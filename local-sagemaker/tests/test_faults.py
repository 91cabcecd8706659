"""Injected faults (POST /local-sagemaker/faults) and the per-InferenceId ledger
(GET /local-sagemaker/inferences): what gen3d's chaos tests use to make AWS throttle, fail, reset
connections or slow S3 down, and to prove no async job was submitted twice or lost."""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import BUCKET, Emulator, deploy, put_input, start_emulator, stop_emulator, wait_result, wait_until


def _client(emu: Emulator, service: str) -> Any:
    """A client that never retries: each call is one request, so each fault shows."""
    return boto3.client(
        service, endpoint_url=emu.url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def _post(emu: Emulator, path: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emu.url}/local-sagemaker/{path}", data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def control() -> Iterator[Emulator]:
    emu = start_emulator(1.0, Path(tempfile.mkdtemp()), data_plane=False)
    emu.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield emu
    finally:
        stop_emulator(emu)


def test_throttling_for_a_burst_then_the_operation_answers(control: Emulator) -> None:
    sm = _client(control, "sagemaker")
    status, armed = _post(control, "faults", {"operation": "ListModels", "error": "ThrottlingException", "count": 2})
    assert status == 200 and armed["armed"][0]["left"] == 2
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_models()
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Other operations were never touched, and the third ListModels answers.
    sm.list_endpoints()
    assert sm.list_models()["Models"] == []
    view = control.api("faults")
    assert view["armed"] == []
    assert [(i["operation"], i["error"]) for i in view["injected"]] == [("ListModels", "ThrottlingException")] * 2


def test_5xx_on_a_sagemaker_write_and_slowdown_on_s3(control: Emulator) -> None:
    _post(control, "faults", {"operation": "CreateModel", "error": "InternalFailure", "count": 1})
    _post(control, "faults", {"operation": "PutObject", "service": "s3", "error": "SlowDown", "count": 1})
    _post(control, "faults", {"operation": "GetObject", "error": "SlowDown", "count": 1})
    with pytest.raises(ClientError) as caught:
        _client(control, "sagemaker").create_model(
            ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"},
        )
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    s3 = _client(control, "s3")
    with pytest.raises(ClientError) as slow:
        s3.put_object(Bucket=BUCKET, Key="a/b.json", Body=b"{}")
    assert slow.value.response["Error"]["Code"] == "SlowDown"
    assert slow.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    s3.put_object(Bucket=BUCKET, Key="a/b.json", Body=b"{}")  # the burst is over
    with pytest.raises(ClientError) as read:
        s3.get_object(Bucket=BUCKET, Key="a/b.json")
    assert read.value.response["Error"]["Code"] == "SlowDown"
    assert s3.get_object(Bucket=BUCKET, Key="a/b.json")["Body"].read() == b"{}"


def test_a_reset_connection_and_a_fault_armed_until_cleared(control: Emulator) -> None:
    iam = _client(control, "iam")
    _post(control, "faults", {"operation": "GetRole", "error": "reset", "count": -1})
    for _ in range(3):
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            iam.get_role(RoleName="x")
    assert control.api("faults")["armed"][0]["operation"] == "GetRole"
    status, _ = _post(control, "faults", method="DELETE")
    assert status == 200
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName="x")
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"  # moto answers again


def test_an_unknown_error_is_refused(control: Emulator) -> None:
    status, body = _post(control, "faults", {"operation": "ListModels", "error": "Teapot"})
    assert status == 400 and "Teapot" in body["error"]


def test_every_inference_id_is_counted_with_its_outcomes(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-ids")
    location = put_input(emulator, "requests/one.json", {"task": "get_embedding", "image_s3_key": "missing.png", "bucket": BUCKET})
    runtime = emulator.client("sagemaker-runtime")
    answers = [runtime.invoke_endpoint_async(EndpointName="ep-ids", InputLocation=location, InferenceId=i) for i in ("same", "same", "other")]
    for answer in answers:
        wait_result(emulator, answer["OutputLocation"], answer["FailureLocation"])
    ledger = wait_until(
        lambda: (lambda v: v if sum(len(r["outcomes"]) for r in v.values()) == 3 else None)(emulator.api("inferences")["inferences"]),
        60, "three outcomes",
    )
    assert ledger["same"]["submitted"] == 2 and len(ledger["same"]["outcomes"]) == 2
    assert ledger["other"]["submitted"] == 1 and ledger["other"]["endpointName"] == "ep-ids"
