"""A tiny, random-initialised Sam3Tracker saved like a real checkpoint (config.json,
model.safetensors, preprocessor_config.json), so tests and the benchmark load it through
the same `from_pretrained` path as the real weights. Built at test time: nothing binary
is committed.

Sizes follow transformers' own tests/models/sam3_tracker tester (224 px input, 32-wide).
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_IMAGE_SIZE = 224


def tiny_config():
    from transformers import (
        Sam3TrackerConfig,
        Sam3TrackerMaskDecoderConfig,
        Sam3TrackerPromptEncoderConfig,
        Sam3VisionConfig,
        Sam3ViTConfig,
    )

    backbone = Sam3ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_channels=3,
        image_size=TINY_IMAGE_SIZE,
        patch_size=14,
        window_size=8,
        global_attn_indexes=[0, 1],
    )
    vision = Sam3VisionConfig(
        backbone_config=backbone,
        fpn_hidden_size=32,
        scale_factors=[2.0, 1.0, 0.5],
        backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]],
    )
    # image_size / patch_size must equal the last backbone feature size (8), as 1008 / 14 = 72
    # does in the full-size model, or dense prompt embeddings do not line up.
    prompt = Sam3TrackerPromptEncoderConfig(
        image_size=TINY_IMAGE_SIZE, patch_size=TINY_IMAGE_SIZE // 8, mask_input_channels=8, hidden_size=32
    )
    decoder = Sam3TrackerMaskDecoderConfig(
        hidden_size=32, hidden_act="relu", mlp_dim=64, num_attention_heads=4, iou_head_hidden_dim=32
    )
    return Sam3TrackerConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)


def preprocessor_config(image_size: int) -> dict:
    return {
        "image_processor_type": "Sam3ImageProcessor",
        "processor_class": "Sam3TrackerProcessor",
        "do_resize": True,
        "size": {"height": image_size, "width": image_size},
        "mask_size": {"height": image_size // 4, "width": image_size // 4},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "do_convert_rgb": True,
    }


def write_tiny_sam3(directory: Path, seed: int = 0) -> Path:
    import torch
    from transformers import Sam3TrackerModel

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = Sam3TrackerModel(tiny_config()).eval()
    model.save_pretrained(str(directory))
    (directory / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(TINY_IMAGE_SIZE), indent=2))
    return directory


def write_test_backend_models(root: Path) -> Path:
    """Placeholder weights for GEN3D_BACKEND=test: the files it insists exist, not real models."""
    (root / "sam3").mkdir(parents=True, exist_ok=True)
    (root / "sam3d").mkdir(parents=True, exist_ok=True)
    (root / "sam3" / "config.json").write_text(json.dumps({"model_type": "sam3_tracker", "note": "placeholder"}))
    (root / "sam3" / "model.safetensors").write_bytes(b"placeholder weights for the test backend\n")
    (root / "sam3d" / "pipeline.yaml").write_text("ss_generator_ckpt_path: ss_generator.ckpt\n")
    (root / "sam3d" / "ss_generator.ckpt").write_bytes(b"placeholder checkpoint\n")
    return root
