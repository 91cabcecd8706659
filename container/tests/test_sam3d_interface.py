"""SAM 3D Objects at its interface.

sam-3d-objects needs a CUDA GPU with >= 32 GB and CUDA-only packages, so it cannot run
here. These tests put a stand-in with the documented `Inference` signature in its place
and check what the backend hands it and what it makes of the output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gen3d_serving.backends.sam3d import Sam3dObjectsBackend, Sam3dUnavailable
from gen3d_serving.config import Settings
from gen3d_serving.service import InferenceService
from gen3d_serving.storage import MemoryStorage
from tests.conftest import fixture_image, png_bytes


class FakeGaussians:
    def __init__(self, calls):
        self.calls = calls

    def save_ply(self, path):
        self.calls.append(("save_ply", path))
        Path(path).write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 0\nend_header\n")


class FakeMesh:
    def __init__(self, calls):
        self.calls = calls

    def export(self, path):
        self.calls.append(("export", path))
        Path(path).write_bytes(b"glTF-bytes")


def make_inference_cls(calls, with_glb=True):
    class FakeInference:
        def __init__(self, config_file, compile=False):
            calls.append(("init", config_file, compile))

        def __call__(self, image, mask, seed=None):
            calls.append(("call", image, mask, seed))
            out = {"gs": FakeGaussians(calls)}
            if with_glb:
                out["glb"] = FakeMesh(calls)
            return out

    return FakeInference


def test_load_passes_the_pipeline_yaml_and_no_compile(tmp_path):
    calls = []
    Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls(calls), check_gpu=False)
    assert calls == [("init", str(tmp_path / "pipeline.yaml"), False)]


def test_reconstruct_calls_inference_with_uint8_rgb_and_bool_mask(tmp_path):
    calls = []
    backend = Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls(calls), check_gpu=False)
    image = np.asarray(fixture_image(), dtype=np.uint8)
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[5:20, 5:30] = True
    files = backend.reconstruct(image, mask, seed=9, formats=("ply", "glb"))
    _, got_image, got_mask, seed = calls[1]
    assert got_image is image and got_mask is mask and seed == 9
    assert files["ply"].startswith(b"ply\n") and files["glb"] == b"glTF-bytes"
    assert [c[0] for c in calls[2:]] == ["save_ply", "export"]


def test_missing_mesh_output_is_an_error_not_an_empty_asset(tmp_path):
    backend = Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls([], with_glb=False), check_gpu=False)
    image = np.asarray(fixture_image(), dtype=np.uint8)
    mask = np.ones(image.shape[:2], dtype=bool)
    assert set(backend.reconstruct(image, mask, seed=1, formats=("ply",))) == {"ply"}
    with pytest.raises(RuntimeError, match="glb"):
        backend.reconstruct(image, mask, seed=1, formats=("glb",))


def test_wrong_array_types_are_rejected_before_the_model(tmp_path):
    calls = []
    backend = Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls(calls), check_gpu=False)
    image = np.asarray(fixture_image(), dtype=np.uint8)
    with pytest.raises(ValueError):
        backend.reconstruct(image.astype(np.float32), np.ones(image.shape[:2], bool), seed=1, formats=("ply",))
    with pytest.raises(ValueError):
        backend.reconstruct(image, np.ones((3, 3), bool), seed=1, formats=("ply",))
    assert len(calls) == 1  # only the constructor ran


def test_without_cuda_loading_refuses_with_a_clear_message(tmp_path):
    import torch

    if torch.cuda.is_available():  # a GPU box: the check passes instead, which is also correct
        Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls([]))
        return
    with pytest.raises(Sam3dUnavailable, match="32 GB"):
        Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path)


def test_missing_sam3d_package_is_reported(tmp_path, monkeypatch):
    from gen3d_serving.backends import sam3d

    monkeypatch.setattr(sam3d, "_check_gpu", lambda: None)
    with pytest.raises(Sam3dUnavailable, match="sam-3d-objects"):
        Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path / "no-such-dir")


def test_generate_3d_handler_uploads_what_sam3d_wrote(tmp_path):
    """The service's generate_3d path with the real backend class around the stand-in."""
    calls = []
    backend = Sam3dObjectsBackend.load(tmp_path, code_dir=tmp_path, inference_cls=make_inference_cls(calls), check_gpu=False)
    settings = Settings.from_env({"GEN3D_BACKEND": "sam3", "GEN3D_ALLOWED_BUCKETS": "bkt", "GEN3D_DISABLED_TASKS": "get_embedding,segment"})
    storage = MemoryStorage()
    image = fixture_image()
    mask = np.zeros((image.height, image.width), dtype=np.uint8)
    mask[10:30, 10:40] = 255
    from PIL import Image

    storage.put("bkt", "inputs/p.png", png_bytes(image), "image/png")
    storage.put("bkt", "inputs/m.png", png_bytes(Image.fromarray(mask)), "image/png")
    service = InferenceService(settings, storage, None, backend)
    from gen3d_serving.schemas import parse_request

    body = service.handle(parse_request({"task": "generate_3d", "image_s3_key": "inputs/p.png", "mask_s3_key": "inputs/m.png", "session_id": "s"}))
    assert body["status"] == "success"
    assert storage.get("bkt", body["asset_s3_keys"]["glb"], field="x", max_bytes=100) == b"glTF-bytes"
    passed_mask = calls[1][2]
    assert passed_mask.dtype == np.bool_ and int(passed_mask.sum()) == 20 * 30
