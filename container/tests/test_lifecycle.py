"""Startup, readiness and shutdown of the real entry point."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time

import requests

from tests.conftest import CONTAINER_DIR, base_env, launch


def _run_to_exit(tmp_path, env, args=("serve",), timeout=60):
    proc, log_path, err_path, _ = launch(tmp_path, env, args)
    code = proc.wait(timeout=timeout)
    return code, log_path.read_text(errors="replace") + err_path.read_text(errors="replace")


def test_missing_weights_fail_fast_naming_the_file(tmp_path, aws_env, test_models):
    models = tmp_path / "models"
    shutil.copytree(test_models, models)
    (models / "sam3" / "model.safetensors").unlink()
    started = time.monotonic()
    code, output = _run_to_exit(tmp_path, base_env(aws_env, models))
    assert code == 3
    assert str(models / "sam3" / "model.safetensors") in output
    assert time.monotonic() - started < 15


def test_missing_3d_checkpoint_named_in_pipeline_yaml(tmp_path, aws_env, test_models):
    models = tmp_path / "models"
    shutil.copytree(test_models, models)
    (models / "sam3d" / "ss_generator.ckpt").unlink()
    code, output = _run_to_exit(tmp_path, base_env(aws_env, models))
    assert code == 3 and "ss_generator.ckpt" in output


def test_real_backend_checks_weights_too(tmp_path, aws_env):
    code, output = _run_to_exit(
        tmp_path, {**base_env(aws_env, tmp_path / "empty"), "GEN3D_BACKEND": "sam3", "GEN3D_ENABLE_3D": "false"}
    )
    assert code == 3 and "config.json" in output


def test_bad_setting_fails_naming_the_variable(tmp_path, aws_env, test_models):
    code, output = _run_to_exit(tmp_path, {**base_env(aws_env, test_models), "GEN3D_BACKEND": "mock"})
    assert code == 2 and "GEN3D_BACKEND" in output


def test_unknown_argument_is_a_usage_error(tmp_path, aws_env, test_models):
    code, output = _run_to_exit(tmp_path, base_env(aws_env, test_models), args=("train",))
    assert code == 64 and "usage" in output


def test_corrupt_weights_stop_the_server_instead_of_serving_503_forever(tmp_path, aws_env, test_models):
    models = tmp_path / "models"
    shutil.copytree(test_models, models)
    env = {**base_env(aws_env, models), "GEN3D_BACKEND": "sam3", "GEN3D_ENABLE_3D": "false"}
    code, output = _run_to_exit(tmp_path, env, timeout=120)
    assert code == 3, output[-3000:]
    assert "model loading failed" in output


def test_ping_is_503_until_models_load_then_200(tmp_path, aws_env, test_models):
    proc, log_path, _, url = launch(tmp_path, base_env(aws_env, test_models, GEN3D_TEST_LOAD_DELAY_MS=4000))
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{url}/ping", timeout=10)
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            seen.append(response.status_code)
            if response.status_code == 503:
                body = requests.post(f"{url}/invocations", json={"task": "get_embedding", "image_s3_key": "inputs/photo.png"}, timeout=5)
                assert body.status_code == 503 and body.json()["error"]["code"] == "model_not_ready"
            if response.status_code == 200:
                break
            time.sleep(0.1)
        assert seen and seen[0] == 503 and seen[-1] == 200, seen
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_sigterm_drains_in_flight_request_and_exits_zero(make_server, s3):
    from tests.conftest import BUCKET, fixture_image, png_bytes

    s3.put_object(Bucket=BUCKET, Key="inputs/drain.png", Body=png_bytes(fixture_image((33, 44))))
    srv = make_server(GEN3D_TEST_DELAY_MS=1500)
    result = {}

    def invoke():
        result["response"] = srv.invoke({"task": "get_embedding", "image_s3_key": "inputs/drain.png"}, timeout=30)

    thread = threading.Thread(target=invoke)
    thread.start()
    time.sleep(0.5)  # the request is inside the simulated model call
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    code = srv.proc.wait(timeout=30)
    thread.join(timeout=5)
    assert code == 0
    assert time.monotonic() - started < 30
    assert result["response"].status_code == 200, "the in-flight request completed during shutdown"


def test_module_runs_from_any_directory(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "gen3d_serving", "--help"], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(CONTAINER_DIR), "PATH": "/usr/bin:/bin"}, timeout=30,
    )
    assert out.returncode == 0 and "serve" in out.stdout
