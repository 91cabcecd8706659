"""Shared fixtures: moto S3 on 127.0.0.1, fixture images, and real gunicorn servers.

Every server here is the production entry point (`python -m gen3d_serving [serve]`) in a
subprocess, bound to 127.0.0.1 on a free port, talking to moto through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests
from PIL import Image

from tests.support.tiny_sam3 import write_test_backend_models

CONTAINER_DIR = Path(__file__).resolve().parents[1]

# Hypothesis keeps its files in ./.hypothesis by default; keep them in container/
# (git-ignored) whatever directory pytest is started from.
from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(CONTAINER_DIR / ".hypothesis")
BUCKET = "gen3d-test-bucket"
OTHER_BUCKET = "gen3d-other-bucket"
IMAGE_SIZE = (61, 97)  # (height, width): odd and non-square, so a transposed mask cannot pass
MAX_IMAGE_BYTES = 2 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    yield url
    server.stop()


@pytest.fixture(scope="session")
def aws_env(moto_endpoint):
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture(scope="session")
def s3(aws_env):
    return boto3.client(
        "s3",
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def fixture_image(size=IMAGE_SIZE) -> Image.Image:
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack([xs * 255 // max(width - 1, 1), ys * 255 // max(height - 1, 1), (xs + ys) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8))


@pytest.fixture(scope="session")
def fixtures(s3):
    """Upload every fixture object once; returns their keys."""
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=OTHER_BUCKET)
    image = fixture_image()
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=90)
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, format="PNG")  # ~100 kB on the wire, 900 Mpx decoded
    big_pixels = io.BytesIO()
    Image.new("1", (8000, 6000)).save(big_pixels, format="PNG")  # over our 40 Mpx, under Pillow's own guard
    truncated = png_bytes(image)[:200]
    gif = io.BytesIO()
    image.save(gif, format="GIF")
    animated = io.BytesIO()
    image.convert("RGB").save(animated, format="TIFF", save_all=True, append_images=[image])
    mask_ok = np.zeros(IMAGE_SIZE, dtype=np.uint8)
    mask_ok[10:40, 20:70] = 255
    objects = {
        "inputs/photo.png": png_bytes(image),
        "inputs/photo.jpg": jpeg.getvalue(),
        "inputs/second.png": png_bytes(fixture_image((40, 50))),
        "inputs/garbage.png": os.urandom(4096),
        "inputs/truncated.png": truncated,
        "inputs/bomb.png": bomb.getvalue(),
        "inputs/big-pixels.png": big_pixels.getvalue(),
        "inputs/huge.png": b"\x89PNG\r\n\x1a\n" + os.urandom(MAX_IMAGE_BYTES + 10),
        "inputs/animated.gif": gif.getvalue(),
        "inputs/multipage.tiff": animated.getvalue(),
        "inputs/mask.png": png_bytes(Image.fromarray(mask_ok)),
        "inputs/mask-empty.png": png_bytes(Image.fromarray(np.zeros(IMAGE_SIZE, dtype=np.uint8))),
        "inputs/mask-wrong-size.png": png_bytes(Image.fromarray(np.full((10, 10), 255, dtype=np.uint8))),
        "private/photo.png": png_bytes(image),
    }
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    s3.put_object(Bucket=OTHER_BUCKET, Key="inputs/photo.png", Body=objects["inputs/photo.png"])
    return objects


@pytest.fixture(scope="session")
def test_models(tmp_path_factory) -> Path:
    return write_test_backend_models(tmp_path_factory.mktemp("models"))


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    def ping(self, timeout: float = 5.0) -> requests.Response:
        return requests.get(f"{self.url}/ping", timeout=timeout)

    def invoke(self, payload, timeout: float = 60.0, **kwargs) -> requests.Response:
        if isinstance(payload, (dict, list)) or payload is None:
            return requests.post(f"{self.url}/invocations", json=payload, timeout=timeout, **kwargs)
        return requests.post(f"{self.url}/invocations", data=payload, timeout=timeout, **kwargs)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def stderr_text(self) -> str:
        return Path(str(self.log_path).replace(".stdout.log", ".stderr.log")).read_text(errors="replace")

    def log_records(self) -> list[dict]:
        """Every stdout line must be one JSON object: a non-JSON line fails the test."""
        records = []
        for line in self.log_lines():
            if line.strip():
                records.append(json.loads(line))
        return records

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not exit within {timeout}s of SIGTERM")


def launch(tmp_dir: Path, env: dict, args=("serve",)) -> tuple[subprocess.Popen, Path, Path, str]:
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GEN3D_", "AWS_", "SAGEMAKER_"))}
    full_env.update({"GEN3D_BIND_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port), "PYTHONUNBUFFERED": "1"})
    full_env.update(env)
    full_env["PYTHONPATH"] = str(CONTAINER_DIR) + os.pathsep + full_env.get("PYTHONPATH", "")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_dir / f"server-{port}.stdout.log"
    err_path = tmp_dir / f"server-{port}.stderr.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gen3d_serving", *args],
        env=full_env,
        stdout=log_path.open("wb"),
        stderr=err_path.open("wb"),
        cwd=str(tmp_dir),
    )
    return proc, log_path, err_path, f"http://127.0.0.1:{port}"


def start_server(tmp_dir: Path, env: dict, args=("serve",), ready_timeout: float = 90.0, _attempt: int = 0) -> Server:
    proc, log_path, err_path, url = launch(tmp_dir, env, args)
    server = Server(url=url, proc=proc, log_path=log_path, env=env)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log_path.read_text(errors="replace") + err_path.read_text(errors="replace")
            if _attempt < 3 and ("Connection in use" in output or "Address already in use" in output):
                # free_port() found a free port, but another process on this shared machine took it first.
                return start_server(tmp_dir, env, args, ready_timeout, _attempt + 1)
            raise AssertionError(
                f"server exited with {proc.returncode} before /ping answered 200:\n"
                f"{log_path.read_text(errors='replace')[-4000:]}\n{err_path.read_text(errors='replace')[-4000:]}"
            )
        try:
            if server.ping(timeout=2).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or busy importing on a loaded machine: poll again
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"/ping did not answer 200 within {ready_timeout}s")


def base_env(aws_env, models: Path, **extra) -> dict:
    env = {
        **aws_env,
        "GEN3D_BACKEND": "test",
        "GEN3D_MODEL_DIR": str(models),
        "GEN3D_ALLOWED_BUCKETS": f"{BUCKET},{OTHER_BUCKET}",
        "GEN3D_MAX_IMAGE_BYTES": str(MAX_IMAGE_BYTES),
        "GEN3D_LOG_LEVEL": "INFO",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="session")
def server(tmp_path_factory, aws_env, test_models, fixtures):
    """The test backend with fault injection armed (only the magic session id triggers it)."""
    srv = start_server(
        tmp_path_factory.mktemp("server"), base_env(aws_env, test_models, GEN3D_TEST_FAULT_INJECTION="true")
    )
    yield srv
    assert srv.stop() == 0, "server did not exit cleanly on SIGTERM"
    srv.log_records()  # every stdout line is JSON
    assert "Traceback" not in srv.stderr_text()


@pytest.fixture
def make_server(tmp_path, aws_env, test_models, fixtures):
    started: list[Server] = []

    def make(args=("serve",), models: Path | None = None, **extra) -> Server:
        srv = start_server(tmp_path, base_env(aws_env, models or test_models, **extra), args=args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def get_object(s3, key: str, bucket: str = BUCKET) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
