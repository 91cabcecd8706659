"""The error taxonomy: every failure becomes a JSON response with a stable code.

`ApiError` subclasses are *expected* outcomes of bad input or missing objects and map to
4xx; anything else that escapes a handler is an internal failure: 500 with an `error_id`
that the JSON log line carries too, so an operator can find the stack for a response.
"""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self, error_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if error_id is not None:
            error["error_id"] = error_id
        return {"status": "error", "error": error}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"


class UnknownTask(ApiError):
    status, code = 400, "unknown_task"


class TaskNotAvailable(ApiError):
    status, code = 400, "task_not_available"


class InvalidKey(ApiError):
    status, code = 400, "invalid_s3_key"


class KeyNotAllowed(ApiError):
    status, code = 403, "s3_key_not_allowed"


class BucketNotAllowed(ApiError):
    status, code = 403, "bucket_not_allowed"


class ObjectNotFound(ApiError):
    status, code = 404, "s3_object_not_found"


class BucketNotFound(ApiError):
    status, code = 404, "s3_bucket_not_found"


class StorageAccessDenied(ApiError):
    status, code = 403, "s3_access_denied"


class InvalidImage(ApiError):
    status, code = 400, "invalid_image"


class ImageTooLarge(ApiError):
    status, code = 413, "image_too_large"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class ObjectTooLarge(ApiError):
    status, code = 413, "s3_object_too_large"


class InvalidMask(ApiError):
    status, code = 400, "invalid_mask"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class PromptOutsideImage(ApiError):
    status, code = 400, "prompt_outside_image"


class NotReady(ApiError):
    status, code = 503, "model_not_ready"


class ServerBusy(ApiError):
    """Every inference slot (GEN3D_MAX_CONCURRENCY) is taken: refused at once, never queued."""

    status, code = 503, "server_busy"


class InvocationTimeout(ApiError):
    """The invocation ran past its timeout and was abandoned at a step boundary."""

    status, code = 504, "invocation_timeout"


class UpstreamError(ApiError):
    """S3 (or another dependency) failed in a way the caller cannot fix: a 5xx with an id."""

    status, code = 502, "storage_error"


def new_error_id() -> str:
    return uuid.uuid4().hex[:16]


def internal_error_body(error_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "error": {
            "code": "internal_error",
            "message": f"internal error; search the container log for error_id {error_id}",
            "error_id": error_id,
        },
    }
