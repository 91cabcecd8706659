"""Bounded, bomb-safe image decoding and PNG mask encoding.

Checks run on the header before any pixel is decoded: byte size (already bounded by the
S3 read), format allow-list, width/height/pixel count. Pillow's own decompression-bomb
guard is raised to an error too, so no code path can decode an oversized image.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageTooLarge, InvalidImage, InvalidMask

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "BMP", "TIFF"})


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int


def decode_image(data: bytes, limits: ImageLimits, *, key: str, field: str = "image_s3_key") -> Image.Image:
    """Decode an RGB image, rejecting malformed, oversized and decompression-bomb inputs."""
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"s3 object {key!r} is {len(data)} bytes; the limit is {limits.max_bytes}", field=field
        )
    image = _open_checked(data, limits, key=key, field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            rgb = image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"s3 object {key!r} is a decompression bomb: {exc}", field=field) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"s3 object {key!r} is not a decodable image: {exc}", field=field) from None
    return rgb


def decode_mask(data: bytes, limits: ImageLimits, *, key: str, expected_size: tuple[int, int]) -> np.ndarray:
    """Decode a mask PNG into a bool array of shape (height, width) == expected_size."""
    image = _open_checked(data, limits, key=key, field="mask_s3_key")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            if image.mode in ("RGBA", "LA"):
                array = np.asarray(image.getchannel("A"))
            else:
                array = np.asarray(image.convert("L"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"mask {key!r} is a decompression bomb: {exc}", field="mask_s3_key") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidMask(f"mask {key!r} is not a decodable image: {exc}", field="mask_s3_key") from None
    if tuple(array.shape) != tuple(expected_size):
        raise InvalidMask(
            f"mask {key!r} is {array.shape[0]}x{array.shape[1]} (height x width) but the image is "
            f"{expected_size[0]}x{expected_size[1]}",
            field="mask_s3_key",
        )
    mask = array > 0
    if not mask.any():
        raise InvalidMask(f"mask {key!r} is empty: no foreground pixel", field="mask_s3_key")
    return mask


def _open_checked(data: bytes, limits: ImageLimits, *, key: str, field: str) -> Image.Image:
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"s3 object {key!r} is {len(data)} bytes; the limit is {limits.max_bytes}", field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Image.open reads only the header: the size is known before any decoding.
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"s3 object {key!r} is a decompression bomb: {exc}", field=field) from None
    except Exception as exc:  # Pillow raises a zoo of types for garbage input
        raise InvalidImage(
            f"s3 object {key!r} is not an image in an accepted format "
            f"({', '.join(sorted(ALLOWED_FORMATS))}): {type(exc).__name__}",
            field=field,
        ) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage(f"s3 object {key!r} has an empty size {width}x{height}", field=field)
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"s3 object {key!r} is {width}x{height} pixels; limits are {limits.max_side} per side and "
            f"{limits.max_pixels} in total",
            field=field,
        )
    if getattr(image, "n_frames", 1) > 1:
        raise InvalidImage(f"s3 object {key!r} has {image.n_frames} frames; send a single image", field=field)
    return image


def encode_mask_png(mask: np.ndarray) -> bytes:
    """A bool (height, width) mask as an 8-bit grayscale PNG: 255 foreground, 0 background."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
