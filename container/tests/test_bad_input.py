"""Every class of bad input gets a 4xx that names the problem, and /ping stays 200."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BUCKET

SEG = {"task": "segment", "image_s3_key": "inputs/photo.png", "prompt_type": "point", "point": [3, 4]}
G3D = {"task": "generate_3d", "image_s3_key": "inputs/photo.png", "mask_s3_key": "inputs/mask.png"}

CASES = [
    # (id, payload, status, code, field, text the message must contain)
    ("not-json", b"{not json", 400, "invalid_json", None, "not valid JSON"),
    ("empty-body", b"", 400, "invalid_json", None, "empty"),
    ("nan-literal", b'{"task": "segment", "point": [NaN, 1]}', 400, "invalid_json", None, "NaN"),
    ("json-array", [1, 2], 400, "invalid_request", None, "JSON object"),
    ("no-task", {"image_s3_key": "inputs/photo.png"}, 400, "invalid_request", "task", "task"),
    ("unknown-task", {"task": "explode", "image_s3_key": "inputs/photo.png"}, 400, "unknown_task", "task", "explode"),
    ("task-not-string", {"task": 7}, 400, "unknown_task", "task", "task"),
    ("missing-key", {"task": "get_embedding"}, 400, "invalid_request", "image_s3_key", "image_s3_key"),
    ("extra-field", {**SEG, "promt_type": "box"}, 400, "invalid_request", "promt_type", "promt_type"),
    ("bad-prompt-type", {**SEG, "prompt_type": "lasso"}, 400, "invalid_request", "prompt_type", "prompt_type"),
    ("point-missing", {k: v for k, v in SEG.items() if k != "point"}, 400, "invalid_request", "point", "point"),
    ("point-wrong-arity", {**SEG, "point": [1, 2, 3]}, 400, "invalid_request", "point", "point"),
    ("point-negative", {**SEG, "point": [-1, 2]}, 400, "invalid_request", "point", "point"),
    ("point-string", {**SEG, "point": ["a", 2]}, 400, "invalid_request", "point", "point"),
    ("point-label", {**SEG, "point_label": 5}, 400, "invalid_request", "point_label", "point_label"),
    ("box-missing", {**SEG, "prompt_type": "box", "point": None}, 400, "invalid_request", "box", "box"),
    ("box-inverted", {"task": "segment", "image_s3_key": "inputs/photo.png", "prompt_type": "box", "box": [50, 50, 10, 10]}, 400, "invalid_request", "box", "x2 > x1"),
    ("bad-session", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "session_id": "../../etc"}, 400, "invalid_request", "session_id", "session_id"),
    ("bad-bucket-name", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": "Not_A_Bucket"}, 400, "invalid_request", "bucket", "bucket"),
    ("bucket-not-allowed", {"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": "someone-elses-bucket"}, 403, "bucket_not_allowed", "bucket", "someone-elses-bucket"),
    ("traversal", {"task": "get_embedding", "image_s3_key": "inputs/../private/photo.png"}, 400, "invalid_s3_key", "image_s3_key", ".."),
    ("absolute-key", {"task": "get_embedding", "image_s3_key": "/inputs/photo.png"}, 400, "invalid_s3_key", "image_s3_key", "/"),
    ("outside-prefix", {"task": "get_embedding", "image_s3_key": "private/photo.png"}, 403, "s3_key_not_allowed", "image_s3_key", "private/photo.png"),
    ("control-char", {"task": "get_embedding", "image_s3_key": "inputs/a\nb.png"}, 400, "invalid_s3_key", "image_s3_key", "control"),
    ("mask-outside-prefix", {**G3D, "mask_s3_key": "private/photo.png"}, 403, "s3_key_not_allowed", "mask_s3_key", "private/photo.png"),
    ("missing-object", {"task": "get_embedding", "image_s3_key": "inputs/does-not-exist.png"}, 404, "s3_object_not_found", "image_s3_key", "inputs/does-not-exist.png"),
    ("missing-mask", {**G3D, "mask_s3_key": "inputs/no-mask.png"}, 404, "s3_object_not_found", "mask_s3_key", "inputs/no-mask.png"),
    ("garbage-image", {"task": "get_embedding", "image_s3_key": "inputs/garbage.png"}, 400, "invalid_image", "image_s3_key", "inputs/garbage.png"),
    ("truncated-image", {"task": "get_embedding", "image_s3_key": "inputs/truncated.png"}, 400, "invalid_image", "image_s3_key", "inputs/truncated.png"),
    ("gif-not-accepted", {"task": "get_embedding", "image_s3_key": "inputs/animated.gif"}, 400, "invalid_image", "image_s3_key", "accepted format"),
    ("multi-frame", {"task": "get_embedding", "image_s3_key": "inputs/multipage.tiff"}, 400, "invalid_image", "image_s3_key", "frames"),
    ("decompression-bomb", {"task": "get_embedding", "image_s3_key": "inputs/bomb.png"}, 413, "image_too_large", "image_s3_key", "decompression bomb"),
    ("too-many-pixels", {"task": "get_embedding", "image_s3_key": "inputs/big-pixels.png"}, 413, "image_too_large", "image_s3_key", "8000x6000"),
    ("oversized-object", {"task": "get_embedding", "image_s3_key": "inputs/huge.png"}, 413, "s3_object_too_large", "image_s3_key", "inputs/huge.png"),
    ("mask-wrong-size", {**G3D, "mask_s3_key": "inputs/mask-wrong-size.png"}, 400, "invalid_mask", "mask_s3_key", "10x10"),
    ("mask-empty", {**G3D, "mask_s3_key": "inputs/mask-empty.png"}, 400, "invalid_mask", "mask_s3_key", "empty"),
    ("mask-garbage", {**G3D, "mask_s3_key": "inputs/garbage.png"}, 400, "invalid_image", "mask_s3_key", "inputs/garbage.png"),
    ("no-formats", {**G3D, "output_formats": []}, 400, "invalid_request", "output_formats", "output_formats"),
    ("bad-format", {**G3D, "output_formats": ["obj"]}, 400, "invalid_request", "output_formats", "output_formats"),
    ("seed-negative", {**G3D, "seed": -1}, 400, "invalid_request", "seed", "seed"),
    # issue 13 item 10: strict number types, and prompts checked against the image (97 x 61 px)
    ("point-bool-and-string", {**SEG, "point": [True, "12"]}, 400, "invalid_request", "point", "number"),
    ("point-bool", {**SEG, "point": [3, False]}, 400, "invalid_request", "point", "number"),
    ("box-string", {"task": "segment", "image_s3_key": "inputs/photo.png", "prompt_type": "box", "box": ["10", 5, 60, 40]}, 400, "invalid_request", "box", "number"),
    ("point-label-bool", {**SEG, "point_label": True}, 400, "invalid_request", "point_label", "point_label"),
    ("seed-string", {**G3D, "seed": "7"}, 400, "invalid_request", "seed", "seed"),
    ("point-right-of-image", {**SEG, "point": [98, 10]}, 400, "prompt_outside_image", "point", "97 x 61"),
    ("point-below-image", {**SEG, "point": [10, 61.5]}, 400, "prompt_outside_image", "point", "97 x 61"),
    ("box-outside-image", {"task": "segment", "image_s3_key": "inputs/photo.png", "prompt_type": "box", "box": [10, 5, 60, 70]}, 400, "prompt_outside_image", "box", "97 x 61"),
]


@pytest.mark.parametrize("case_id,payload,status,code,field,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_named_4xx_and_ping_survives(server, case_id, payload, status, code, field, needle):
    response = server.invoke(payload, headers={"Content-Type": "application/json"} if isinstance(payload, bytes) else None)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert needle.lower() in body["error"]["message"].lower(), body["error"]["message"]
    if field is None:
        assert "field" not in body["error"]
    else:
        assert body["error"]["field"] == field
    assert "error_id" not in body["error"]  # ids are for 5xx only
    assert server.ping().status_code == 200


def test_oversized_request_body_is_413(server):
    response = server.invoke(b"{" + b" " * (2 << 20) + b"}", headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "1048576 bytes" in response.json()["error"]["message"], "the 413 states the limit"
    assert server.ping().status_code == 200


def _chunks(data: bytes, size: int = 64 << 10):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_body_over_the_limit_is_413_never_truncated_and_parsed(server):
    """Issue 13 item 11: no Content-Length; the first megabyte alone would be a valid request."""
    import requests

    valid = json.dumps({"task": "get_embedding", "image_s3_key": "inputs/photo.png", "session_id": "chunked-big"}).encode()
    body = valid + b" " * (2 << 20)
    response = requests.post(
        f"{server.url}/invocations", data=_chunks(body), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and "1048576 bytes" in error["message"]
    assert server.ping().status_code == 200


def test_chunked_body_under_the_limit_is_served(server):
    import requests

    body = json.dumps({"task": "get_embedding", "image_s3_key": "inputs/photo.png"}).encode() + b" " * 1000
    response = requests.post(f"{server.url}/invocations", data=_chunks(body, 100), timeout=30)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200, response.text


def test_malformed_chunked_body_is_a_4xx_not_a_500(server):
    import socket
    from urllib.parse import urlparse

    url = urlparse(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\n{\"a\":\r\nZZ\r\nnot a chunk size\r\n0\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.split()[1].startswith(b"4"), reply[:300]
    assert server.ping().status_code == 200


@pytest.mark.parametrize("key,content_type,kind", [("inputs/photo.png", "image/png", "PNG"), ("inputs/photo.jpg", "application/octet-stream", "JPEG")])
def test_raw_image_body_says_the_body_must_be_a_json_request_and_shows_it(server, fixtures, key, content_type, kind):
    """Issue 13 item 11: an image posted as the body is told what to send instead."""
    response = server.invoke(fixtures[key], headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    message = error["message"]
    assert kind in message and "JSON" in message
    assert '"task"' in message and '"image_s3_key"' in message, "the message shows the request's shape"
    assert server.ping().status_code == 200


def test_prompt_outside_the_image_names_the_prompt_and_the_image_size(server):
    """Issue 13 item 10: not a 200 with a meaningless mask."""
    response = server.invoke({**SEG, "point": [120, 10.5]})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "[120, 10.5]" in message and "97 x 61" in message and "inputs/photo.png" in message
    edge = server.invoke({**SEG, "point": [97, 61]})  # the far corner is still on the image
    assert edge.status_code == 200, edge.text


@pytest.mark.parametrize("method,path,status", [("GET", "/invocations", 405), ("POST", "/ping", 405), ("GET", "/nope", 404)])
def test_wrong_routes_answer_json(server, method, path, status):
    import requests

    response = requests.request(method, f"{server.url}{path}", timeout=5)
    assert response.status_code == status
    assert response.json()["status"] == "error"


def test_internal_fault_is_500_with_an_error_id_the_log_carries(server):
    from gen3d_serving.service import FAULT_INJECTION_SESSION

    response = server.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png", "session_id": FAULT_INJECTION_SESSION})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and len(error["error_id"]) == 16
    assert error["error_id"] in error["message"]
    records = [r for r in server.log_records() if r.get("error_id") == error["error_id"]]
    assert len(records) == 1, "exactly one log line carries the error id"
    assert records[0]["level"] == "ERROR" and records[0]["exc_type"] == "InjectedFault"
    assert any("service.py" in frame for frame in records[0]["stack"])
    assert server.ping().status_code == 200
    ok = server.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png", "session_id": "after-fault"})
    assert ok.status_code == 200


def test_each_invocation_logs_one_json_line(server):
    server.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png", "session_id": "log-check"})
    lines = [r for r in server.log_records() if r.get("msg") == "invocation" and r.get("session_id") == "log-check"]
    assert lines and lines[-1]["http_status"] == 200 and lines[-1]["task"] == "get_embedding"
    assert lines[-1]["duration_ms"] > 0


def test_content_type_is_not_required(server):
    body = json.dumps({"task": "get_embedding", "image_s3_key": "inputs/photo.png", "bucket": BUCKET})
    response = server.invoke(body.encode(), headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200, response.text


def test_hostile_strings_cannot_break_the_one_json_object_per_line_log(server):
    nasty = "a\u2028b\u0085c\r\nd\x1c" + "x" * 5000
    response = server.invoke({"task": nasty, "image_s3_key": "inputs/photo.png", "session_id": nasty})
    assert response.status_code == 400
    records = server.log_records()  # json.loads per line: fails if a record was split
    logged = [r for r in records if r.get("msg") == "invocation" and isinstance(r.get("task"), str) and r["task"].startswith("a\u2028b")]
    assert logged and len(logged[-1]["task"]) == 64 and len(logged[-1]["session_id"]) == 128
    assert server.ping().status_code == 200
