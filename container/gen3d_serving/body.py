"""The request body: read whole under an exact limit, then decoded as JSON.

A body over GEN3D_MAX_REQUEST_BYTES is refused whole (413 stating the limit), with or without
Content-Length; it is never cut to the limit and parsed. A body that is an image file rather
than a JSON request gets a 415 whose message shows the request to send.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .errors import ApiError, InvalidJson, PayloadTooLarge, UnsupportedMediaType

#: after a body over the limit, read and discard up to this much of the rest so the client
#: sees the 413 rather than a connection reset
_DRAIN_BYTES = 8 << 20
REQUEST_SHAPE = (
    '{"task": "segment", "image_s3_key": "inputs/photo.jpg", "prompt_type": "point", "point": [x, y]} '
    "(tasks: get_embedding, segment, generate_3d; optional bucket, session_id; see container/README.md)"
)
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


def read_body(stream: BinaryIO, declared: int | None, limit: int) -> bytes:
    """The whole body, or PayloadTooLarge: a body over `limit` is never cut to size and parsed.

    `stream` is the WSGI input and `declared` its Content-Length (None when chunked). gunicorn's
    wsgi.input ends where the body ends for both kinds (it sets wsgi.input_terminated), so
    reading limit + 1 bytes tells an oversized chunked body from one that fits.
    """
    if declared is not None and declared > limit:
        _discard(stream, _DRAIN_BYTES)
        raise PayloadTooLarge(
            f"request body is {declared} bytes; the limit is {limit} bytes (GEN3D_MAX_REQUEST_BYTES)"
        )
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = stream.read(min(64 << 10, limit + 1 - size))
        except Exception as exc:  # gunicorn's own errors for a malformed or cut-off (chunked) body
            raise ApiError(
                f"request body could not be read: {type(exc).__name__} (malformed chunked encoding or the client "
                "stopped sending)", code="unreadable_body",
            ) from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        _discard(stream, _DRAIN_BYTES)
        raise PayloadTooLarge(
            f"request body exceeds the limit of {limit} bytes (GEN3D_MAX_REQUEST_BYTES); "
            "it was refused whole, not truncated"
        )
    return b"".join(chunks)


def _discard(stream, budget: int) -> None:
    try:
        while budget > 0:
            chunk = stream.read(min(64 << 10, budget))
            if not chunk:
                return
            budget -= len(chunk)
    except OSError:
        return  # the client went away: nothing left to protect


def parse_json(raw: bytes, mimetype: str) -> Any:
    """The decoded JSON, or an error that shows the request to send (415 for an image file).

    The Content-Type is not checked: InvokeEndpointAsync passes whatever the caller set (often
    application/octet-stream); the body itself must be JSON. `mimetype` only names what an
    unrecognised non-JSON body claims to be.
    """
    if not raw:
        raise InvalidJson(f"request body is empty; send a JSON request such as {REQUEST_SHAPE}")
    kind = _image_kind(raw, mimetype)
    if kind is not None:
        raise UnsupportedMediaType(
            f"the request body is {kind} ({len(raw)} bytes); the body must be a JSON request that names "
            f"an image in S3, not the image itself. Upload the image to S3 and send {REQUEST_SHAPE}"
        )
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidJson(
            f"request body is not valid JSON: {str(exc)[:200]}; send a JSON request such as {REQUEST_SHAPE}"
        ) from None


def _image_kind(raw: bytes, mimetype: str) -> str | None:
    """'a PNG image' etc. when the body is an image file rather than a JSON request."""
    if raw[:1] in (b"{", b"[", b" ", b"\t", b"\r", b"\n"):
        return None
    for signature, name in _IMAGE_SIGNATURES:
        if raw.startswith(signature):
            return f"a {name} image"
    if raw.startswith(b"RIFF") and raw[8:12] == b"WEBP":
        return "a WEBP image"
    if mimetype.startswith("image/"):
        return f"not JSON but {mimetype} data"
    return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")
