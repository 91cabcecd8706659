"""Fixtures for the local SageMaker's tests: the real Docker engine and registry of
scripts/local-stack, the container's test-backend image, and an emulator per test.

Under CI (CI=true) nothing skips: a missing engine or registry is a failure.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "local-sagemaker" / "server.py"
REGISTRY = os.environ.get("GEN3D_LOCAL_REGISTRY", "127.0.0.1:5000")
BASE_IMAGE = os.environ.get("GEN3D_BASE_IMAGE", "gen3d-base:local")
BUCKET = "lsm-test-bucket"
ROLE = "arn:aws:iam::123456789012:role/lsm-test"
OWNER_LABEL = "gen3d.local-sagemaker.owner"


def _need(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI runs scripts/local-stack/up.sh first)")
    pytest.skip(why)


def _docker(*args: str, check: bool = True, timeout: float = 600) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed: {done.stderr[-2000:]}")
    return done.stdout


@pytest.fixture(scope="session")
def stack() -> None:
    _need(shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0, "no Docker engine (scripts/local-stack/up.sh)")
    try:
        ok = urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3).status == 200
    except OSError:
        ok = False
    _need(ok, f"no registry at {REGISTRY} (scripts/local-stack/up.sh)")
    _need(subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode == 0, f"no base image {BASE_IMAGE}")


def _push(local: str, repo: str) -> str:
    """Push and return REPO@sha256:… as the registry names it."""
    remote = f"{REGISTRY}/{repo}:{local.split(':')[-1]}"
    _docker("tag", local, remote)
    _docker("push", remote)
    digests = json.loads(_docker("image", "inspect", "--format", "{{json .RepoDigests}}", remote))
    digest = next(d for d in digests if d.startswith(f"{REGISTRY}/{repo}@"))
    return digest


def build_backend_image(workdir: Path) -> str:
    """Build and push the gen3d container with its deterministic test backend; `REPO@sha256:…`.
    The tag is the content hash of the build context, so an unchanged context builds once."""
    context = workdir / "backend-context"
    shutil.copytree(ROOT / "container", context, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".venv", "models", "__pycache__", "tests", "*.pyc"))
    subprocess.run(["node", str(ROOT / "scripts" / "make-test-models.mjs"), str(context / "models"), "1"], check=True, capture_output=True)
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    tag = f"lsm-backend:{digest.hexdigest()[:12]}"
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode != 0:
        _docker("build", "--quiet", "-t", tag, "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "INSTALL_SAM3=false",
                "--build-arg", "PIP_EXTRA_ARGS=--no-index", str(context), timeout=1200)
    return _push(tag, "lsm-backend")


@pytest.fixture(scope="session")
def backend_image(stack: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_backend_image(tmp_path_factory.mktemp("backend"))


@pytest.fixture(scope="session")
def broken_image(stack: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A server that prints why and exits at start."""
    context = tmp_path_factory.mktemp("broken-context")
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        'LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port="true"\n'
        'ENTRYPOINT ["python3", "-c", "import sys; print(\'loading weights from /opt/gen3d/models/sam3\', flush=True); '
        "print('FileNotFoundError: model.safetensors is missing', file=sys.stderr, flush=True); sys.exit(3)\"]\n"
    )
    _docker("build", "--quiet", "-t", "lsm-broken:1", str(context))
    return _push("lsm-broken:1", "lsm-broken")


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[str]
    time_scale: float
    log_path: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/local-sagemaker/{path}", timeout=10) as response:
            return json.loads(response.read())

    def endpoint_view(self, name: str) -> dict[str, Any]:
        return self.api(f"endpoints/{name}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def containers(self, all_states: bool = False) -> list[str]:
        args = ["ps", "--filter", f"label={OWNER_LABEL}={self.pid}", "--format", "{{.ID}}"]
        if all_states:
            args.insert(1, "--all")
        return _docker(*args).split()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_emulator(time_scale: float, tmp: Path, data_plane: bool = True) -> Emulator:
    log_path = tmp / f"emulator-{time.monotonic_ns()}.log"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1"}
    plane = ["--data-plane", "--time-scale", str(time_scale), "--state-dir", str(tmp / "state")] if data_plane else []
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "0", *plane],
        stdout=subprocess.PIPE, stderr=open(log_path, "w"), text=True, env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("MOTO_READY port="):
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r}\n{log_path.read_text()}")
    return Emulator(f"http://127.0.0.1:{int(line.split('=')[1])}", proc, time_scale, log_path)


