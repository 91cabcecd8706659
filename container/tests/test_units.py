"""Unit tests of the pure parts: settings, key policy, cache, image limits, asset writers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from gen3d_serving.cache import EmbeddingCache
from gen3d_serving.config import ConfigError, Settings
from gen3d_serving.errors import ApiError, BucketNotAllowed, InvalidKey, KeyNotAllowed
from gen3d_serving.images import ImageLimits, decode_image, encode_mask_png
from gen3d_serving.storage import KeyPolicy
from tests.support.parsers import read_glb, read_ply


def test_default_backend_is_the_real_model_never_the_test_backend():
    settings = Settings.from_env({})
    assert settings.backend == "sam3"
    assert settings.port == 8080 and settings.bind_host == "0.0.0.0"
    assert str(settings.model_dir) == "/opt/gen3d/models"
    assert settings.enabled_tasks == ("get_embedding", "segment", "generate_3d")


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"GEN3D_BACKEND": "fake"}, "GEN3D_BACKEND"),
        ({"GEN3D_DISABLED_TASKS": "segmnet"}, "GEN3D_DISABLED_TASKS"),
        ({"GEN3D_ENABLE_3D": "maybe"}, "GEN3D_ENABLE_3D"),
        ({"GEN3D_INPUT_PREFIX": "../x"}, "GEN3D_INPUT_PREFIX"),
        ({"GEN3D_OUTPUT_PREFIX": "/abs"}, "GEN3D_OUTPUT_PREFIX"),
        ({"SAGEMAKER_BIND_TO_PORT": "http"}, "SAGEMAKER_BIND_TO_PORT"),
        ({"SAGEMAKER_BIND_TO_PORT": "70000"}, "SAGEMAKER_BIND_TO_PORT"),
        ({"GEN3D_DTYPE": "int8"}, "GEN3D_DTYPE"),
        ({"GEN3D_DISABLED_TASKS": "get_embedding,segment", "GEN3D_ENABLE_3D": "0"}, "disabled"),
        ({"GEN3D_MAX_CONCURRENCY": "0"}, "GEN3D_MAX_CONCURRENCY"),
        ({"GEN3D_MAX_CONCURRENCY": "1000"}, "GEN3D_MAX_CONCURRENCY"),
        ({"GEN3D_THREADS": "8"}, "GEN3D_MAX_CONCURRENCY"),
        ({"GEN3D_INVOCATION_TIMEOUT_SECONDS": "soon"}, "GEN3D_INVOCATION_TIMEOUT_SECONDS"),
        ({"GEN3D_INVOCATION_TIMEOUT_SECONDS": "0"}, "GEN3D_INVOCATION_TIMEOUT_SECONDS"),
    ],
)
def test_bad_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_prefixes_are_normalised():
    settings = Settings.from_env({"GEN3D_INPUT_PREFIX": "in", "GEN3D_OUTPUT_PREFIX": "", "GEN3D_ALLOWED_BUCKETS": " a-b , c-d "})
    assert settings.input_prefix == "in/" and settings.output_prefix == ""
    assert settings.allowed_buckets == ("a-b", "c-d")


POLICY = KeyPolicy(allowed_buckets=("bkt-a", "bkt-b"), input_prefix="inputs/", output_prefix="outputs/", embeddings_prefix="emb/")


def test_bucket_allow_list():
    assert POLICY.bucket(None) == "bkt-a"
    assert POLICY.bucket("bkt-b") == "bkt-b"
    with pytest.raises(BucketNotAllowed):
        POLICY.bucket("bkt-c")
    with pytest.raises(BucketNotAllowed, match="GEN3D_ALLOWED_BUCKETS"):
        KeyPolicy((), "", "", "").bucket(None)


@pytest.mark.parametrize("key", ["inputs/../x", "inputs/./x", "/inputs/x", "inputs//x", "inputs\\x", "inputs/\x01", "inputs/x/.."])
def test_malformed_keys_are_rejected(key):
    with pytest.raises(InvalidKey):
        POLICY.readable_key(key, "image_s3_key")


@given(st.text(min_size=1, max_size=60))
def test_any_accepted_key_is_under_the_prefix_without_traversal(key):
    try:
        accepted = POLICY.readable_key(key, "image_s3_key")
    except (InvalidKey, KeyNotAllowed):
        return
    assert accepted.startswith("inputs/")
    assert ".." not in accepted.split("/") and not accepted.startswith("/")


@given(st.lists(st.sampled_from(["inputs", "..", ".", "", "x", "outputs"]), min_size=1, max_size=6))
def test_traversal_never_escapes_the_prefix(parts):
    key = "/".join(parts)
    try:
        POLICY.readable_key(key, "image_s3_key")
    except ApiError:
        return
    assert parts[0] == "inputs" and all(p not in ("..", ".", "") for p in parts)


def test_cache_evicts_least_recently_used_by_count_and_bytes():
    cache = EmbeddingCache(max_bytes=100, max_entries=2)
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    assert cache.get("a") == 1  # a is now most recent
    cache.put("c", 3, 10)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    cache.put("big", 4, 95)
    assert len(cache) == 1 and cache.size_bytes == 95
    cache.put("too-big", 5, 101)
    assert cache.get("too-big") is None


LIMITS = ImageLimits(max_bytes=1 << 20, max_pixels=10_000, max_side=200)


def _png(size, mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_limits_apply_before_decoding():
    assert decode_image(_png((100, 100)), LIMITS, key="k").size == (100, 100)
    for size in [(101, 100), (201, 1), (1, 201)]:
        with pytest.raises(ApiError) as info:
            decode_image(_png(size), LIMITS, key="k")
        assert info.value.status == 413


def test_mask_png_round_trip():
    mask = np.zeros((7, 11), dtype=bool)
    mask[2:5, 3:9] = True
    image = Image.open(io.BytesIO(encode_mask_png(mask)))
    assert image.format == "PNG" and image.mode == "L" and image.size == (11, 7)
    assert np.array_equal(np.asarray(image) > 0, mask)


def test_asset_writers_produce_parseable_files():
    from gen3d_serving.assets import gaussian_splat_ply, mesh_glb

    xyz = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    ply = read_ply(gaussian_splat_ply(xyz, np.full((5, 3), 0.5, np.float32)))
    assert np.allclose(ply["x"], xyz[:, 0]) and np.allclose(ply["f_dc_0"], 0.0)
    glb = read_glb(mesh_glb(np.eye(3, dtype=np.float32), np.array([0, 1, 2], dtype=np.uint32)))
    assert glb["indices"].tolist() == [0, 1, 2]


def test_concurrency_settings_and_their_defaults():
    from gen3d_serving.config import DEFAULT_MAX_CONCURRENCY, RESERVED_THREADS

    default = Settings.from_env({})
    assert default.max_concurrency == DEFAULT_MAX_CONCURRENCY == 32
    assert default.threads == 32 + RESERVED_THREADS, "the worker keeps threads no invocation can take"
    assert default.invocation_timeout_s == 900.0
    custom = Settings.from_env({"GEN3D_MAX_CONCURRENCY": "3", "GEN3D_INVOCATION_TIMEOUT_SECONDS": "2.5"})
    assert (custom.max_concurrency, custom.threads, custom.invocation_timeout_s) == (3, 3 + RESERVED_THREADS, 2.5)


def test_model_lock_is_first_come_first_served_and_waiters_give_up_at_their_deadline():
    import threading
    import time

    from gen3d_serving.concurrency import ModelLock

    lock = ModelLock()
    assert lock.acquire(timeout=0)
    assert lock.acquire(timeout=0.05) is False, "a waiter gives up when its time is over"
    order: list[int] = []

    def waiter(i: int) -> None:
        with lock:
            order.append(i)

    threads = []
    for i in range(5):
        thread = threading.Thread(target=waiter, args=(i,))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # queue them in a known order
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(timeout=0), "a timed-out waiter leaves nothing behind"
    lock.release()


def test_inference_slots_refuse_beyond_the_limit():
    from gen3d_serving.concurrency import InferenceSlots

    slots = InferenceSlots(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire() and slots.in_flight == 2
    slots.release()
    assert slots.try_acquire() and slots.in_flight == 2
