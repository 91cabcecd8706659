"""Request schemas for POST /invocations (the seed's JSON payloads).

Strict: unknown fields are rejected (a typo such as `promt_type` must not silently fall
back to a default), and every error names the offending field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InvalidRequest, UnknownTask

_SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")



def _json_number(value: Any) -> Any:
    """No coercion into numbers: `true` and `"12"` are not coordinates, labels or seeds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a JSON number, not {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value[:20]!r}"
    return {list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


S3Key = Annotated[str, Field(min_length=1, max_length=1024)]
Coordinate = Annotated[float, BeforeValidator(_json_number), Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=False)

    image_s3_key: S3Key
    bucket: str | None = Field(default=None, max_length=63)
    session_id: str | None = Field(default=None, max_length=128)

    @field_validator("session_id")
    @classmethod
    def _session(cls, value: str | None) -> str | None:
        if value is not None and not _SESSION_RE.match(value):
            raise ValueError("must be 1-128 characters of A-Z a-z 0-9 . _ - and start with a letter or digit")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET_RE.match(value):
            raise ValueError("is not a valid S3 bucket name")
        return value


class GetEmbeddingRequest(_Base):
    task: Literal["get_embedding"]


class SegmentRequest(_Base):
    task: Literal["segment"]
    prompt_type: Literal["point", "box"]
    point: tuple[Coordinate, Coordinate] | None = None
    point_label: Annotated[Literal[0, 1], BeforeValidator(_json_number)] = 1
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate] | None = None

    @model_validator(mode="after")
    def _prompt_matches_type(self) -> "SegmentRequest":
        if self.prompt_type == "point":
            if self.point is None:
                raise _FieldError("point", "is required when prompt_type is 'point'")
            if self.box is not None:
                raise _FieldError("box", "must be omitted when prompt_type is 'point'")
        else:
            if self.box is None:
                raise _FieldError("box", "is required when prompt_type is 'box'")
            if self.point is not None:
                raise _FieldError("point", "must be omitted when prompt_type is 'box'")
            x1, y1, x2, y2 = self.box
            if not (x2 > x1 and y2 > y1):
                raise _FieldError("box", "must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1")
        return self


class Generate3dRequest(_Base):
    task: Literal["generate_3d"]
    mask_s3_key: S3Key
    seed: Annotated[int, BeforeValidator(_json_number)] = Field(default=42, ge=0, le=2**31 - 1)
    output_formats: tuple[Literal["ply", "glb"], ...] = ("ply", "glb")

    @field_validator("output_formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one of 'ply', 'glb'")
        return tuple(dict.fromkeys(value))


Request = Union[GetEmbeddingRequest, SegmentRequest, Generate3dRequest]
_MODELS: dict[str, type[_Base]] = {
    "get_embedding": GetEmbeddingRequest,
    "segment": SegmentRequest,
    "generate_3d": Generate3dRequest,
}


class _FieldError(ValueError):
    """Raised inside a model validator to name a field other than the model itself."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def parse_request(payload: Any) -> Request:
    """Validate a decoded JSON payload; raise an ApiError naming the field on failure."""
    if not isinstance(payload, dict):
        raise InvalidRequest(f"request body must be a JSON object, got {type(payload).__name__}")
    task = payload.get("task")
    if task is None:
        raise InvalidRequest("field 'task' is required", field="task")
    if not isinstance(task, str) or task not in _MODELS:
        shown = task if isinstance(task, str) else type(task).__name__
        raise UnknownTask(
            f"unknown task {str(shown)[:64]!r}; expected one of {', '.join(_MODELS)}", field="task"
        )
    try:
        return _MODELS[task].model_validate(payload)
    except ValidationError as exc:
        raise _to_api_error(exc) from None


def _to_api_error(exc: ValidationError) -> InvalidRequest:
    first = exc.errors(include_url=False)[0]
    ctx_error = (first.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _FieldError):
        return InvalidRequest(f"field '{ctx_error.field}' {ctx_error.message}", field=ctx_error.field)
    loc = [str(part) for part in first.get("loc", ())]
    field = loc[0] if loc else None
    path = ".".join(loc) if loc else "request"
    message = first.get("msg", "is invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if first.get("type") == "extra_forbidden":
        message = "is not a recognised field"
    elif first.get("type") == "missing":
        message = "is required"
    count = exc.error_count()
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return InvalidRequest(f"field '{path}' {message}{more}", field=field)