def stop_emulator(emu: Emulator) -> None:
    if emu.process.poll() is None:
        emu.process.terminate()
        try:
            emu.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            emu.process.kill()
    leftover = emu.containers(all_states=True)
    for ident in leftover:
        _docker("rm", "--force", ident, check=False)
    assert not leftover, f"the emulator left containers behind: {leftover}"


@pytest.fixture
def emulator(request: pytest.FixtureRequest, stack: None, tmp_path: Path) -> Iterator[Emulator]:
    marker = request.node.get_closest_marker("time_scale")
    emu = start_emulator(float(marker.args[0]) if marker else 1.0, tmp_path)
    emu.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield emu
    finally:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(emu.log()[-6000:], file=sys.stderr)
        stop_emulator(emu)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_scale(n): AWS-side periods pass n times faster for this test's emulator")


# ------------------------------------------------------------------ helpers for the tests
def png_bytes(width: int = 48, height: int = 32) -> bytes:
    """An RGB gradient PNG, written with zlib (no imaging library needed)."""
    import struct
    import zlib

    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in ((x * 5) % 256, (y * 7) % 256, 90)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def deploy(emu: Emulator, image: str, name: str, *, max_concurrency: int = 1, initial: int = 1, environment: dict[str, str] | None = None,
           startup_timeout: int = 120, wait: bool = True) -> None:
    sm = emu.client("sagemaker")
    env = {"GEN3D_BACKEND": "test", "GEN3D_ALLOWED_BUCKETS": BUCKET, **(environment or {})}
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "Environment": env})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": f"{name}-model", "InstanceType": "ml.g6e.xlarge",
            "InitialInstanceCount": initial, "ContainerStartupHealthCheckTimeoutInSeconds": startup_timeout,
        }],
        AsyncInferenceConfig={
            "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out", "S3FailurePath": f"s3://{BUCKET}/failures"},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": max_concurrency},
        },
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    if wait:
        wait_status(emu, name, {"InService"}, timeout=startup_timeout + 60)


def wait_status(emu: Emulator, name: str, wanted: set[str], timeout: float = 120) -> dict[str, Any]:
    sm = emu.client("sagemaker")
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        desc = sm.describe_endpoint(EndpointName=name)
        if not seen or seen[-1] != desc["EndpointStatus"]:
            seen.append(desc["EndpointStatus"])
        if desc["EndpointStatus"] in wanted:
            desc["_seen"] = seen
            return desc
        time.sleep(0.2)
    raise AssertionError(f"endpoint {name} never reached {wanted}; statuses seen {seen}\n{emu.log()[-4000:]}")


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def put_input(emu: Emulator, key: str, payload: dict[str, Any]) -> str:
    emu.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(payload).encode())
    return f"s3://{BUCKET}/{key}"


def s3_object(emu: Emulator, uri: str) -> bytes | None:
    bucket, _, key = uri[len("s3://"):].partition("/")
    try:
        return emu.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except emu.client("s3").exceptions.NoSuchKey:
        return None


def wait_result(emu: Emulator, output: str, failure: str, timeout: float = 120) -> tuple[str, bytes]:
    def probe() -> tuple[str, bytes] | None:
        for kind, uri in (("output", output), ("failure", failure)):
            body = s3_object(emu, uri)
            if body is not None:
                return kind, body
        return None

    return wait_until(probe, timeout, f"{output} or {failure}")
