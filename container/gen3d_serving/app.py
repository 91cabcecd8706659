"""The WSGI app: GET /ping and POST /invocations.

Models load (and warm up: one synthetic encode) on a background thread after the worker
starts; until then /ping answers 503 (SageMaker keeps polling) and /invocations answers 503
model_not_ready. /ping reads a few fields and never takes the model lock. It never waits for
a request thread either: at most GEN3D_MAX_CONCURRENCY invocations are admitted at once (one
more is refused at once with 503 server_busy), and the worker has RESERVED_THREADS threads
beyond that, so however many invocations wait for the model, /ping finds a free thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Callable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from . import __version__
from .body import parse_json, read_body
from .concurrency import InferenceSlots, Invocation
from .config import Settings
from .errors import ApiError, NotReady, ServerBusy, internal_error_body, new_error_id
from .schemas import parse_request
from .service import InferenceService

log = logging.getLogger("gen3d.app")

#: the worker exits with gunicorn's WORKER_BOOT_ERROR so the master halts instead of respawning
EXIT_MODEL_LOAD_FAILED = 3
#: InvokeEndpointAsync's InvocationTimeoutSeconds, as a header. SageMaker does not document
#: forwarding it to the container; when a request carries it, it overrides the env default.
TIMEOUT_HEADER = "X-Amzn-SageMaker-InvocationTimeoutSeconds"


class Runtime:
    """Holds the service once loaded; `state` is loading | ready | failed."""

    def __init__(self, settings: Settings, build_service: Callable[[Settings], InferenceService]):
        self.settings = settings
        self._build_service = build_service
        self.service: InferenceService | None = None
        self.state = "loading"
        self.error: str | None = None
        self.load_seconds: float | None = None
        self.warmup_ms: float | None = None
        self.slots = InferenceSlots(settings.max_concurrency)

    def load(self) -> None:
        started = time.perf_counter()
        try:
            service = self._build_service(self.settings)
            warm = service.warm_up()
        except Exception as exc:
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
            log.critical("model loading failed; the server will exit", exc_info=True, extra={"error": self.error})
            raise
        if warm is None:
            log.info("warm-up skipped: no segmentation model loaded")
        else:
            self.warmup_ms = round(sum(warm.values()), 3)
            log.info("warm-up done", extra={"backend": self.settings.backend, **warm})
        self.service = service
        self.load_seconds = round(time.perf_counter() - started, 3)
        self.state = "ready"
        log.info(
            "models loaded; /ping now answers 200",
            extra={"load_seconds": self.load_seconds, "tasks": list(self.settings.enabled_tasks), "backend": self.settings.backend},
        )

    def load_in_background(self, on_failure: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                self.load()
            except Exception:
                on_failure()

        thread = threading.Thread(target=run, name="gen3d-model-loader", daemon=True)
        thread.start()
        return thread


def default_service_builder(settings: Settings) -> InferenceService:
    from .backends import load_backends
    from .storage import S3Storage

    segmenter, reconstructor = load_backends(settings)
    return InferenceService(settings, S3Storage(max_connections=settings.max_concurrency), segmenter, reconstructor)


def exit_process_on_load_failure() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_MODEL_LOAD_FAILED)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body, allow_nan=False), status=status, mimetype="application/json")


def create_app(runtime: Runtime) -> Flask:
    settings = runtime.settings
    app = Flask("gen3d_serving")
    # The body is read by _read_body with an exact limit; this only keeps werkzeug's own
    # parsers (never used here) bounded too.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes

    @app.get("/ping")
    def ping() -> Response:
        body = {
            "status": "healthy" if runtime.state == "ready" else runtime.state,
            "backend": settings.backend,
            "tasks": list(settings.enabled_tasks),
            "version": __version__,
            "revision": settings.git_revision,
            # The CLI compares MaxConcurrentInvocationsPerInstance with max_concurrency.
            "max_concurrency": runtime.slots.limit,
            "in_flight": runtime.slots.in_flight,
        }
        return _json(body, 200 if runtime.state == "ready" else 503)

    @app.post("/invocations")
    def invocations() -> Response:
        started = time.perf_counter()
        invocation = Invocation(request_id=new_error_id(), timeout_s=_timeout_s(settings))
        task: str | None = None
        session_id: str | None = None
        admitted = False
        try:
            raw = read_body(request.environ["wsgi.input"], request.content_length, settings.max_request_bytes)
            admitted = runtime.slots.try_acquire()
            if not admitted:
                raise ServerBusy(
                    f"all {runtime.slots.limit} inference slots are busy (GEN3D_MAX_CONCURRENCY={runtime.slots.limit}); "
                    "retry later, or send at most that many invocations at once"
                )
            payload = parse_json(raw, request.mimetype)
            if isinstance(payload, dict):
                # Client-supplied, logged before validation: bounded so a request cannot bloat the log.
                task = payload["task"][:64] if isinstance(payload.get("task"), str) else None
                session_id = payload["session_id"][:128] if isinstance(payload.get("session_id"), str) else None
            parsed = parse_request(payload)
            if runtime.state != "ready" or runtime.service is None:
                raise NotReady(f"models are {runtime.state}; retry when GET /ping answers 200")
            result = runtime.service.handle(parsed, invocation)
            _log_invocation(task, result.get("session_id"), 200, started, request_id=invocation.request_id)
            return _json(result, 200)
        except ApiError as exc:
            error_id = new_error_id() if exc.status >= 500 else None
            _log_invocation(
                task, invocation.session_id or session_id, exc.status, started,
                request_id=invocation.request_id, code=exc.code, error_id=error_id, error_message=exc.message,
            )
            response = _json(exc.body(error_id), exc.status)
            if isinstance(exc, ServerBusy):
                response.headers["Retry-After"] = "1"
            return response
        except HTTPException:
            raise  # werkzeug's own 4xx (e.g. body over MAX_CONTENT_LENGTH): handled below
        except Exception:
            error_id = new_error_id()
            log.error(
                "internal error",
                exc_info=True,
                extra={"error_id": error_id, "task": task, "session_id": session_id, "http_status": 500},
            )
            return _json(internal_error_body(error_id), 500)
        finally:
            if admitted:
                runtime.slots.release()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.code or 500, "http_error")
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"request body exceeds the limit of {settings.max_request_bytes} bytes (GEN3D_MAX_REQUEST_BYTES)"
        return _json({"status": "error", "error": {"code": code, "message": message}}, exc.code or 500)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception) -> Response:
        error_id = new_error_id()
        log.error("internal error", exc_info=exc, extra={"error_id": error_id, "http_status": 500})
        return _json(internal_error_body(error_id), 500)

    return app


def _timeout_s(settings: Settings) -> float:
    raw = request.headers.get(TIMEOUT_HEADER, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if 0 < value <= 3600:
            return value
        log.warning("ignoring an invalid invocation timeout header", extra={"header": TIMEOUT_HEADER, "value": raw[:40]})
    return settings.invocation_timeout_s


def _log_invocation(task, session_id, status: int, started: float, **extra: Any) -> None:
    fields = {
        "task": task,
        "session_id": session_id,
        "http_status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        **{k: v for k, v in extra.items() if v is not None},
    }
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    log.log(level, "invocation", extra=fields)
