"""How invocations share the worker: admission slots, the model lock, and per-request deadlines.

* `InferenceSlots`: at most GEN3D_MAX_CONCURRENCY invocations are admitted at once; one more
  is refused at once (503 server_busy) instead of queueing. The worker has that many request
  threads plus `config.RESERVED_THREADS`, so an invocation can never occupy the last thread and
  /ping always finds one free, however many invocations wait for the model.
* `ModelLock`: one model call at a time (one GPU), granted in arrival order so no request
  starves behind later ones, and a waiter gives up when its deadline passes.
* `Invocation`: one request's id and deadline. Handlers call `checkpoint(step)` before each
  step; past the deadline the request is abandoned there (504 invocation_timeout, one
  "invocation abandoned" log line) and the work it would have started is never started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .errors import InvocationTimeout

log = logging.getLogger("gen3d.invocation")


class InferenceSlots:
    """A non-blocking counter of admitted invocations."""

    def __init__(self, limit: int):
        self.limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._in_flight >= self.limit:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        return self._in_flight


class ModelLock:
    """A FIFO lock whose `acquire` takes a timeout (None: wait as long as it takes).

    `release` hands the lock straight to the oldest waiter and wakes only that one, so 32
    waiting invocations cost nothing while they wait (no thundering herd on every release).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            handed = threading.Event()
            self._waiters.append(handed)
        if handed.wait(timeout):
            return True
        with self._mutex:
            if handed.is_set():  # handed over between the timeout and now: it is ours
                return True
            self._waiters.remove(handed)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # ownership passes on; _held stays True
            else:
                self._held = False

    def __enter__(self) -> "ModelLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class Invocation:
    request_id: str
    timeout_s: float | None = None
    task: str | None = None
    session_id: str | None = None
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.timeout_s is None:
            return None
        return max(0.0, self.started + self.timeout_s - time.monotonic())

    def checkpoint(self, step: str) -> None:
        """Raise (and log) InvocationTimeout if the deadline has passed before `step` starts."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise self.abandon(step)

    def abandon(self, step: str) -> InvocationTimeout:
        elapsed_s = time.monotonic() - self.started
        log.warning(
            "invocation abandoned",
            extra={
                "request_id": self.request_id,
                "session_id": self.session_id,
                "task": self.task,
                "step": step,
                "elapsed_ms": round(elapsed_s * 1000, 3),
                "timeout_s": self.timeout_s,
            },
        )
        return InvocationTimeout(
            f"invocation {self.request_id} (session {self.session_id}) was abandoned after {elapsed_s:.1f} s, "
            f"before step {step!r}: its timeout is {self.timeout_s:g} s "
            "(GEN3D_INVOCATION_TIMEOUT_SECONDS or the X-Amzn-SageMaker-InvocationTimeoutSeconds header)"
        )
