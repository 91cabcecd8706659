"""Requests are judged by AWS's published service model before moto sees them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ROLE, start_emulator, stop_emulator


@pytest.fixture(scope="module")
def emu():  # the control plane alone is enough: no Docker needed
    server = start_emulator(1.0, Path(tempfile.mkdtemp()), data_plane=False)
    yield server
    stop_emulator(server)


def raw(emu, service: str):
    """A client that sends what it is given: botocore's own (partial) validation off."""
    return boto3.client(service, endpoint_url=emu.url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t",
                        config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def refused(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]


def test_range_pattern_enum_and_required_are_refused_as_aws_refuses_them(emu) -> None:
    sm = raw(emu, "sagemaker")
    error = refused(lambda: sm.create_endpoint_config(
        EndpointConfigName="c", ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://b/o"}, "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 0}}))
    assert error["Code"] == "ValidationException"
    assert "'asyncInferenceConfig.clientConfig.maxConcurrentInvocationsPerInstance'" in error["Message"]
    assert "greater than or equal to 1" in error["Message"]

    error = refused(lambda: sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i", "Environment": {"MY-TOKEN": "x"}}))
    assert "MY-TOKEN" in error["Message"] and "regular expression pattern" in error["Message"]

    error = refused(lambda: sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.nope.huge"}]))
    assert "enum value set" in error["Message"]

    error = refused(lambda: sm.create_model(ModelName="has_underscore", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"}))
    assert "'modelName'" in error["Message"]

    error = refused(lambda: raw(emu, "application-autoscaling").put_scaling_policy(
        PolicyName="p", ServiceNamespace="sagemaker", ResourceId="endpoint/e/variant/v", ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="StepScalingX"))
    assert "'policyType'" in error["Message"] and "enum value set" in error["Message"]

    error = refused(lambda: raw(emu, "sagemaker-runtime").invoke_endpoint_async(EndpointName="e", InputLocation="s3://b/k", RequestTTLSeconds=5))
    assert error["Code"] == "ValidationError" and "requestTTLSeconds" in error["Message"]

    # A well-formed request goes through to moto, and the report counts what was judged.
    sm.create_model(ModelName="well-formed", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i", "Environment": {"MY_TOKEN_NAME": "x"}})
    report = emu.api("contract")
    assert report["refused"]["sagemaker:CreateModel"] == 2 and report["operations"]["sagemaker:CreateModel"] == 3
    assert report["distinctShapes"] > 10
