"""Settings, read once from the environment at startup.

Every variable is documented in container/README.md. Bad values fail at startup with a
message naming the variable, never at the first request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

TASKS = ("get_embedding", "segment", "generate_3d")
BACKENDS = ("sam3", "test")

#: Invocations the server holds at once unless GEN3D_MAX_CONCURRENCY says otherwise. The CLI
#: must refuse an async endpoint whose MaxConcurrentInvocationsPerInstance exceeds the value the
#: model's environment gives the container (this default when it sets none): SageMaker would
#: send more than the container admits, and the excess would fail with 503 server_busy.
DEFAULT_MAX_CONCURRENCY = 32
#: request threads beyond GEN3D_MAX_CONCURRENCY: /ping and fast refusals are answered on these,
#: so no number of invocations can make /ping wait for a thread
RESERVED_THREADS = 4
#: SageMaker's default InvocationTimeoutSeconds for asynchronous endpoints (15 min)
DEFAULT_INVOCATION_TIMEOUT_S = 900.0


class ConfigError(ValueError):
    """A setting in the environment is missing or invalid."""


try:
    from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
except ImportError:  # a Python without the pin (an image FROM a base built before it): plain pydantic
    BaseSettings = None

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: variables where an empty value means "empty", not "unset" (an empty key prefix is the bucket root)
_EMPTY_IS_A_VALUE = frozenset({"input_prefix", "output_prefix", "embeddings_prefix"})


def _env(name: str, default: Any, **constraints: Any) -> Any:
    return Field(default, validation_alias=name, **constraints)


class _Environment(BaseSettings if BaseSettings is not None else BaseModel):
    """The variables as the environment gives them, each checked on its own; Settings.from_env
    turns them into Settings. Read through pydantic-settings' environment source."""

    if BaseSettings is not None:
        model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)
    else:
        model_config = ConfigDict(extra="ignore", frozen=True)

    backend: Literal["sam3", "test"] = _env("GEN3D_BACKEND", "sam3")
    backend_3d: Literal["", "sam3", "test"] = _env("GEN3D_3D_BACKEND", "")
    model_dir: Path = _env("GEN3D_MODEL_DIR", Path("/opt/gen3d/models"))
    sam3_dir: Optional[Path] = _env("GEN3D_SAM3_DIR", None)
    sam3d_dir: Optional[Path] = _env("GEN3D_SAM3D_DIR", None)
    allowed_buckets: str = _env("GEN3D_ALLOWED_BUCKETS", "")
    input_prefix: str = _env("GEN3D_INPUT_PREFIX", "inputs/")
    output_prefix: str = _env("GEN3D_OUTPUT_PREFIX", "outputs/")
    embeddings_prefix: str = _env("GEN3D_EMBEDDINGS_PREFIX", "embeddings/")
    enable_3d: bool = _env("GEN3D_ENABLE_3D", True)
    disabled_tasks: str = _env("GEN3D_DISABLED_TASKS", "")
    log_level: str = _env("GEN3D_LOG_LEVEL", "INFO")
    bind_host: str = _env("GEN3D_BIND_HOST", "0.0.0.0")
    port: int = _env("SAGEMAKER_BIND_TO_PORT", 8080, ge=1, le=65535)
    max_concurrency: int = _env("GEN3D_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, ge=1)
    invocation_timeout_s: float = _env(
        "GEN3D_INVOCATION_TIMEOUT_SECONDS", DEFAULT_INVOCATION_TIMEOUT_S, gt=0, allow_inf_nan=False
    )
    graceful_timeout_s: int = _env("GEN3D_GRACEFUL_TIMEOUT", 25, ge=1)
    max_request_bytes: int = _env("GEN3D_MAX_REQUEST_BYTES", 1 << 20, ge=1024)
    max_image_bytes: int = _env("GEN3D_MAX_IMAGE_BYTES", 30 << 20, ge=1024)
    max_image_pixels: int = _env("GEN3D_MAX_IMAGE_PIXELS", 40_000_000, ge=1)
    max_image_side: int = _env("GEN3D_MAX_IMAGE_SIDE", 12_000, ge=1)
    embedding_cache_mb: int = _env("GEN3D_EMBEDDING_CACHE_MB", 1024, ge=0)
    embedding_cache_entries: int = _env("GEN3D_EMBEDDING_CACHE_ENTRIES", 64, ge=0)
    device: str = _env("GEN3D_DEVICE", "auto")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = _env("GEN3D_DTYPE", "auto")
    sam3d_code_dir: Path = _env("GEN3D_SAM3D_CODE_DIR", Path("/opt/sam-3d-objects/notebook"))
    test_delay_ms: int = _env("GEN3D_TEST_DELAY_MS", 0, ge=0)
    test_load_delay_ms: int = _env("GEN3D_TEST_LOAD_DELAY_MS", 0, ge=0)
    test_fault_injection: bool = _env("GEN3D_TEST_FAULT_INJECTION", False)
    git_revision: Optional[str] = _env("GEN3D_GIT_REVISION", None)
    threads: Optional[str] = _env("GEN3D_THREADS", None)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_others):
        # Values come in as keyword arguments, read from the given mapping by _read(): a test's
        # dict never mixes with the process environment.
        return (init_settings,)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if value == "" and info.field_name not in _EMPTY_IS_A_VALUE:
            return cls.model_fields[info.field_name].default
        return value

    @field_validator("sam3_dir", "sam3d_dir")
    @classmethod
    def _absolute(cls, value: Optional[Path]) -> Optional[Path]:
        if value is not None and not str(value).startswith("/"):
            raise ValueError("must be an absolute path inside the container")
        return value

    @field_validator("input_prefix", "output_prefix", "embeddings_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """A key prefix: no leading slash, no '..', and ending in '/' unless empty."""
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must be a relative S3 key prefix without '..'")
        return value + "/" if value and not value.endswith("/") else value

    @field_validator("disabled_tasks")
    @classmethod
    def _tasks(cls, value: str) -> str:
        unknown = sorted(set(_split(value)) - set(TASKS))
        if unknown:
            raise ValueError(f"names unknown task(s) {', '.join(unknown)}; tasks are {', '.join(TASKS)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"is not a logging level ({', '.join(_LOG_LEVELS)})")
        return value.upper()

    @field_validator("max_concurrency")
    @classmethod
    def _at_most_256(cls, value: int) -> int:
        if value > 256:
            raise ValueError("is over 256 (each invocation holds a thread and its image)")
        return value

    @field_validator("threads")
    @classmethod
    def _no_longer_read(cls, value: Optional[str]) -> None:
        if value:
            raise ValueError(
                "is no longer read: set GEN3D_MAX_CONCURRENCY (invocations held at once; "
                f"the worker gets that many threads plus {RESERVED_THREADS} kept free for /ping)"
            )
        return None


if BaseSettings is not None:

    class _MappingEnvSource(EnvSettingsSource):
        """pydantic-settings' environment source over a given mapping: os.environ in the server,
        a dict in tests."""

        def __init__(self, settings_cls: type, environ: Mapping[str, str]):
            self._environ = environ
            super().__init__(settings_cls, case_sensitive=True)

        def _load_env_vars(self) -> Mapping[str, Optional[str]]:
            return dict(self._environ)


def _read(env: Mapping[str, str]) -> dict[str, Any]:
    """The variables _Environment knows, by name."""
    if BaseSettings is not None:
        return _MappingEnvSource(_Environment, env)()
    names = {field.validation_alias for field in _Environment.model_fields.values()}
    return {name: value for name, value in env.items() if name in names}


#: pydantic's error types, as the end of "NAME='value' …"
_REASONS = {
    "int_parsing": "is not an integer",
    "float_parsing": "is not a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "is not a boolean (use true/false or 1/0)",
}


def _problem(error: Any, env: Mapping[str, str]) -> str:
    name = str(error["loc"][0]) if error["loc"] else "environment"
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "value_error":
        reason = str(ctx.get("error", error["msg"]))
    elif kind in _REASONS:
        reason = _REASONS[kind]
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
        op, bound = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le")}[kind]
        reason = f"must be {op} {ctx[bound]}"
    elif kind == "literal_error":
        reason = f"is not one of {ctx['expected']}"
    else:
        reason = error["msg"]
    return f"{name}={env.get(name)!r} {reason}"


def _split(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    backend: str = "sam3"
    # generate_3d's backend when it differs from GEN3D_BACKEND: "test" pairs the real SAM 3 with the
    # deterministic 3D stand-in (a CPU demo, where SAM 3D Objects cannot run).
    backend_3d: str = ""
    model_dir: Path = Path("/opt/gen3d/models")
    # Each model's own directory (the CLI passes models[].containerPath, or /opt/ml/model/NAME for
    # S3 model data); unset: GEN3D_MODEL_DIR/sam3 and GEN3D_MODEL_DIR/sam3d.
    sam3_dir: Path | None = None
    sam3d_dir: Path | None = None
    allowed_buckets: tuple[str, ...] = ()
    input_prefix: str = "inputs/"
    output_prefix: str = "outputs/"
    embeddings_prefix: str = "embeddings/"
    enable_3d: bool = True
    disabled_tasks: frozenset[str] = field(default_factory=frozenset)
    log_level: str = "INFO"
    bind_host: str = "0.0.0.0"
    port: int = 8080
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    invocation_timeout_s: float = DEFAULT_INVOCATION_TIMEOUT_S
    graceful_timeout_s: int = 25
    max_request_bytes: int = 1 << 20
    max_image_bytes: int = 30 << 20
    max_image_pixels: int = 40_000_000
    max_image_side: int = 12_000
    embedding_cache_mb: int = 1024
    embedding_cache_entries: int = 64
    device: str = "auto"
    dtype: str = "auto"
    sam3d_code_dir: Path = Path("/opt/sam-3d-objects/notebook")
    test_delay_ms: int = 0
    test_load_delay_ms: int = 0
    test_fault_injection: bool = False
    git_revision: str | None = None

    @property
    def enabled_tasks(self) -> tuple[str, ...]:
        tasks = [t for t in TASKS if t not in self.disabled_tasks]
        if not self.enable_3d:
            tasks = [t for t in tasks if t != "generate_3d"]
        return tuple(tasks)

    @property
    def threads(self) -> int:
        """Request threads of the one worker: every admitted invocation plus the reserve for /ping."""
        return self.max_concurrency + RESERVED_THREADS

    @property
    def needs_segmentation_model(self) -> bool:
        return any(t in self.enabled_tasks for t in ("get_embedding", "segment"))

    @property
    def needs_3d_model(self) -> bool:
        return "generate_3d" in self.enabled_tasks

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from the environment (or `env`); every bad variable named in one ConfigError."""
        env = os.environ if env is None else env
        try:
            read = _Environment(**_read(env))
        except ValidationError as exc:
            raise ConfigError("; ".join(_problem(e, env) for e in exc.errors())) from None
        values = read.model_dump(exclude={"threads"})
        settings = cls(
            **{
                **values,
                "allowed_buckets": _split(read.allowed_buckets),
                "disabled_tasks": frozenset(_split(read.disabled_tasks)),
            }
        )
        if not settings.enabled_tasks:
            raise ConfigError("every task is disabled (GEN3D_DISABLED_TASKS / GEN3D_ENABLE_3D)")
        return settings
