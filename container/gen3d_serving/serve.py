"""The container's entry point: `python3 -m gen3d_serving [serve]`.

SageMaker starts the image as `docker run IMAGE serve`; `docker run IMAGE` must do the same.
Settings and model files are checked *before* gunicorn starts, so a container without its
weights exits at once with a message naming the missing file. Then gunicorn runs in this
process (PID 1 under the exec-form ENTRYPOINT, so it receives SIGTERM directly): one
worker, so the models are held once; gthread with GEN3D_MAX_CONCURRENCY + RESERVED_THREADS
threads, so /ping is answered by a thread no invocation can hold while inference runs; SIGTERM drains in-flight requests for up to GEN3D_GRACEFUL_TIMEOUT seconds
(below SageMaker's 30 s before SIGKILL).
"""

from __future__ import annotations

import logging
import sys
from typing import Sequence

from . import __version__, logs
from .config import ConfigError, Settings

EXIT_USAGE = 64
EXIT_CONFIG = 2
EXIT_MODEL_FILES = 3

log = logging.getLogger("gen3d.serve")

USAGE = """usage: python3 -m gen3d_serving [serve | check]
  serve   start the HTTP server (the default; SageMaker runs `docker run IMAGE serve`)
  check   verify the model files the enabled tasks need are present, print them, and exit
settings come from GEN3D_* environment variables (see container/README.md)"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = "serve"
    if args and args[0] in ("serve", "check"):
        command, args = args[0], args[1:]
    if args:
        print(f"unexpected arguments {args!r}\n{USAGE}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"gen3d_serving: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logs.configure(settings.log_level)

    from .backends import missing_model_files, required_model_files

    missing = missing_model_files(settings)
    if command == "check":
        for path in required_model_files(settings):
            state = "MISSING" if path in missing else f"{path.stat().st_size} bytes"
            print(f"{path}\t{state}")
        return EXIT_MODEL_FILES if missing else 0
    if missing:
        for path in missing:
            log.critical("model file missing", extra={"path": str(path), "backend": settings.backend})
        names = ", ".join(str(p) for p in missing)
        print(f"gen3d_serving: model file(s) missing: {names}", file=sys.stderr)
        return EXIT_MODEL_FILES
    if not settings.allowed_buckets:
        log.warning("GEN3D_ALLOWED_BUCKETS is empty: every invocation will be refused with 403 bucket_not_allowed")
    log.info(
        "starting",
        extra={
            "version": __version__,
            "backend": settings.backend,
            "tasks": list(settings.enabled_tasks),
            "bind": f"{settings.bind_host}:{settings.port}",
            "model_dir": str(settings.model_dir),
            "threads": settings.threads,
            "max_concurrency": settings.max_concurrency,
            "invocation_timeout_s": settings.invocation_timeout_s,
        },
    )
    return run_gunicorn(settings)


def run_gunicorn(settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    class Gen3dApplication(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{settings.bind_host}:{settings.port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": settings.threads,
                # gthread's heartbeat runs on the worker's main loop, not the request threads,
                # so a long inference does not trip it; it catches a wedged worker.
                "timeout": 120,
                "graceful_timeout": settings.graceful_timeout_s,
                # keep-alive off: with it on, gunicorn 26.2's gthread worker was seen to wait the
                # whole graceful_timeout on SIGTERM (its open-connection count never reached 0).
                "keepalive": 0,
                "backlog": 256,
                "accesslog": None,
                "logconfig_dict": logs.gunicorn_logconfig(settings.log_level),
                "proc_name": "gen3d-serving",
                "preload_app": False,
                # gunicorn >= 25 opens a control socket under ~/.gunicorn by default: nothing here uses it.
                "control_socket_disable": True,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            # Runs in the worker after fork: models are loaded there, once.
            from .app import Runtime, create_app, default_service_builder, exit_process_on_load_failure

            logs.configure(settings.log_level)
            runtime = Runtime(settings, default_service_builder)
            runtime.load_in_background(on_failure=exit_process_on_load_failure)
            return create_app(runtime)

    Gen3dApplication().run()  # returns only via SystemExit from the arbiter
    return 0
