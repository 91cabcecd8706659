"""The HTTP contract, through a real gunicorn process and moto S3, with the test backend."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BUCKET, IMAGE_SIZE, OTHER_BUCKET, get_object
from tests.support.parsers import read_glb, read_ply, read_png_mask


def test_ping_reports_ready_backend_and_tasks(server):
    response = server.ping()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["backend"] == "test"
    assert body["tasks"] == ["get_embedding", "segment", "generate_3d"]


def test_get_embedding_writes_embedding_and_caches_it(server, s3):
    payload = {"task": "get_embedding", "image_s3_key": "inputs/second.png", "bucket": BUCKET, "session_id": "emb-1"}
    first = server.invoke(payload)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "success" and body["task"] == "get_embedding" and body["session_id"] == "emb-1"
    assert body["embedding_shape"] == [1, 3, 16, 16]
    assert body["cached"] is False and body["cache_source"] is None
    assert body["embedding_s3_key"].startswith("embeddings/")
    assert body["timing_ms"]["total"] > 0 and "encode" in body["timing_ms"]
    assert len(get_object(s3, body["embedding_s3_key"])) > 0

    second = server.invoke(payload).json()
    assert second["cached"] is True and second["cache_source"] == "memory"
    assert "encode" not in second["timing_ms"]
    assert second["embedding_s3_key"] == body["embedding_s3_key"]


def test_second_instance_reuses_the_s3_embedding(server, make_server):
    payload = {"task": "get_embedding", "image_s3_key": "inputs/photo.jpg", "session_id": "emb-2"}
    assert server.invoke(payload).json()["cached"] is False
    other = make_server()  # a fresh process: empty memory cache, same bucket
    body = other.invoke(payload).json()
    assert body["cached"] is True and body["cache_source"] == "s3", body


@pytest.mark.parametrize(
    "prompt",
    [
        {"prompt_type": "point", "point": [30, 20], "point_label": 1},
        {"prompt_type": "point", "point": [30, 20], "point_label": 0},
        {"prompt_type": "box", "box": [10, 5, 60, 40]},
    ],
)
def test_segment_writes_png_mask_of_the_image_size(server, s3, prompt):
    payload = {"task": "segment", "image_s3_key": "inputs/photo.png", "session_id": "seg-1", **prompt}
    response = server.invoke(payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["task"] == "segment" and body["session_id"] == "seg-1"
    assert body["mask_size"] == list(IMAGE_SIZE)
    assert 0.0 <= body["confidence_score"] <= 1.0
    assert isinstance(body["embedding_cached"], bool)
    assert body["mask_s3_key"].startswith("outputs/seg-1/") and body["mask_s3_key"].endswith(".png")
    mask = read_png_mask(get_object(s3, body["mask_s3_key"]))
    assert mask.shape == IMAGE_SIZE
    assert set(np.unique(mask)) <= {0, 255}
    assert int((mask > 0).sum()) == body["mask_area"] > 0
    if prompt["prompt_type"] == "box":
        x1, y1, x2, y2 = prompt["box"]
        inside = mask[y1:y2, x1:x2]
        assert inside.all() and int((mask > 0).sum()) == inside.size
    else:
        x, y = prompt["point"]
        assert bool(mask[y, x]) == (prompt["point_label"] == 1)


def test_segment_reuses_the_embedding_from_get_embedding(server):
    key = {"image_s3_key": "inputs/photo.png", "bucket": OTHER_BUCKET}
    server.invoke({"task": "get_embedding", **key})
    body = server.invoke({"task": "segment", "prompt_type": "point", "point": [5, 5], **key}).json()
    assert body["embedding_cached"] is True
    assert "encode" not in body["timing_ms"]


def test_session_id_is_generated_when_absent(server):
    body = server.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png"}).json()
    assert body["status"] == "success" and len(body["session_id"]) == 32


def test_generate_3d_writes_parseable_ply_and_glb(server, s3):
    segment = server.invoke(
        {"task": "segment", "image_s3_key": "inputs/photo.png", "session_id": "g3d", "prompt_type": "box", "box": [20, 10, 70, 50]}
    ).json()
    response = server.invoke(
        {"task": "generate_3d", "image_s3_key": "inputs/photo.png", "mask_s3_key": segment["mask_s3_key"], "session_id": "g3d"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["task"] == "generate_3d" and body["session_id"] == "g3d"
    assert set(body["asset_s3_keys"]) == {"ply", "glb"}
    assert body["timing_ms"]["total"] > 0
    splat = read_ply(get_object(s3, body["asset_s3_keys"]["ply"]))
    assert len(splat["x"]) == 50 * 40  # one Gaussian per mask pixel (under the 4096 cap)
    assert {"f_dc_0", "opacity", "scale_0", "rot_0"} <= set(splat)
    mesh = read_glb(get_object(s3, body["asset_s3_keys"]["glb"]))
    assert len(mesh["positions"]) == 8 and len(mesh["indices"]) == 36


def test_generate_3d_is_deterministic_and_honours_formats(server, s3):
    payload = {"task": "generate_3d", "image_s3_key": "inputs/photo.png", "mask_s3_key": "inputs/mask.png", "seed": 7, "output_formats": ["ply"]}
    first = server.invoke({**payload, "session_id": "det-a"}).json()
    second = server.invoke({**payload, "session_id": "det-b"}).json()
    assert set(first["asset_s3_keys"]) == {"ply"}
    assert get_object(s3, first["asset_s3_keys"]["ply"]) == get_object(s3, second["asset_s3_keys"]["ply"])


@pytest.mark.parametrize("args", [(), ("serve",)])
def test_server_starts_with_and_without_the_serve_argument(make_server, args):
    srv = make_server(args=args)
    assert srv.ping().status_code == 200
    assert srv.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png"}).status_code == 200


def test_container_without_the_segment_task(make_server):
    srv = make_server(GEN3D_DISABLED_TASKS="segment")
    assert srv.ping().json()["tasks"] == ["get_embedding", "generate_3d"]
    response = srv.invoke({"task": "segment", "image_s3_key": "inputs/photo.png", "prompt_type": "point", "point": [1, 1]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "task_not_available" and response.json()["error"]["field"] == "task"
    assert srv.invoke({"task": "get_embedding", "image_s3_key": "inputs/photo.png"}).status_code == 200


def test_3d_disabled_needs_no_sam3d_weights(make_server, tmp_path):
    from tests.support.tiny_sam3 import write_test_backend_models
    import shutil

    models = write_test_backend_models(tmp_path / "models")
    shutil.rmtree(models / "sam3d")
    srv = make_server(models=models, GEN3D_ENABLE_3D="false")
    assert srv.ping().json()["tasks"] == ["get_embedding", "segment"]
    response = srv.invoke({"task": "generate_3d", "image_s3_key": "inputs/photo.png", "mask_s3_key": "inputs/mask.png"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "task_not_available"


def test_corrupt_cached_embedding_in_s3_is_recomputed(server, make_server, s3):
    from tests.conftest import fixture_image, png_bytes

    s3.put_object(Bucket=BUCKET, Key="inputs/corrupt-cache.png", Body=png_bytes(fixture_image((21, 34))))
    payload = {"task": "get_embedding", "image_s3_key": "inputs/corrupt-cache.png"}
    key = server.invoke(payload).json()["embedding_s3_key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"definitely not an npz")
    other = make_server()
    body = other.invoke(payload).json()
    assert body["status"] == "success" and body["cached"] is False
    assert get_object(s3, key) != b"definitely not an npz", "the bad cache entry was replaced"
    warnings = [r for r in other.log_records() if r.get("msg") == "ignoring unusable cached embedding"]
    assert warnings and warnings[0]["s3_key"] == key


def test_memory_cache_hit_in_one_bucket_never_returns_a_key_that_exists_only_in_another(server, s3):
    """Issue 13 item 9: the same image in two buckets; each response's embedding key exists in its bucket."""
    from tests.conftest import fixture_image, png_bytes

    image = png_bytes(fixture_image((29, 31)))  # bytes no other test uses: nothing cached yet
    for bucket in (BUCKET, OTHER_BUCKET):
        s3.put_object(Bucket=bucket, Key="inputs/two-buckets.png", Body=image)
    payload = {"task": "get_embedding", "image_s3_key": "inputs/two-buckets.png"}

    first = server.invoke({**payload, "bucket": BUCKET}).json()
    assert first["cached"] is False and first["bucket"] == BUCKET
    second = server.invoke({**payload, "bucket": OTHER_BUCKET}).json()
    assert second["status"] == "success" and second["bucket"] == OTHER_BUCKET
    assert len(get_object(s3, second["embedding_s3_key"], bucket=OTHER_BUCKET)) > 0, "the key exists in the requested bucket"
    third = server.invoke({**payload, "bucket": OTHER_BUCKET}).json()
    assert third["cached"] is True and third["cache_source"] == "memory"
    assert len(get_object(s3, third["embedding_s3_key"], bucket=OTHER_BUCKET)) > 0
