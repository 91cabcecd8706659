"""Hypothesis-generated payloads against the live server: never a 5xx, /ping always 200.

The only 5xx allowed anywhere is the deliberately injected fault (its session id is
excluded from generation here and tested on its own in test_bad_input.py).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gen3d_serving.service import FAULT_INJECTION_SESSION

KEYS = st.sampled_from(
    [
        "inputs/photo.png", "inputs/photo.jpg", "inputs/garbage.png", "inputs/bomb.png", "inputs/missing.png",
        "inputs/../photo.png", "/etc/passwd", "private/photo.png", "inputs//photo.png", "inputs/mask.png",
        "inputs/mask-empty.png", "", "inputs/" + "a" * 1100, "inputs/ünïcode.png", "inputs/a\x00b",
    ]
) | st.text(max_size=40)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
NUMBER = st.integers(min_value=-10, max_value=2000) | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e7)
SESSION = st.none() | st.text(max_size=140).filter(lambda s: s != FAULT_INJECTION_SESSION)


@st.composite
def payloads(draw):
    base = {
        "task": draw(st.sampled_from(["get_embedding", "segment", "generate_3d"]) | st.text(max_size=12) | JSONISH),
        "image_s3_key": draw(KEYS | JSONISH),
    }
    optional = {
        "bucket": st.sampled_from(["gen3d-test-bucket", "gen3d-other-bucket", "nope-bucket", "UPPER"]) | JSONISH,
        "session_id": SESSION,
        "prompt_type": st.sampled_from(["point", "box", "lasso"]) | JSONISH,
        "point": st.lists(NUMBER, min_size=0, max_size=3) | JSONISH,
        "point_label": st.sampled_from([0, 1, 2, -1, "1", True]) | JSONISH,
        "box": st.lists(NUMBER, min_size=0, max_size=5) | JSONISH,
        "mask_s3_key": KEYS | JSONISH,
        "seed": NUMBER | JSONISH,
        "output_formats": st.lists(st.sampled_from(["ply", "glb", "obj"]), max_size=3) | JSONISH,
        "unexpected": JSONISH,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            base[name] = draw(strategy)
    if draw(st.integers(0, 9)) == 0:
        del base["task"]
    return base


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=payloads())
def test_generated_payloads_never_cause_a_5xx(server, payload):
    if payload.get("session_id") == FAULT_INJECTION_SESSION:
        return
    response = server.invoke(json.dumps(payload).encode(), timeout=30)
    assert response.status_code < 500, (payload, response.text)
    body = response.json()
    assert body["status"] in ("success", "error")
    if body["status"] == "error":
        assert body["error"]["code"] and body["error"]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_cause_a_5xx(server, raw):
    response = server.invoke(raw, timeout=30, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (raw, response.text)


def test_ping_is_still_healthy_after_fuzzing(server):
    assert server.ping().status_code == 200
    assert server.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png"}).status_code == 200
