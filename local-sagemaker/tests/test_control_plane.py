"""The control plane alone (no data plane): every API gen3d uses answers as smoke.py expects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_every_api_gen3d_uses_answers() -> None:
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("smoke.py"))], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ALL PASSED" in done.stdout
