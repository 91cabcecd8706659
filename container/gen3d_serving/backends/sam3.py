"""SAM 3 through transformers' Sam3TrackerModel (point and box prompts on images).

The image is encoded once (`get_image_embeddings`); prompts are decoded from that embedding
(`model(image_embeddings=..., input_points=...)`), so a cached embedding makes a segment a
decoder-only pass. Prompts and mask post-processing go through transformers'
Sam3TrackerProcessor, which maps coordinates to the model's input size and masks back to
the image's own size.

Image preprocessing: transformers' Sam3ImageProcessor needs torchvision. The GPU image has
it (the PyTorch base ships it) and uses it. Where torchvision is absent or broken (the CPU
test machines here have torch's CPU build but only CUDA builds of torchvision),
`TorchSam3ImageProcessor` does the same resize/rescale/normalise with torch alone, reading
the same preprocessor_config.json; gpu_check.py compares the two where both load.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .base import Embedding, Prompt, SegmentationBackend, SegmentResult

log = logging.getLogger("gen3d.sam3")

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def torchvision_usable() -> bool:
    try:
        import torchvision  # noqa: F401  (a CUDA build on a CPU torch raises RuntimeError, not ImportError)
        from torchvision.ops import batched_nms  # noqa: F401
    except Exception:
        return False
    return True


def _make_torch_image_processor_class():
    import torch
    import torch.nn.functional as F
    from transformers.feature_extraction_utils import BatchFeature
    from transformers.image_processing_utils import BaseImageProcessor

    class TorchSam3ImageProcessor(BaseImageProcessor):
        """Sam3ImageProcessor's resize → rescale → normalise and mask upscaling, in plain torch."""

        model_input_names = ["pixel_values"]

        def __init__(self, size=None, image_mean=None, image_std=None, rescale_factor=1 / 255, **kwargs):
            kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_") and k not in ("image_processor_type", "processor_class")}
            super().__init__(**kwargs)
            self.size = dict(size or {"height": 1008, "width": 1008})
            self.image_mean = list(image_mean or [0.5, 0.5, 0.5])
            self.image_std = list(image_std or [0.5, 0.5, 0.5])
            self.rescale_factor = float(rescale_factor)

        def preprocess(self, images, return_tensors=None, **kwargs):
            if not isinstance(images, (list, tuple)):
                images = [images]
            pixel_values, original_sizes = [], []
            for image in images:
                array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.uint8)
                original_sizes.append([int(array.shape[0]), int(array.shape[1])])
                tensor = torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float()
                tensor = F.interpolate(
                    tensor, size=(self.size["height"], self.size["width"]), mode="bilinear", align_corners=False, antialias=True
                )
                tensor = tensor.round().clamp(0, 255) * self.rescale_factor
                mean = torch.tensor(self.image_mean).view(1, 3, 1, 1)
                std = torch.tensor(self.image_std).view(1, 3, 1, 1)
                pixel_values.append((tensor - mean) / std)
            data = {"pixel_values": torch.cat(pixel_values), "original_sizes": torch.tensor(original_sizes)}
            return BatchFeature(data=data, tensor_type=return_tensors)

        def post_process_masks(self, masks, original_sizes, mask_threshold=0.0, binarize=True, *args, **kwargs):
            if isinstance(original_sizes, torch.Tensor):
                original_sizes = original_sizes.tolist()
            out = []
            for index, size in enumerate(original_sizes):
                upscaled = F.interpolate(masks[index].float(), [int(s) for s in size], mode="bilinear", align_corners=False)
                out.append(upscaled > mask_threshold if binarize else upscaled)
            return out

    return TorchSam3ImageProcessor


def load_processor(model_dir: Path, prefer: str = "auto"):
    """transformers' Sam3TrackerProcessor, with torchvision's image processor when usable."""
    from transformers import Sam3TrackerProcessor

    use_transformers = prefer == "transformers" or (prefer == "auto" and torchvision_usable())
    if use_transformers:
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(str(model_dir))
        return processor, "transformers"
    config_path = model_dir / "preprocessor_config.json"
    config: dict[str, Any] = {}
    if config_path.is_file():
        config = json.loads(config_path.read_text())
    image_processor = _make_torch_image_processor_class()(
        size=config.get("size"),
        image_mean=config.get("image_mean"),
        image_std=config.get("image_std"),
        rescale_factor=config.get("rescale_factor", 1 / 255),
    )
    return Sam3TrackerProcessor(image_processor=image_processor), "torch"


def _resolve(device: str, dtype: str):
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return torch.device(device), getattr(torch, _DTYPES[dtype])


def _fingerprint(model_dir: Path, dtype_name: str) -> str:
    digest = hashlib.sha256()
    digest.update((model_dir / "config.json").read_bytes())
    for name in ("model.safetensors", "model.safetensors.index.json"):
        path = model_dir / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
            with path.open("rb") as handle:
                digest.update(handle.read(1 << 16))
    digest.update(dtype_name.encode())
    return digest.hexdigest()[:16]


