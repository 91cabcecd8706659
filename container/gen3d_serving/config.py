"""Settings, read once from the environment at startup.

Every variable is documented in container/README.md. Bad values fail at startup with a
message naming the variable, never at the first request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false or 1/0)")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be >= {minimum}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not (0 < value < float("inf")):
        raise ConfigError(f"{name}={raw!r} must be a positive number of seconds")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith("/"):
        raise ConfigError(f"{name}={raw!r} must be an absolute path inside the container")
    return Path(raw)


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    """A key prefix: no leading slash, no '..', and ending in '/' unless empty."""
    raw = env.get(name)
    value = default if raw is None else raw.strip()
    if value.startswith("/") or ".." in value.split("/"):
        raise ConfigError(f"{name}={value!r} must be a relative S3 key prefix without '..'")
    if value and not value.endswith("/"):
        value += "/"
    return value


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
        env = os.environ if env is None else env
        backend = env.get("GEN3D_BACKEND", "sam3").strip() or "sam3"
        if backend not in BACKENDS:
            raise ConfigError(f"GEN3D_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
        backend_3d = env.get("GEN3D_3D_BACKEND", "").strip()
        if backend_3d not in ("", *BACKENDS):
            raise ConfigError(f"GEN3D_3D_BACKEND={backend_3d!r} is not one of {', '.join(BACKENDS)} (or unset: GEN3D_BACKEND's)")
        disabled = frozenset(_list(env, "GEN3D_DISABLED_TASKS"))
        unknown = sorted(disabled - set(TASKS))
        if unknown:
            raise ConfigError(
                f"GEN3D_DISABLED_TASKS names unknown task(s) {', '.join(unknown)}; tasks are {', '.join(TASKS)}"
            )
        log_level = env.get("GEN3D_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"GEN3D_LOG_LEVEL={log_level!r} is not a logging level")
        device = env.get("GEN3D_DEVICE", "auto").strip() or "auto"
        dtype = env.get("GEN3D_DTYPE", "auto").strip() or "auto"
        if env.get("GEN3D_THREADS", "").strip():
            raise ConfigError(
                "GEN3D_THREADS is no longer read: set GEN3D_MAX_CONCURRENCY (invocations held at once; "
                f"the worker gets that many threads plus {RESERVED_THREADS} kept free for /ping)"
            )
        if dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ConfigError(f"GEN3D_DTYPE={dtype!r} is not one of auto, float32, bfloat16, float16")
        settings = cls(
            backend=backend,
            backend_3d=backend_3d,
            model_dir=Path(env.get("GEN3D_MODEL_DIR", "/opt/gen3d/models")),
            sam3_dir=_path(env, "GEN3D_SAM3_DIR"),
            sam3d_dir=_path(env, "GEN3D_SAM3D_DIR"),
            allowed_buckets=_list(env, "GEN3D_ALLOWED_BUCKETS"),
            input_prefix=_prefix(env, "GEN3D_INPUT_PREFIX", "inputs/"),
            output_prefix=_prefix(env, "GEN3D_OUTPUT_PREFIX", "outputs/"),
            embeddings_prefix=_prefix(env, "GEN3D_EMBEDDINGS_PREFIX", "embeddings/"),
            enable_3d=_bool(env, "GEN3D_ENABLE_3D", True),
            disabled_tasks=disabled,
            log_level=log_level,
            bind_host=env.get("GEN3D_BIND_HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=_int(env, "SAGEMAKER_BIND_TO_PORT", 8080, minimum=1),
            max_concurrency=_int(env, "GEN3D_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, minimum=1),
            invocation_timeout_s=_seconds(env, "GEN3D_INVOCATION_TIMEOUT_SECONDS", DEFAULT_INVOCATION_TIMEOUT_S),
            graceful_timeout_s=_int(env, "GEN3D_GRACEFUL_TIMEOUT", 25, minimum=1),
            max_request_bytes=_int(env, "GEN3D_MAX_REQUEST_BYTES", 1 << 20, minimum=1024),
            max_image_bytes=_int(env, "GEN3D_MAX_IMAGE_BYTES", 30 << 20, minimum=1024),
            max_image_pixels=_int(env, "GEN3D_MAX_IMAGE_PIXELS", 40_000_000, minimum=1),
            max_image_side=_int(env, "GEN3D_MAX_IMAGE_SIDE", 12_000, minimum=1),
            embedding_cache_mb=_int(env, "GEN3D_EMBEDDING_CACHE_MB", 1024),
            embedding_cache_entries=_int(env, "GEN3D_EMBEDDING_CACHE_ENTRIES", 64),
            device=device,
            dtype=dtype,
            sam3d_code_dir=Path(env.get("GEN3D_SAM3D_CODE_DIR", "/opt/sam-3d-objects/notebook")),
            test_delay_ms=_int(env, "GEN3D_TEST_DELAY_MS", 0),
            test_load_delay_ms=_int(env, "GEN3D_TEST_LOAD_DELAY_MS", 0),
            test_fault_injection=_bool(env, "GEN3D_TEST_FAULT_INJECTION", False),
            git_revision=env.get("GEN3D_GIT_REVISION") or None,
        )
        if settings.max_concurrency > 256:
            raise ConfigError(f"GEN3D_MAX_CONCURRENCY={settings.max_concurrency} is over 256 (each invocation holds a thread and its image)")
        if settings.port > 65535:
            raise ConfigError(f"SAGEMAKER_BIND_TO_PORT={settings.port} is not a TCP port")
        if not settings.enabled_tasks:
            raise ConfigError("every task is disabled (GEN3D_DISABLED_TASKS / GEN3D_ENABLE_3D)")
        return settings
