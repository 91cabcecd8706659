"""Issue 13 item 12: an invocation past GEN3D_INVOCATION_TIMEOUT_SECONDS is abandoned at its
next step, the model lock goes to the next request, and the log names the abandoned request."""

from __future__ import annotations

import threading
import time

from tests.conftest import BUCKET, fixture_image, png_bytes

DELAY_MS = 2000  # one simulated encode: longer than the 1 s timeout


def test_request_past_its_timeout_is_abandoned_and_releases_the_model(make_server, s3):
    srv = make_server(GEN3D_TEST_DELAY_MS=DELAY_MS, GEN3D_INVOCATION_TIMEOUT_SECONDS="1")
    for name, size in (("timeout-a", (23, 19)), ("timeout-b", (23, 21))):
        s3.put_object(Bucket=BUCKET, Key=f"inputs/{name}.png", Body=png_bytes(fixture_image(size)))
    results: dict[str, tuple[int, dict, float]] = {}

    def invoke(name: str) -> None:
        response = srv.invoke({"task": "get_embedding", "image_s3_key": f"inputs/{name}.png", "session_id": name}, timeout=30)
        results[name] = (response.status_code, response.json(), time.monotonic())

    first = threading.Thread(target=invoke, args=("timeout-a",))
    first.start()
    deadline = time.monotonic() + 10
    while srv.ping().json()["in_flight"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # a is inside its encode, holding the model
    second = threading.Thread(target=invoke, args=("timeout-b",))
    second.start()
    first.join()
    second.join()

    # a: its encode ran past the deadline; the step after it (the S3 write) is not started.
    status_a, body_a, _ = results["timeout-a"]
    assert status_a == 504 and body_a["error"]["code"] == "invocation_timeout", body_a
    assert "GEN3D_INVOCATION_TIMEOUT_SECONDS" in body_a["error"]["message"]
    # b: gave up waiting for the model when its own second was over, before a finished.
    status_b, body_b, finished_b = results["timeout-b"]
    assert status_b == 504 and body_b["error"]["code"] == "invocation_timeout", body_b
    assert finished_b < results["timeout-a"][2], "b did not wait behind a's whole encode"

    # The model is free again: the next request runs its encode at once. (a's embedding was not
    # kept: an abandoned request stores nothing.) A per-request timeout header overrides the env.
    started = time.monotonic()
    ok = srv.invoke(
        {"task": "get_embedding", "image_s3_key": "inputs/timeout-a.png", "session_id": "timeout-c"},
        headers={"X-Amzn-SageMaker-InvocationTimeoutSeconds": "20"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["cached"] is False
    assert time.monotonic() - started < DELAY_MS / 1000 + 1.0

    abandoned = {r["session_id"]: r for r in srv.log_records() if r.get("msg") == "invocation abandoned"}
    assert set(abandoned) == {"timeout-a", "timeout-b"}, abandoned  # c was not
    assert abandoned["timeout-a"]["step"] == "embedding_s3_write"
    assert abandoned["timeout-b"]["step"] == "wait_for_model"
    for record in abandoned.values():
        assert record["task"] == "get_embedding" and record["timeout_s"] == 1.0 and record["level"] == "WARNING"
        assert record["request_id"] and record["elapsed_ms"] >= 1000
