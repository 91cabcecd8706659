"""SAM 3D Objects (facebookresearch/sam-3d-objects) through its documented `Inference` API.

    from inference import Inference          # sam-3d-objects/notebook/inference.py
    inference = Inference("checkpoints/hf/pipeline.yaml", compile=False)
    output = inference(image, mask, seed=42)  # image: uint8 RGB (H, W, 3); mask: bool (H, W)
    output["gs"].save_ply("splat.ply")        # Gaussian splat
    output["glb"].export("mesh.glb")          # textured mesh (trimesh), when the pipeline made one

THIS BACKEND CANNOT RUN ON THE CPU TEST MACHINES: sam-3d-objects needs a CUDA GPU with at
least 32 GB of memory (24 GB cards such as the A10G in ml.g5.2xlarge run out of memory) and
CUDA-only packages (pytorch3d, kaolin, gsplat, spconv, flash-attn; see
requirements-sam3d.txt). It is tested at its interface: tests inject a stand-in for the
`Inference` class and check what this module passes to it and does with its output.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .base import ReconstructionBackend

log = logging.getLogger("gen3d.sam3d")

MIN_GPU_MEMORY_GB = 32


class Sam3dUnavailable(RuntimeError):
    pass


def _import_inference(code_dir: Path) -> Callable[..., Any]:
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    try:
        from inference import Inference  # type: ignore[import-not-found]
    except Exception as exc:
        raise Sam3dUnavailable(
            f"cannot import sam-3d-objects' Inference from {code_dir}/inference.py "
            f"({type(exc).__name__}: {exc}); install sam-3d-objects (requirements-sam3d.txt) "
            "or set GEN3D_ENABLE_3D=false"
        ) from exc
    return Inference


def _check_gpu() -> None:
    try:
        import torch
    except Exception as exc:
        raise Sam3dUnavailable("SAM 3D Objects needs torch with CUDA; torch is not importable") from exc
    if not torch.cuda.is_available():
        raise Sam3dUnavailable(
            "SAM 3D Objects needs a CUDA GPU with >= 32 GB of memory and none is visible; "
            "set GEN3D_ENABLE_3D=false to serve only get_embedding and segment"
        )
    total_gb = torch.cuda.get_device_properties(0).total_memory / 1e9
    if total_gb < MIN_GPU_MEMORY_GB:
        log.warning(
            "GPU memory below what SAM 3D Objects needs; generate_3d will likely run out of memory",
            extra={"gpu_memory_gb": round(total_gb, 1), "required_gb": MIN_GPU_MEMORY_GB},
        )


class Sam3dObjectsBackend(ReconstructionBackend):
    name = "sam3d"

    def __init__(self, inference: Any):
        self._inference = inference

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        code_dir: Path,
        inference_cls: Callable[..., Any] | None = None,
        check_gpu: bool = True,
    ) -> "Sam3dObjectsBackend":
        if check_gpu:
            _check_gpu()
        if inference_cls is None:
            inference_cls = _import_inference(code_dir)
        config = model_dir / "pipeline.yaml"
        inference = inference_cls(str(config), compile=False)
        log.info("sam3d pipeline loaded", extra={"config": str(config)})
        return cls(inference)

    def reconstruct(self, image: np.ndarray, mask: np.ndarray, *, seed: int, formats: tuple[str, ...]) -> dict[str, bytes]:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
        if mask.dtype != np.bool_ or mask.shape != image.shape[:2]:
            raise ValueError(f"mask must be bool {image.shape[:2]}, got {mask.dtype} {mask.shape}")
        output = self._inference(image, mask, seed=seed)
        files: dict[str, bytes] = {}
        with tempfile.TemporaryDirectory(prefix="gen3d-sam3d-") as tmp:
            if "ply" in formats:
                gaussians = output.get("gs")
                if gaussians is None:
                    raise RuntimeError("SAM 3D output has no 'gs' (Gaussian splat) entry")
                path = Path(tmp) / "splat.ply"
                gaussians.save_ply(str(path))
                files["ply"] = path.read_bytes()
            if "glb" in formats:
                mesh = output.get("glb")
                if mesh is None:
                    raise RuntimeError("SAM 3D output has no 'glb' (mesh) entry; request output_formats ['ply']")
                path = Path(tmp) / "mesh.glb"
                mesh.export(str(path))
                files["glb"] = path.read_bytes()
        for fmt, data in files.items():
            if not data:
                raise RuntimeError(f"SAM 3D wrote an empty .{fmt}")
        return files