class Sam3TrackerBackend(SegmentationBackend):
    name = "sam3"
    embedding_format = "safetensors"

    def __init__(self, model, processor, *, device, dtype, model_id: str, processor_kind: str = "transformers"):
        import torch

        if torch.device(device).type == "cpu":
            torch.backends.nnpack.set_flags(False)  # else a C++ warning per conv on CPUs NNPACK rejects
        self._model = model
        self._processor = processor
        self._device = device
        self._dtype = dtype
        self.model_id = model_id
        self.processor_kind = processor_kind

    @classmethod
    def from_pretrained(cls, model_dir: Path, *, device: str = "auto", dtype: str = "auto", processor: str = "auto"):
        from transformers import Sam3TrackerModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # tqdm bars would break the one-JSON-object-per-line log
        torch_device, torch_dtype = _resolve(device, dtype)
        model = Sam3TrackerModel.from_pretrained(str(model_dir), dtype=torch_dtype)
        model = model.to(torch_device).eval()
        proc, kind = load_processor(model_dir, processor)
        dtype_name = str(torch_dtype).removeprefix("torch.")
        log.info(
            "sam3 model loaded",
            extra={"model_dir": str(model_dir), "device": str(torch_device), "dtype": dtype_name, "processor": kind},
        )
        return cls(model, proc, device=torch_device, dtype=torch_dtype, model_id=f"sam3-{_fingerprint(model_dir, dtype_name)}", processor_kind=kind)

    def encode(self, image: Image.Image) -> Embedding:
        import torch

        inputs = self._processor(images=image, return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self._device, self._dtype)
        with torch.inference_mode():
            levels = self._model.get_image_embeddings(pixel_values)
        levels = [level.detach() for level in levels]
        nbytes = sum(level.numel() * level.element_size() for level in levels)
        return Embedding(value=levels, shape=tuple(levels[-1].shape), nbytes=int(nbytes), image_size=(image.height, image.width))

    def decode(self, embedding: Embedding, prompt: Prompt) -> SegmentResult:
        import torch

        height, width = embedding.image_size
        kwargs: dict[str, Any] = {"original_sizes": [[height, width]], "return_tensors": "pt"}
        if prompt.kind == "point":
            assert prompt.point is not None
            kwargs["input_points"] = [[[[float(prompt.point[0]), float(prompt.point[1])]]]]
            kwargs["input_labels"] = [[[int(prompt.point_label)]]]
        else:
            assert prompt.box is not None
            kwargs["input_boxes"] = [[[float(v) for v in prompt.box]]]
        encoded = self._processor(**kwargs)
        model_inputs: dict[str, Any] = {}
        for name in ("input_points", "input_boxes"):
            if name in encoded:
                # Kept float32: the prompt encoder normalises pixel coordinates first and casts to
                # the model dtype after; in bf16 a coordinate near 1000 would snap to a multiple of 8.
                model_inputs[name] = encoded[name].to(self._device, torch.float32)
        if "input_labels" in encoded:
            model_inputs["input_labels"] = encoded["input_labels"].to(self._device)
        levels = [level.to(self._device) for level in embedding.value]
        with torch.inference_mode():
            outputs = self._model(image_embeddings=levels, multimask_output=False, **model_inputs)
        masks = self._processor.post_process_masks(outputs.pred_masks.float().cpu(), [[height, width]])[0]
        mask = masks[0, 0].numpy().astype(bool)  # (objects, masks-per-object, H, W) → first of each
        score = float(outputs.iou_scores[0, 0, 0].float().cpu())
        return SegmentResult(mask=mask, score=score)

    def serialize(self, embedding: Embedding) -> bytes:
        from safetensors.torch import save

        tensors = {f"level_{i}": level.contiguous().cpu() for i, level in enumerate(embedding.value)}
        meta = {"model_id": self.model_id, "image_size": f"{embedding.image_size[0]},{embedding.image_size[1]}"}
        return save(tensors, metadata=meta)

    def deserialize(self, data: bytes) -> Embedding:
        from safetensors.torch import load

        try:
            tensors = load(data)
            header_len = int.from_bytes(data[:8], "little")
            meta = json.loads(data[8 : 8 + header_len]).get("__metadata__", {})
        except Exception as exc:
            raise ValueError(f"not a safetensors embedding: {type(exc).__name__}") from None
        if meta.get("model_id") != self.model_id:
            raise ValueError("embedding was written by another model or precision")
        count = len(tensors)
        if count == 0 or any(f"level_{i}" not in tensors for i in range(count)):
            raise ValueError("embedding levels are incomplete")
        height, width = (int(v) for v in meta["image_size"].split(","))
        levels = [tensors[f"level_{i}"].to(self._device) for i in range(count)]
        nbytes = sum(level.numel() * level.element_size() for level in levels)
        return Embedding(value=levels, shape=tuple(levels[-1].shape), nbytes=int(nbytes), image_size=(height, width))
