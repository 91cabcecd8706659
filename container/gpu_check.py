#!/usr/bin/env python3
"""GPU check: the full-size SAM 3 tracker, random weights, bf16, through the server's handlers.

    python3 container/gpu_check.py               # needs CUDA, torch and transformers
    python3 container/gpu_check.py --cpu-smoke   # tiny config on CPU: tests this script's plumbing

It builds Sam3TrackerModel with its default (full-size, 458M-parameter) configuration and
random weights, wraps it in the server's own Sam3TrackerBackend and InferenceService (S3
replaced by in-memory storage, since a GPU box may have neither S3 nor moto), and runs
get_embedding and segment as the server would. Prints one JSON object:

  encode_ms          image encoder alone (CUDA-synchronised), median
  cached_decode_ms   segment from an embedding cached in memory: the handler's decode phase
  full_ms            cold segment through the handler: download, decode, encode, decode, PNG, upload
  peak_gpu_memory_gb torch.cuda.max_memory_allocated over the run

Random weights make the masks meaningless; timings and memory are what this measures.
Exit codes: 0 ok, 2 no CUDA (without --cpu-smoke), 1 failure.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _sync(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _image(width: int, height: int, seed: int):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8))


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_backend(cpu_smoke: bool):
    import torch
    from transformers import Sam3TrackerConfig, Sam3TrackerModel, Sam3TrackerProcessor

    from gen3d_serving.backends.sam3 import Sam3TrackerBackend, _make_torch_image_processor_class, torchvision_usable

    if cpu_smoke:
        from tests.support.tiny_sam3 import TINY_IMAGE_SIZE, tiny_config

        config, image_size, device, dtype = tiny_config(), TINY_IMAGE_SIZE, torch.device("cpu"), torch.float32
    else:
        config, image_size, device, dtype = Sam3TrackerConfig(), 1008, torch.device("cuda"), torch.bfloat16
    torch.manual_seed(0)
    model = Sam3TrackerModel(config).to(device=device, dtype=dtype).eval()
    torch_processor = _make_torch_image_processor_class()(size={"height": image_size, "width": image_size})
    kind, diff = "torch", None
    processor = Sam3TrackerProcessor(image_processor=torch_processor)
    if torchvision_usable():
        from transformers import Sam3ImageProcessor

        reference = Sam3TrackerProcessor(image_processor=Sam3ImageProcessor(size={"height": image_size, "width": image_size}))
        sample = _image(640, 480, 7)
        a = reference(images=sample, return_tensors="pt")["pixel_values"]
        b = processor(images=sample, return_tensors="pt")["pixel_values"]
        diff = float((a - b).abs().max())
        processor, kind = reference, "transformers"
    backend = Sam3TrackerBackend(
        model, processor, device=device, dtype=dtype, model_id=f"gpu-check-{'tiny' if cpu_smoke else 'full'}", processor_kind=kind
    )
    params = sum(p.numel() for p in model.parameters())
    return backend, device, dtype, params, diff


def run(cpu_smoke: bool, repeats: int) -> dict:
    import torch

    from gen3d_serving.config import Settings
    from gen3d_serving.schemas import parse_request
    from gen3d_serving.service import InferenceService
    from gen3d_serving.storage import MemoryStorage

    backend, device, dtype, params, preprocess_diff = build_backend(cpu_smoke)
    settings = Settings.from_env({"GEN3D_ALLOWED_BUCKETS": "gpu-check", "GEN3D_ENABLE_3D": "false"})
    storage = MemoryStorage()
    service = InferenceService(settings, storage, backend, None)
    width, height = (97, 61) if cpu_smoke else (1280, 720)
    images = [_image(width, height, seed) for seed in range(repeats + 2)]
    for index, image in enumerate(images):
        storage.put("gpu-check", f"inputs/img-{index}.png", _png(image), "image/png")
    point = {"prompt_type": "point", "point": [width / 2, height / 2]}

    def call(payload):
        return service.handle(parse_request(payload))

    # Warm-up: kernel selection and allocator growth are not what a request pays.
    call({"task": "segment", "image_s3_key": "inputs/img-0.png", **point})
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    encode_ms = []
    for image in images[1:]:
        _sync(torch, device)
        t0 = time.perf_counter()
        backend.encode(image)
        _sync(torch, device)
        encode_ms.append((time.perf_counter() - t0) * 1000)

    full, cached, embedding = [], [], None
    for index in range(1, repeats + 1):
        key = f"inputs/img-{index}.png"
        cold = call({"task": "segment", "image_s3_key": key, **point})
        assert cold["embedding_cached"] is False and cold["mask_size"] == [height, width], cold
        full.append(cold["timing_ms"]["total"])
        warm = call({"task": "segment", "image_s3_key": key, "prompt_type": "box", "box": [5, 5, width / 2, height / 2]})
        assert warm["embedding_cached"] is True, warm
        cached.append(warm["timing_ms"]["decode"])
        embedding = call({"task": "get_embedding", "image_s3_key": key})

    result = {
        "mode": "cpu-smoke (tiny config; NOT a GPU measurement)" if cpu_smoke else "gpu",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "params_m": round(params / 1e6, 1),
        "image_size": [height, width],
        "repeats": repeats,
        "encode_ms": round(statistics.median(encode_ms), 2),
        "cached_decode_ms": round(statistics.median(cached), 2),
        "full_ms": round(statistics.median(full), 2),
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 3) if device.type == "cuda" else None,
        "embedding_shape": embedding["embedding_shape"] if embedding else None,
        "preprocess": backend.processor_kind,
        "preprocess_max_abs_diff_vs_transformers": preprocess_diff,
        "samples_ms": {"encode": [round(v, 2) for v in encode_ms], "cached_decode": cached, "full": full},
    }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny config on CPU, to test this script without a GPU")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed", file=sys.stderr)
        return 2
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device is visible; this check measures the full-size model on a GPU. "
            "Run it on a CUDA machine, or pass --cpu-smoke to test its plumbing on CPU.",
            file=sys.stderr,
        )
        return 2
    try:
        result = run(args.cpu_smoke, max(1, args.repeats))
    except Exception as exc:  # report, don't traceback-spam: this runs in CI logs
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        import traceback

        traceback.print_exc()
        return 1
    print(json.dumps({"ok": True, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
