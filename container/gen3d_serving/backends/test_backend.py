"""Deterministic stand-in models for contract tests and CI images (GEN3D_BACKEND=test).

Same inputs give byte-identical outputs. The artifacts are valid: masks are the image's own
size, the .ply parses as a Gaussian splat, the .glb as glTF 2.0. `delay_ms` simulates GPU
time (inside the service's GPU lock) so concurrency tests see real contention.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..assets import gaussian_splat_ply, mesh_glb
from .base import Embedding, Prompt, ReconstructionBackend, SegmentationBackend, SegmentResult

_GRID = 16


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:12]


class TestSegmentationBackend(SegmentationBackend):
    __test__ = False  # not a pytest test class
    name = "test"
    embedding_format = "npz"

    def __init__(self, model_dir: Path, delay_ms: int = 0):
        self._delay_s = delay_ms / 1000.0
        # The id depends on the weights file, as the real backend's does.
        weights = next((model_dir / n for n in ("model.safetensors", "model.safetensors.index.json") if (model_dir / n).is_file()))
        self.model_id = f"test-{_file_digest(model_dir / 'config.json')}-{_file_digest(weights)}"

    def encode(self, image: Image.Image) -> Embedding:
        if self._delay_s:
            time.sleep(self._delay_s)
        small = np.asarray(image.convert("RGB").resize((_GRID, _GRID), Image.Resampling.BILINEAR), dtype=np.float32)
        value = (small.transpose(2, 0, 1)[None] / 255.0).astype(np.float32)  # (1, 3, 16, 16)
        return Embedding(value=value, shape=tuple(value.shape), nbytes=int(value.nbytes), image_size=(image.height, image.width))

    def decode(self, embedding: Embedding, prompt: Prompt) -> SegmentResult:
        if self._delay_s:
            time.sleep(self._delay_s / 10)
        height, width = embedding.image_size
        ys, xs = np.mgrid[0:height, 0:width]
        if prompt.kind == "point":
            assert prompt.point is not None
            cx, cy = prompt.point
            rx, ry = max(width / 4.0, 1.0), max(height / 4.0, 1.0)
            mask = ((xs + 0.5 - cx) / rx) ** 2 + ((ys + 0.5 - cy) / ry) ** 2 <= 1.0
            if prompt.point_label == 0:
                mask = ~mask
        else:
            assert prompt.box is not None
            x1, y1, x2, y2 = prompt.box
            mask = (xs + 0.5 >= x1) & (xs + 0.5 <= x2) & (ys + 0.5 >= y1) & (ys + 0.5 <= y2)
        score = 0.5 + 0.49 * float(np.asarray(embedding.value).mean())
        return SegmentResult(mask=mask, score=round(score, 6))

    def serialize(self, embedding: Embedding) -> bytes:
        buffer = io.BytesIO()
        meta = json.dumps({"model_id": self.model_id, "image_size": list(embedding.image_size)})
        np.savez(buffer, embedding=np.asarray(embedding.value), meta=np.frombuffer(meta.encode(), dtype=np.uint8))
        return buffer.getvalue()

    def deserialize(self, data: bytes) -> Embedding:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                value = archive["embedding"].astype(np.float32)
                meta = json.loads(archive["meta"].tobytes().decode())
        except Exception as exc:
            raise ValueError(f"not a test-backend embedding: {type(exc).__name__}") from None
        if meta.get("model_id") != self.model_id or value.shape != (1, 3, _GRID, _GRID):
            raise ValueError("embedding was written by another model")
        height, width = (int(v) for v in meta["image_size"])
        return Embedding(value=value, shape=tuple(value.shape), nbytes=int(value.nbytes), image_size=(height, width))


class TestReconstructionBackend(ReconstructionBackend):
    __test__ = False
    name = "test"

    def __init__(self, model_dir: Path, delay_ms: int = 0):
        self._delay_s = delay_ms / 1000.0
        self._pipeline = model_dir / "pipeline.yaml"

    def reconstruct(self, image: np.ndarray, mask: np.ndarray, *, seed: int, formats: tuple[str, ...]) -> dict[str, bytes]:
        if self._delay_s:
            time.sleep(self._delay_s)
        height, width = mask.shape
        ys, xs = np.nonzero(mask)
        step = max(1, int(np.ceil(len(xs) / 4096)))
        ys, xs = ys[::step], xs[::step]
        scale = float(max(height, width))
        rng = np.random.default_rng(seed)
        depth = rng.uniform(-0.05, 0.05, size=len(xs))
        xyz = np.stack([(xs - width / 2) / scale, (height / 2 - ys) / scale, depth], axis=1).astype(np.float32)
        rgb = image[ys, xs, :3].astype(np.float32) / 255.0
        out: dict[str, bytes] = {}
        if "ply" in formats:
            out["ply"] = gaussian_splat_ply(xyz, rgb)
        if "glb" in formats:
            out["glb"] = mesh_glb(*_bounding_box_mesh(xyz))
        return out


def _bounding_box_mesh(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    hi = np.where(hi - lo < 1e-3, lo + 1e-3, hi)
    corners = np.array([[(hi if (i >> k) & 1 else lo)[k] for k in range(3)] for i in range(8)], dtype=np.float32)
    faces = np.array(
        [[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
         [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]],
        dtype=np.uint32,
    )
    return corners, faces
