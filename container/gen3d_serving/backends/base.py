"""The backend interface. Backends do model work only: no S3, no HTTP, no locking.

The service serialises every call into a backend behind one lock (one GPU), so backends
need not be thread-safe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Prompt:
    kind: Literal["point", "box"]
    point: tuple[float, float] | None = None
    point_label: int = 1
    box: tuple[float, float, float, float] | None = None


@dataclass
class Embedding:
    """An image embedding as the backend needs it, plus what the service reports about it."""

    value: Any
    shape: tuple[int, ...]
    nbytes: int
    image_size: tuple[int, int]  # (height, width) of the image it was computed from


@dataclass(frozen=True)
class SegmentResult:
    mask: np.ndarray  # bool, shape (height, width) of the original image
    score: float


class SegmentationBackend(ABC):
    name: str
    #: identifies model + weights + precision; embeddings are cached under it, so a new
    #: model never reuses another model's embeddings
    model_id: str
    #: file extension of serialised embeddings in S3
    embedding_format: str

    @abstractmethod
    def encode(self, image: Image.Image) -> Embedding: ...

    @abstractmethod
    def decode(self, embedding: Embedding, prompt: Prompt) -> SegmentResult: ...

    @abstractmethod
    def serialize(self, embedding: Embedding) -> bytes: ...

    @abstractmethod
    def deserialize(self, data: bytes) -> Embedding:
        """Raise ValueError when `data` is not an embedding this backend wrote."""


class ReconstructionBackend(ABC):
    name: str

    @abstractmethod
    def reconstruct(self, image: np.ndarray, mask: np.ndarray, *, seed: int, formats: tuple[str, ...]) -> dict[str, bytes]:
        """image: uint8 (H, W, 3) RGB; mask: bool (H, W). Returns {format: file bytes}."""
