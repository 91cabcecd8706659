"""gpu_check.py's plumbing (its real run needs a CUDA GPU, which these machines lack)."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from tests.conftest import CONTAINER_DIR

SCRIPT = CONTAINER_DIR / "gpu_check.py"


def test_cpu_smoke_runs_the_handlers_and_reports_every_number():
    out = subprocess.run([sys.executable, str(SCRIPT), "--cpu-smoke", "--repeats", "2"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"] is True and result["mode"].startswith("cpu-smoke")
    for key in ("encode_ms", "cached_decode_ms", "full_ms"):
        assert result[key] > 0
    assert result["image_size"] == [61, 97] and result["embedding_shape"] == [1, 32, 8, 8]
    assert "NNPACK" not in out.stderr


def test_without_cuda_it_refuses_clearly():
    out = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1"], capture_output=True, text=True, timeout=600)
    if torch.cuda.is_available():  # on a GPU machine the same call is the real measurement
        assert out.returncode == 0 and json.loads(out.stdout.strip().splitlines()[-1])["mode"] == "gpu"
        return
    assert out.returncode == 2
    assert "no CUDA device" in out.stderr and "--cpu-smoke" in out.stderr
