#!/usr/bin/env python3
"""Benchmark of the served container on CPU with the tiny random SAM 3 config.

    container/.venv/bin/python container/bench/bench.py [--seconds 6] [--images 12]

Starts moto S3 and the real server (`python -m gen3d_serving serve`, GEN3D_BACKEND=sam3,
tiny model written to a temp dir) on 127.0.0.1, then measures in one run:

1. /ping latency p50/p99 idle, then while 4 and while 32 clients keep invocations in flight
   (back-to-back cold segments, so the model is busy the whole time), and each loaded p50/p99
   as a ratio to the idle one of the same run. /ping is timed from a separate process, so the
   load clients and moto (threads of this process) do not inflate it through the GIL;
2. segment latency from a cached embedding vs a cold segment (encode + decode), as a ratio,
   client-side and from the server's own timing_ms.

Prints one JSON object. CPU + tiny config: the ratio and the /ping behaviour are the
point, not absolute model speed (gpu_check.py measures the full-size model on a GPU).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTAINER = HERE.parent
sys.path.insert(0, str(CONTAINER))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values, q):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def summary(values):
    return {"n": len(values), "p50": pct(values, 0.5), "p99": pct(values, 0.99), "max": round(max(values), 2)}


def ping_for(url: str, seconds: float) -> dict:
    """Ping back to back (10 ms apart) for `seconds`; latencies and the in_flight counts seen."""
    import requests

    latencies, in_flight = [], []
    session = requests.Session()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        response = session.get(f"{url}/ping", timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.text
        in_flight.append(response.json().get("in_flight", 0))
        time.sleep(0.01)
    return {"latencies": latencies, "in_flight": in_flight}


def ping_in_subprocess(url: str, seconds: float) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--ping-only", url, "--seconds", str(seconds)],
        capture_output=True, text=True, check=True, timeout=seconds + 120,
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each /ping phase")
    parser.add_argument("--images", type=int, default=12, help="images for the cached-vs-cold comparison")
    parser.add_argument("--ping-only", metavar="URL", help=argparse.SUPPRESS)  # the separate /ping process
    args = parser.parse_args()
    if args.ping_only:
        print(json.dumps(ping_for(args.ping_only, args.seconds)))
        return 0

    import boto3
    import numpy as np
    import requests
    from moto.server import ThreadedMotoServer
    from PIL import Image

    from tests.support.tiny_sam3 import write_test_backend_models, write_tiny_sam3

    work = Path(tempfile.mkdtemp(prefix="gen3d-bench-"))
    models = write_test_backend_models(work / "models")
    write_tiny_sam3(models / "sam3")

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
    }
    s3 = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    bucket = "gen3d-bench"
    s3.create_bucket(Bucket=bucket)
    rng = np.random.default_rng(0)
    n_load_images = 700  # every load invocation gets its own image, so each one encodes
    for i in range(max(args.images, 1) + n_load_images):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)).save(buffer, format="JPEG", quality=90)
        s3.put_object(Bucket=bucket, Key=f"inputs/img-{i}.jpg", Body=buffer.getvalue())

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEN3D_", "AWS_"))}
    env.update(aws)
    env.update({
        "GEN3D_BACKEND": "sam3", "GEN3D_ENABLE_3D": "false", "GEN3D_MODEL_DIR": str(models),
        "GEN3D_ALLOWED_BUCKETS": bucket, "GEN3D_BIND_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port),
        "GEN3D_LOG_LEVEL": "WARNING", "PYTHONPATH": str(CONTAINER),
    })
    log = (work / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "gen3d_serving", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or a 503 slowed by torch's import in the loader thread
            if server.poll() is not None or time.monotonic() - started > 180:
                raise SystemExit(f"server did not become healthy; log in {work / 'server.log'}")
            time.sleep(0.1)
        startup_s = round(time.monotonic() - started, 2)

        def segment(key, prompt):
            t0 = time.perf_counter()
            response = requests.post(f"{url}/invocations", json={"task": "segment", "image_s3_key": key, **prompt}, timeout=120)
            body = response.json()
            assert response.status_code == 200 and body["status"] == "success", body
            return (time.perf_counter() - t0) * 1000, body

        segment("inputs/img-0.jpg", {"prompt_type": "point", "point": [10, 10]})  # warm-up

        idle = ping_in_subprocess(url, args.seconds)["latencies"]
        counter = iter(range(args.images + 1, args.images + 1 + n_load_images))
        lock = threading.Lock()

        def loaded_phase(n_clients):
            """/ping while n_clients keep cold segments in flight back to back."""
            stop = threading.Event()
            done = []
            ran_out = []

            def load_client():
                while not stop.is_set():
                    with lock:
                        index = next(counter, None)
                    if index is None:
                        ran_out.append(True)
                        return
                    ms, _ = segment(f"inputs/img-{index}.jpg", {"prompt_type": "point", "point": [320, 240]})
                    done.append(ms)

            clients = [threading.Thread(target=load_client) for _ in range(n_clients)]
            for client in clients:
                client.start()
            deadline = time.monotonic() + 30
            while requests.get(f"{url}/ping", timeout=30).json()["in_flight"] < n_clients and time.monotonic() < deadline:
                time.sleep(0.02)  # every client has an invocation in flight before timing starts
            pings = ping_in_subprocess(url, args.seconds)
            stop.set()
            for client in clients:
                client.join()
            if ran_out:
                raise SystemExit("ran out of load images: raise n_load_images")
            return pings, done

        loaded = {n: loaded_phase(n) for n in (4, 32)}

        def ratio(values, q):
            return round(pct(values, q) / pct(idle, q), 2)

        cold_client, cold_server, warm_client, warm_server = [], [], [], []
        cold_model, warm_model = [], []
        for i in range(1, args.images + 1):
            key = f"inputs/img-{i}.jpg"
            ms, body = segment(key, {"prompt_type": "point", "point": [320, 240]})
            assert body["embedding_cached"] is False
            cold_client.append(ms)
            cold_server.append(body["timing_ms"]["total"])
            cold_model.append(body["timing_ms"]["encode"] + body["timing_ms"]["decode"])
            ms, body = segment(key, {"prompt_type": "box", "box": [100, 100, 400, 300]})
            assert body["embedding_cached"] is True
            warm_client.append(ms)
            warm_server.append(body["timing_ms"]["total"])
            warm_model.append(body["timing_ms"]["decode"])

        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)},
            "model": "Sam3Tracker tiny random config (224 px), CPU, float32",
            "startup_to_first_200_s": startup_s,
            "ping_ms": {
                "idle": summary(idle),
                **{f"with_{n}_invocations_in_flight": summary(pings["latencies"]) for n, (pings, _) in loaded.items()},
            },
            "ping_ratio_to_idle": {
                f"with_{n}_in_flight": {"p50": ratio(pings["latencies"], 0.5), "p99": ratio(pings["latencies"], 0.99)}
                for n, (pings, _) in loaded.items()
            },
            "in_flight_seen_by_ping": {
                f"with_{n}": {"min": min(pings["in_flight"]), "median": statistics.median(pings["in_flight"])}
                for n, (pings, _) in loaded.items()
            },
            "invocations_completed_during_loaded_phase": {f"with_{n}": len(done) for n, (_, done) in loaded.items()},
            "invocation_ms_under_load": {f"with_{n}": summary(done) if done else None for n, (_, done) in loaded.items()},
            "segment_ms": {
                "cold_client": summary(cold_client),
                "cached_client": summary(warm_client),
                "cold_server_total": summary(cold_server),
                "cached_server_total": summary(warm_server),
                "cold_model_encode_plus_decode": summary(cold_model),
                "cached_model_decode": summary(warm_model),
            },
            "cold_over_cached_ratio": {
                "client_p50": round(statistics.median(cold_client) / statistics.median(warm_client), 2),
                "server_p50": round(statistics.median(cold_server) / statistics.median(warm_server), 2),
                "model_only_p50": round(statistics.median(cold_model) / statistics.median(warm_model), 2),
            },
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
