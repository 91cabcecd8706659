"""Endpoints whose instances are real containers: Creating → InService only after /ping,
Failed with SageMaker's reason and the container's own log lines, delete and restart clean up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

from conftest import Emulator, _docker, deploy, start_emulator, stop_emulator, wait_status, wait_until


def test_create_is_creating_until_the_container_answers_ping(emulator: Emulator, backend_image: str) -> None:
    # A slow model load keeps /ping at 503 for 3 s: the endpoint must stay Creating meanwhile.
    deploy(emulator, backend_image, "ep-life", environment={"GEN3D_TEST_LOAD_DELAY_MS": "3000"}, wait=False)
    first = emulator.client("sagemaker").describe_endpoint(EndpointName="ep-life")
    assert first["EndpointStatus"] == "Creating"
    desc = wait_status(emulator, "ep-life", {"InService", "Failed"})
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    assert desc["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    view = emulator.endpoint_view("ep-life")
    [instance] = view["instances"]
    assert instance["status"] == "healthy"
    assert instance["startupSeconds"] >= 3.0  # the load delay was waited out, not skipped
    # What docker reports agrees with DescribeEndpoint.
    running = emulator.containers()
    assert len(running) == 1
    # The instance really serves the SageMaker contract on its own port.
    with urllib.request.urlopen(f"http://127.0.0.1:{instance['port']}/ping", timeout=5) as response:
        assert response.status == 200
    # Credentials travel by name only: the container's argv/config never holds their values.
    inspect = json.loads(_docker("inspect", running[0]))[0]
    assert "testing" not in " ".join(inspect["Args"]) + " ".join(inspect["Config"].get("Cmd") or [])
    assert inspect["HostConfig"]["NetworkMode"] == "host"

    emulator.client("sagemaker").delete_endpoint(EndpointName="ep-life")
    wait_until(lambda: not emulator.containers(all_states=True), 60, "the instance container to be removed")


def test_a_server_that_exits_at_start_fails_the_endpoint_with_its_log_lines(emulator: Emulator, broken_image: str) -> None:
    deploy(emulator, broken_image, "ep-broken", wait=False, startup_timeout=60)
    desc = wait_status(emulator, "ep-broken", {"Failed", "InService"}, timeout=90)
    assert desc["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in desc["FailureReason"]
    assert "Creating" in desc["_seen"]

    logs = emulator.client("logs")

    def lines() -> list[str]:
        events = logs.filter_log_events(logGroupName="/aws/sagemaker/Endpoints/ep-broken").get("events", [])
        return [e["message"] for e in events]

    found = wait_until(lambda: [m for m in lines() if "model.safetensors is missing" in m], 20, "the container's stderr in CloudWatch Logs")
    assert found
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/ep-broken")["logStreams"]
    assert streams and all(s["logStreamName"].startswith("AllTraffic/i-") for s in streams)
    # The failed instance's container is gone.
    wait_until(lambda: not emulator.containers(all_states=True), 30, "the failed container to be removed")


def test_update_brings_up_the_new_fleet_then_retires_the_old(emulator: Emulator, backend_image: str) -> None:
    deploy(emulator, backend_image, "ep-upd")
    old = set(emulator.containers())
    sm = emulator.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="ep-upd-config-2",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "ep-upd-model", "InstanceType": "ml.g6e.xlarge", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://lsm-test-bucket/out2"}, "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 3}},
    )
    sm.update_endpoint(EndpointName="ep-upd", EndpointConfigName="ep-upd-config-2")
    assert sm.describe_endpoint(EndpointName="ep-upd")["EndpointStatus"] == "Updating"
    desc = wait_status(emulator, "ep-upd", {"InService", "Failed"})
    assert desc["EndpointStatus"] == "InService" and desc["EndpointConfigName"] == "ep-upd-config-2"
    new = wait_until(lambda: (set(emulator.containers()) - old) if not (set(emulator.containers()) & old) else None, 60, "the old instance to stop")
    assert len(new) == 1
    assert emulator.endpoint_view("ep-upd")["fleets"][0]["maxConcurrentInvocationsPerInstance"] == 3


def test_a_failed_update_rolls_back_to_the_previous_config(emulator: Emulator, backend_image: str, broken_image: str) -> None:
    deploy(emulator, backend_image, "ep-rb")
    sm = emulator.client("sagemaker")
    sm.create_model(ModelName="ep-rb-broken", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": broken_image})
    sm.create_endpoint_config(
        EndpointConfigName="ep-rb-config-2",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "ep-rb-broken", "InstanceType": "ml.g6e.xlarge", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://lsm-test-bucket/out"}},
    )
    sm.update_endpoint(EndpointName="ep-rb", EndpointConfigName="ep-rb-config-2")
    time.sleep(0.5)
    desc = wait_status(emulator, "ep-rb", {"InService", "Failed"})
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointConfigName"] == "ep-rb-config"  # rolled back
    assert "ping health check" in desc.get("FailureReason", "")
    assert len(emulator.containers()) == 1


def test_a_restarted_emulator_reaps_the_containers_of_a_killed_one(stack: None, backend_image: str, tmp_path) -> None:
    first = start_emulator(1.0, tmp_path)
    first.client("s3").create_bucket(Bucket="lsm-test-bucket")
    deploy(first, backend_image, "ep-orphan")
    orphans = first.containers()
    assert len(orphans) == 1
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    assert _docker("ps", "--quiet", "--filter", f"id={orphans[0]}").strip(), "the instance should outlive a SIGKILLed emulator"

    second = start_emulator(1.0, tmp_path)
    try:
        assert not _docker("ps", "--all", "--quiet", "--filter", f"id={orphans[0]}").strip()
        assert "left by an earlier run" in wait_until(lambda: "left by an earlier run" in second.log() and second.log(), 10, "the reaping log line")
    finally:
        stop_emulator(second)


def test_stopping_the_emulator_removes_its_containers(stack: None, backend_image: str, tmp_path) -> None:
    emu = start_emulator(1.0, tmp_path)
    emu.client("s3").create_bucket(Bucket="lsm-test-bucket")
    deploy(emu, backend_image, "ep-stop")
    assert len(emu.containers()) == 1
    stop_emulator(emu)  # asserts nothing is left
    assert subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"label=gen3d.local-sagemaker.owner={emu.pid}"], capture_output=True, text=True).stdout.strip() == ""


def test_s3_model_data_is_mounted_read_only_at_opt_ml_model_and_the_aws_cli_works(emulator: Emulator, backend_image: str) -> None:
    s3 = emulator.client("s3")
    s3.put_object(Bucket="lsm-test-bucket", Key="models/sam3/config.json", Body=b'{"tiny": true}\n')
    s3.put_object(Bucket="lsm-test-bucket", Key="models/sam3/sub/weights.bin", Body=b"\x00\x01" * 1000)
    sm = emulator.client("sagemaker")
    sm.create_model(
        ModelName="ep-data-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": backend_image, "Environment": {"GEN3D_BACKEND": "test"},
                          "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://lsm-test-bucket/models/", "S3DataType": "S3Prefix", "CompressionType": "None"}}},
    )
    sm.create_endpoint_config(
        EndpointConfigName="ep-data-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "ep-data-model", "InstanceType": "ml.g6e.xlarge", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://lsm-test-bucket/out"}},
    )
    sm.create_endpoint(EndpointName="ep-data", EndpointConfigName="ep-data-config")
    wait_status(emulator, "ep-data", {"InService"})
    [container] = emulator.containers()
    assert _docker("exec", container, "cat", "/opt/ml/model/sam3/config.json") == '{"tiny": true}\n'
    assert _docker("exec", container, "stat", "-c", "%s", "/opt/ml/model/sam3/sub/weights.bin").strip() == "2000"
    mounts = json.loads(_docker("inspect", "--format", "{{json .Mounts}}", container))
    assert [(m["Destination"], m["RW"]) for m in mounts] == [("/opt/ml/model", False)]
    # The aws CLI reads the same endpoint (and sees the true counts).
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run(["aws", "--endpoint-url", emulator.url, "sagemaker", "describe-endpoint", "--endpoint-name", "ep-data"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    described = json.loads(out.stdout)
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1
