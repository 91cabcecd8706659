"""/ping keeps answering while inference runs, and model calls are serialised."""

from __future__ import annotations

import statistics
import threading
import time

import requests

DELAY_MS = 800  # simulated GPU time per encode in the test backend


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def test_ping_stays_fast_while_four_invocations_run(make_server, s3):
    srv = make_server(GEN3D_TEST_DELAY_MS=DELAY_MS)
    # Four distinct images, so every invocation really encodes (no cache hit).
    from tests.conftest import BUCKET, fixture_image, png_bytes

    for i in range(4):
        s3.put_object(Bucket=BUCKET, Key=f"inputs/conc-{i}.png", Body=png_bytes(fixture_image((30 + i, 40))))
    results: list[tuple[int, float, float]] = []

    def invoke(i: int) -> None:
        began = time.monotonic()
        response = srv.invoke({"task": "get_embedding", "image_s3_key": f"inputs/conc-{i}.png"}, timeout=60)
        results.append((response.status_code, began, time.monotonic()))

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    ping_latencies = []
    session = requests.Session()
    while any(t.is_alive() for t in threads):
        t0 = time.perf_counter()
        response = session.get(f"{srv.url}/ping", timeout=2)
        ping_latencies.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert [status for status, _, _ in results] == [200] * 4
    # Serialised model calls: four encodes of DELAY_MS cannot finish faster than 4 x DELAY_MS.
    assert elapsed >= 4 * DELAY_MS / 1000 * 0.95, elapsed
    assert len(ping_latencies) >= 20, "pings must have run while the invocations were in flight"
    p50, p99 = statistics.median(ping_latencies), _percentile(ping_latencies, 0.99)
    # /ping never waits for the GPU lock: far below one encode, and far below SageMaker's 2 s.
    assert p99 < DELAY_MS / 2, (p50, p99, ping_latencies)
    print(f"/ping under load: p50={p50:.1f} ms p99={p99:.1f} ms over {len(ping_latencies)} pings; 4 invocations in {elapsed:.2f}s")


SLOW_MS = 150  # per encode: 32 serialised encodes keep the model busy for ~5 s


def _upload_distinct_images(s3, prefix: str, count: int) -> list[str]:
    from tests.conftest import BUCKET, fixture_image, png_bytes

    keys = []
    for i in range(count):
        key = f"inputs/{prefix}-{i}.png"
        s3.put_object(Bucket=BUCKET, Key=key, Body=png_bytes(fixture_image((20 + i, 24))))
        keys.append(key)
    return keys


def test_ping_p99_stays_under_100ms_with_32_slow_invocations_in_flight(make_server, s3):
    """Issue 13 item 8: /ping has a path no invocation can occupy (the default concurrency holds 32).

    32 clients keep slow invocations in flight back to back; once all 32 are in, /ping is timed
    for 3 s from its own process (tests/support/ping_probe.py), so the clients and moto, which
    share this process's GIL, are not measured along with the server. The arrival burst itself
    (32 downloads and decodes at once) is CPU contention on this 2-core machine, not queueing,
    and is left out of the timing.
    """
    import json
    import subprocess
    import sys

    from tests.conftest import CONTAINER_DIR

    srv = make_server(GEN3D_TEST_DELAY_MS=SLOW_MS)
    keys = iter(_upload_distinct_images(s3, "inflight32", 100))
    keys_lock = threading.Lock()
    stop = threading.Event()
    statuses: list[int] = []

    def client() -> None:
        while not stop.is_set():
            with keys_lock:
                key = next(keys, None)
            if key is None:
                return
            statuses.append(srv.invoke({"task": "get_embedding", "image_s3_key": key}, timeout=120).status_code)

    threads = [threading.Thread(target=client) for _ in range(32)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            in_flight = srv.ping(timeout=30).json().get("in_flight")
            if in_flight is None or in_flight >= 32:  # None: a server that does not count (the old one)
                break
            time.sleep(0.02)
        time.sleep(0.5)  # past the arrival burst
        probe = subprocess.run(
            [sys.executable, "-m", "tests.support.ping_probe", srv.url, "3"],
            cwd=CONTAINER_DIR, capture_output=True, text=True, timeout=120, check=True,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    pings = json.loads(probe.stdout)
    latencies = pings["latencies_ms"]

    assert set(statuses) == {200}, "the server holds 32 invocations at once without refusing any"
    assert set(pings["statuses"]) == {200}
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    print(f"/ping with 32 in flight: p50={p50:.1f} ms p99={p99:.1f} ms over {len(latencies)} pings")
    assert p99 < 100, (p50, p99, sorted(latencies)[-5:])
    assert len(latencies) >= 50
    assert min(pings["in_flight"]) >= 28, f"32 invocations were not kept in flight: {pings['in_flight']}"
    assert not [line for line in srv.log_lines() if "Connection pool is full" in line], "one S3 connection per slot"


def test_invocations_over_max_concurrency_get_a_fast_503_naming_the_limit(make_server, s3):
    srv = make_server(GEN3D_TEST_DELAY_MS=700, GEN3D_MAX_CONCURRENCY=2)
    assert srv.ping().json()["max_concurrency"] == 2
    keys = _upload_distinct_images(s3, "admission", 4)
    results: list[tuple[int, dict, float]] = []

    def invoke(key: str) -> None:
        t0 = time.perf_counter()
        response = srv.invoke({"task": "get_embedding", "image_s3_key": key}, timeout=60)
        results.append((response.status_code, response.json(), time.perf_counter() - t0))

    threads = [threading.Thread(target=invoke, args=(key,)) for key in keys[:2]]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while srv.ping().json()["in_flight"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    extra = [threading.Thread(target=invoke, args=(key,)) for key in keys[2:]]
    for thread in extra:
        thread.start()
    for thread in threads + extra:
        thread.join()

    busy = [(body, seconds) for status, body, seconds in results if status == 503]
    assert sorted(status for status, _, _ in results) == [200, 200, 503, 503], results
    for body, seconds in busy:
        assert body["error"]["code"] == "server_busy"
        assert "GEN3D_MAX_CONCURRENCY" in body["error"]["message"] and "2" in body["error"]["message"]
        assert seconds < 0.5, "a refused invocation is answered at once, not after the busy ones"
    assert srv.ping().json()["in_flight"] == 0
