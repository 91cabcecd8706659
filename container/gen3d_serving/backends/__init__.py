"""Model backends behind one interface, and the model-file checks that run before loading.

`GEN3D_BACKEND=sam3` (the default) selects the real models: SAM 3 through transformers'
Sam3TrackerModel and SAM 3D Objects through its `Inference` API. `GEN3D_BACKEND=test`
selects deterministic stand-ins for contract tests and CI images; it is never chosen
implicitly, and it still insists that the model files exist, so a container built without
its weights fails the local test exactly as the real one would.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..config import Settings
from .base import Embedding, Prompt, ReconstructionBackend, SegmentationBackend, SegmentResult

__all__ = [
    "Embedding",
    "Prompt",
    "ReconstructionBackend",
    "SegmentationBackend",
    "SegmentResult",
    "ModelFilesMissing",
    "missing_model_files",
    "sam3_dir",
    "sam3d_dir",
    "load_backends",
]

SAM3_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
_CKPT_RE = re.compile(r"""[:=\s'"]([A-Za-z0-9_./-]+\.(?:ckpt|pt|pth|safetensors|bin))\b""")


class ModelFilesMissing(RuntimeError):
    def __init__(self, missing: list[Path]):
        self.missing = missing
        listed = ", ".join(str(p) for p in missing)
        super().__init__(f"model file(s) missing: {listed}")


def sam3_dir(settings: Settings) -> Path:
    return settings.sam3_dir or settings.model_dir / "sam3"


def sam3d_dir(settings: Settings) -> Path:
    return settings.sam3d_dir or settings.model_dir / "sam3d"


def _nonempty_file(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def required_model_files(settings: Settings) -> list[Path]:
    """The files `missing_model_files` looks for (weights: whichever of the accepted names exists)."""
    files: list[Path] = []
    if settings.needs_segmentation_model:
        directory = sam3_dir(settings)
        files.append(directory / "config.json")
        present = [directory / n for n in SAM3_WEIGHT_FILES if _nonempty_file(directory / n)]
        files.extend(present or [directory / SAM3_WEIGHT_FILES[0]])
    if settings.needs_3d_model:
        pipeline = sam3d_dir(settings) / "pipeline.yaml"
        files.append(pipeline)
        if _nonempty_file(pipeline):
            files.extend(_checkpoints(pipeline))
    return files


def missing_model_files(settings: Settings) -> list[Path]:
    """Every model file the enabled tasks need that is absent or empty (same rule for every backend)."""
    missing: list[Path] = []
    if settings.needs_segmentation_model:
        directory = sam3_dir(settings)
        config = directory / "config.json"
        if not _nonempty_file(config):
            missing.append(config)
        if not any(_nonempty_file(directory / name) for name in SAM3_WEIGHT_FILES):
            missing.append(directory / SAM3_WEIGHT_FILES[0])
    if settings.needs_3d_model:
        directory = sam3d_dir(settings)
        pipeline = directory / "pipeline.yaml"
        if not _nonempty_file(pipeline):
            missing.append(pipeline)
        else:
            missing.extend(_missing_checkpoints(pipeline))
    return missing


def _checkpoints(pipeline: Path) -> list[Path]:
    """Relative checkpoint paths named in pipeline.yaml (resolved next to it)."""
    found: list[Path] = []
    try:
        text = pipeline.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    for match in _CKPT_RE.finditer(text):
        name = match.group(1)
        if name.startswith("/") or "://" in name:
            continue
        candidate = pipeline.parent / name
        if candidate not in found:
            found.append(candidate)
    return found


def _missing_checkpoints(pipeline: Path) -> list[Path]:
    return [path for path in _checkpoints(pipeline) if not _nonempty_file(path)]


def load_backends(settings: Settings) -> tuple[SegmentationBackend | None, ReconstructionBackend | None]:
    """Load the enabled models once; raise ModelFilesMissing naming the file when weights are absent."""
    missing = missing_model_files(settings)
    if missing:
        raise ModelFilesMissing(missing)
    segmenter: SegmentationBackend | None = None
    reconstructor: ReconstructionBackend | None = None
    if settings.backend == "test":
        import time

        from .test_backend import TestReconstructionBackend, TestSegmentationBackend

        time.sleep(settings.test_load_delay_ms / 1000.0)  # stands in for loading GBs of weights

        if settings.needs_segmentation_model:
            segmenter = TestSegmentationBackend(sam3_dir(settings), delay_ms=settings.test_delay_ms)
        if settings.needs_3d_model:
            reconstructor = TestReconstructionBackend(sam3d_dir(settings), delay_ms=settings.test_delay_ms)
        return segmenter, reconstructor
    if settings.needs_segmentation_model:
        from .sam3 import Sam3TrackerBackend

        segmenter = Sam3TrackerBackend.from_pretrained(sam3_dir(settings), device=settings.device, dtype=settings.dtype)
    if settings.needs_3d_model and settings.backend_3d == "test":
        from .test_backend import TestReconstructionBackend

        reconstructor = TestReconstructionBackend(sam3d_dir(settings), delay_ms=settings.test_delay_ms)
    elif settings.needs_3d_model:
        from .sam3d import Sam3dObjectsBackend

        reconstructor = Sam3dObjectsBackend.load(sam3d_dir(settings), code_dir=settings.sam3d_code_dir)
    return segmenter, reconstructor
