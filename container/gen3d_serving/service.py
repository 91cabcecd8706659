"""The task handlers: get_embedding, segment and generate_3d.

S3 I/O and image decoding run on the request's own thread; every model call runs under one
FIFO lock (`gpu_lock`): one GPU, one model call at a time. Each step first checks the
request's deadline (`Invocation.checkpoint`), so a request past its timeout stops before its
next step and never takes the model. /ping never touches this module.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from PIL import Image

from .backends import Embedding, Prompt, ReconstructionBackend, SegmentationBackend
from .cache import EmbeddingCache
from .concurrency import Invocation, ModelLock
from .config import Settings
from .errors import ApiError, PromptOutsideImage, TaskNotAvailable
from .images import ImageLimits, decode_image, decode_mask, encode_mask_png
from .schemas import Generate3dRequest, GetEmbeddingRequest, Request, SegmentRequest
from .storage import KeyPolicy, Storage

log = logging.getLogger("gen3d.service")

#: session id that makes the test backend raise an internal error (GEN3D_TEST_FAULT_INJECTION=true only)
FAULT_INJECTION_SESSION = "gen3d-inject-internal-fault"
_MAX_EMBEDDING_BYTES = 512 << 20
_CONTENT_TYPES = {"ply": "application/octet-stream", "glb": "model/gltf-binary"}


class InjectedFault(RuntimeError):
    pass


#: the synthetic image encoded once before /ping turns 200
_WARM_UP_SIZE = (64, 64)


class _Timer:
    """Phase timings of one request; a phase starts only if the request is not past its deadline."""

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.start = time.perf_counter()
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.invocation.checkpoint(name)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + (time.perf_counter() - began) * 1000, 3)

    def result(self) -> dict[str, float]:
        return {**self.phases, "total": round((time.perf_counter() - self.start) * 1000, 3)}


def _stem(key: str) -> str:
    base = posixpath.basename(key)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).strip("._") or "image"
    return stem[:80]


class InferenceService:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        segmenter: SegmentationBackend | None,
        reconstructor: ReconstructionBackend | None,
        *,
        gpu_lock: ModelLock | None = None,
    ):
        self._settings = settings
        self._storage = storage
        self._segmenter = segmenter
        self._reconstructor = reconstructor
        self.gpu_lock = gpu_lock or ModelLock()
        self._policy = KeyPolicy(
            allowed_buckets=settings.allowed_buckets,
            input_prefix=settings.input_prefix,
            output_prefix=settings.output_prefix,
            embeddings_prefix=settings.embeddings_prefix,
        )
        self._limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels, settings.max_image_side)
        self.cache = EmbeddingCache(settings.embedding_cache_mb << 20, settings.embedding_cache_entries)
        self._fault_injection = settings.backend == "test" and settings.test_fault_injection

    # -- dispatch ---------------------------------------------------------------------------

    def handle(self, request: Request, invocation: Invocation | None = None) -> dict[str, Any]:
        """Run one request. `invocation` carries its id and deadline (none: no deadline)."""
        invocation = invocation or Invocation(request_id=uuid.uuid4().hex[:16])
        invocation.task = request.task
        if request.task not in self._settings.enabled_tasks:
            raise TaskNotAvailable(
                f"task {request.task!r} is not offered by this container "
                f"(offered: {', '.join(self._settings.enabled_tasks)})",
                field="task",
            )
        if self._fault_injection and request.session_id == FAULT_INJECTION_SESSION:
            raise InjectedFault("fault injected on purpose (GEN3D_TEST_FAULT_INJECTION)")
        timer = _Timer(invocation)
        if isinstance(request, GetEmbeddingRequest):
            return self.get_embedding(request, timer)
        if isinstance(request, SegmentRequest):
            return self.segment(request, timer)
        if isinstance(request, Generate3dRequest):
            return self.generate_3d(request, timer)
        raise TypeError(f"unhandled request type {type(request).__name__}")

    # -- tasks --------------------------------------------------------------------------------

    def warm_up(self) -> dict[str, float] | None:
        """One synthetic encode and decode, so the first real request does not pay the model's
        start-up (CUDA context, kernel selection, lazy weight placement). Nothing is cached or
        written. None when no segmentation model is loaded (SAM 3D is too slow to warm here)."""
        if self._segmenter is None:
            return None
        height, width = _WARM_UP_SIZE
        ramp = np.linspace(0, 255, height * width * 3, dtype=np.float32).reshape(height, width, 3)
        image = Image.fromarray(ramp.astype(np.uint8))
        prompt = Prompt(kind="point", point=(width / 2, height / 2))
        with self.gpu_lock:
            began = time.perf_counter()
            embedding = self._segmenter.encode(image)
            encoded = time.perf_counter()
            self._segmenter.decode(embedding, prompt)
            decoded = time.perf_counter()
        return {"encode_ms": round((encoded - began) * 1000, 3), "decode_ms": round((decoded - encoded) * 1000, 3)}

    def get_embedding(self, request: GetEmbeddingRequest, timer: _Timer) -> dict[str, Any]:
        bucket, key, session_id = self._common(request, timer)
        data, image = self._load_image(bucket, key, timer)
        embedding, embedding_key, source = self._embedding(bucket, data, image, timer)
        return {
            "status": "success",
            "task": "get_embedding",
            "session_id": session_id,
            "bucket": bucket,
            "image_s3_key": key,
            "image_size": [image.height, image.width],
            "embedding_s3_key": embedding_key,
            "embedding_shape": list(embedding.shape),
            "cached": source is not None,
            "cache_source": source,
            "model_id": self._require_segmenter().model_id,
            "timing_ms": timer.result(),
        }

    def segment(self, request: SegmentRequest, timer: _Timer) -> dict[str, Any]:
        bucket, key, session_id = self._common(request, timer)
        data, image = self._load_image(bucket, key, timer)
        _check_prompt_inside(request, key, width=image.width, height=image.height)
        embedding, _, source = self._embedding(bucket, data, image, timer)
        prompt = Prompt(kind=request.prompt_type, point=request.point, point_label=request.point_label, box=request.box)
        with self._model(timer, "decode"):
            result = self._require_segmenter().decode(embedding, prompt)
        if result.mask.shape != (image.height, image.width):
            raise RuntimeError(f"backend returned a {result.mask.shape} mask for a {image.height}x{image.width} image")
        with timer.phase("upload"):
            png = encode_mask_png(result.mask)
            prompt_tag = hashlib.sha256(repr(prompt).encode()).hexdigest()[:8]
            mask_key = f"{self._settings.output_prefix}{session_id}/{_stem(key)}-mask-{prompt_tag}.png"
            self._storage.put(bucket, mask_key, png, "image/png")
        return {
            "status": "success",
            "task": "segment",
            "session_id": session_id,
            "bucket": bucket,
            "image_s3_key": key,
            "mask_s3_key": mask_key,
            "mask_size": [image.height, image.width],
            "mask_format": "png",
            "mask_area": int(result.mask.sum()),
            "confidence_score": float(result.score),
            "embedding_cached": source is not None,
            "timing_ms": timer.result(),
        }

    def generate_3d(self, request: Generate3dRequest, timer: _Timer) -> dict[str, Any]:
        bucket, key, session_id = self._common(request, timer)
        mask_key = self._policy.readable_key(
            request.mask_s3_key, "mask_s3_key", prefixes=(self._settings.input_prefix, self._settings.output_prefix)
        )
        _, image = self._load_image(bucket, key, timer)
        with timer.phase("download_mask"):
            mask_data = self._storage.get(bucket, mask_key, field="mask_s3_key", max_bytes=self._settings.max_image_bytes)
            mask = decode_mask(mask_data, self._limits, key=mask_key, expected_size=(image.height, image.width))
        reconstructor = self._reconstructor
        if reconstructor is None:
            raise TaskNotAvailable("generate_3d is not offered by this container", field="task")
        with self._model(timer, "reconstruct"):
            files = reconstructor.reconstruct(np.asarray(image, dtype=np.uint8), mask, seed=request.seed, formats=request.output_formats)
        asset_keys: dict[str, str] = {}
        with timer.phase("upload"):
            for fmt in request.output_formats:
                body = files.get(fmt)
                if not body:
                    raise RuntimeError(f"reconstruction produced no .{fmt}")
                asset_key = f"{self._settings.output_prefix}{session_id}/{_stem(key)}-3d-seed{request.seed}.{fmt}"
                self._storage.put(bucket, asset_key, body, _CONTENT_TYPES[fmt])
                asset_keys[fmt] = asset_key
        return {
            "status": "success",
            "task": "generate_3d",
            "session_id": session_id,
            "bucket": bucket,
            "image_s3_key": key,
            "mask_s3_key": mask_key,
            "asset_s3_keys": asset_keys,
            "asset_sizes": {fmt: len(files[fmt]) for fmt in asset_keys},
            "timing_ms": timer.result(),
        }

    # -- helpers ------------------------------------------------------------------------------

    def _common(self, request: Request, timer: _Timer) -> tuple[str, str, str]:
        bucket = self._policy.bucket(request.bucket)
        key = self._policy.readable_key(request.image_s3_key, "image_s3_key")
        session_id = request.session_id or uuid.uuid4().hex
        timer.invocation.session_id = session_id
        return bucket, key, session_id

    @contextmanager
    def _model(self, timer: _Timer, phase: str) -> Iterator[None]:
        """Hold the model for one call. Waiting for it is its own phase and ends at the deadline."""
        with timer.phase("wait_for_model"):
            acquired = self.gpu_lock.acquire(timeout=timer.invocation.remaining())
        if not acquired:
            raise timer.invocation.abandon("wait_for_model")
        try:
            with timer.phase(phase):
                yield
        finally:
            self.gpu_lock.release()

    def _require_segmenter(self) -> SegmentationBackend:
        if self._segmenter is None:
            raise TaskNotAvailable("the segmentation model is not loaded in this container", field="task")
        return self._segmenter

    def _load_image(self, bucket: str, key: str, timer: _Timer):
        with timer.phase("download"):
            data = self._storage.get(bucket, key, field="image_s3_key", max_bytes=self._settings.max_image_bytes)
        with timer.phase("decode_image"):
            image = decode_image(data, self._limits, key=key)
        return data, image

    def _embedding(self, bucket: str, data: bytes, image, timer: _Timer) -> tuple[Embedding, str, str | None]:
        """The image's embedding from memory, then S3, then the model. Returns (embedding, S3 key, source)."""
        segmenter = self._require_segmenter()
        digest = hashlib.sha256(data).hexdigest()
        # The bucket is part of the key: a hit must return an embedding_s3_key that exists in the
        # requested bucket, and only this bucket's write put it there.
        cache_key = f"{bucket}/{segmenter.model_id}/{digest}"
        embedding_key = f"{self._settings.embeddings_prefix}{segmenter.model_id}/{digest}.{segmenter.embedding_format}"
        cached = self.cache.get(cache_key)
        if cached is not None:
            return cached, embedding_key, "memory"
        with timer.phase("embedding_s3_read"):
            try:
                stored = self._storage.get_optional(bucket, embedding_key, max_bytes=_MAX_EMBEDDING_BYTES)
            except ApiError as exc:  # a cache that cannot be read is a miss, not a failed request
                log.warning("embedding cache read failed", extra={"s3_key": embedding_key, "code": exc.code})
                stored = None
        if stored is not None:
            try:
                embedding = segmenter.deserialize(stored)
                if embedding.image_size != (image.height, image.width):
                    raise ValueError("embedding image size does not match the image")
            except ValueError as exc:
                log.warning("ignoring unusable cached embedding", extra={"s3_key": embedding_key, "reason": str(exc)})
            else:
                self.cache.put(cache_key, embedding, embedding.nbytes)
                return embedding, embedding_key, "s3"
        with self._model(timer, "encode"):
            embedding = segmenter.encode(image)
        with timer.phase("embedding_s3_write"):
            self._storage.put(bucket, embedding_key, segmenter.serialize(embedding), "application/octet-stream")
        self.cache.put(cache_key, embedding, embedding.nbytes)
        return embedding, embedding_key, None


def _check_prompt_inside(request: SegmentRequest, key: str, *, width: int, height: int) -> None:
    """Points and boxes are pixel coordinates of this image: 0 <= x <= width, 0 <= y <= height."""
    if request.point is not None:
        field, values = "point", request.point
        inside = values[0] <= width and values[1] <= height
    else:
        assert request.box is not None
        field, values = "box", request.box
        inside = values[2] <= width and values[3] <= height
    if not inside:
        shown = "[" + ", ".join(_number(v) for v in values) + "]"
        raise PromptOutsideImage(
            f"{field} {shown} is outside the image {key!r}, which is {width} x {height} pixels (width x height): "
            f"x must be within 0..{width} and y within 0..{height}",
            field=field,
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
