"""The data plane behind the emulated SageMaker control plane.

What phases 5–8 configured actually runs here:

* every endpoint instance is a container of the model's image (pulled by digest), started with
  `serve` on the host network and its own port (SAGEMAKER_BIND_TO_PORT, for images labelled
  accept-bind-to-port, as SageMaker does when it shares a host), S3 reached at this emulator;
* an endpoint is `Creating` until every instance answers GET /ping with 200, `Failed` with
  SageMaker's reason when one does not within ContainerStartupHealthCheckTimeoutInSeconds (its
  log lines land in CloudWatch Logs under /aws/sagemaker/Endpoints/NAME, one stream per
  instance); UpdateEndpoint brings up the new fleet, then retires the old one, and rolls back
  when the new one fails;
* InvokeEndpointAsync queues the request; a dispatcher hands it to an instance with a free slot
  (at most MaxConcurrentInvocationsPerInstance in flight each); a worker POSTs the input object
  to /invocations and writes the response to the output location, or the error to the failure
  location; a request whose instance dies is retried elsewhere, never dropped;
* the backlog metrics are published and the scaling policies are evaluated (autoscaler.py).

One lock (the control plane's) guards every structure; nothing holds it across a Docker or
HTTP call.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import boto3
from botocore.config import Config

from . import docker_cli
from .clock import Clock

PING_FAILURE_REASON = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
DEFAULT_STARTUP_TIMEOUT_S = 600  # what SageMaker allows when the config does not say
DEFAULT_INVOCATION_TIMEOUT_S = 900  # 15 min
DEFAULT_REQUEST_TTL_S = 6 * 3600
MAX_ATTEMPTS = 3  # one request, at most this many instances (an instance that dies mid-request)
CREDENTIAL_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Job:
    inference_id: str
    input_location: str
    output_location: str
    failure_location: str
    content_type: str
    accept: str | None
    custom_attributes: str | None
    ttl_s: float
    timeout_s: float
    arrived: float  # monotonic
    arrived_at: str  # wall clock, ISO
    attempts: int = 0
    cold_start: dict[str, Any] | None = None
    # monotonic stamps of the last attempt, for the overhead report
    post_start: float = 0.0
    post_end: float = 0.0


@dataclass
class Instance:
    id: str
    name: str
    port: int
    fleet: "Fleet"
    status: str = "pending"  # pending | starting | healthy | failed | stopping | gone
    container: str | None = None
    started: float = 0.0
    healthy_at: float | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    served: int = 0
    reason: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "container": self.name, "port": self.port, "status": self.status,
            "inFlight": self.in_flight, "maxInFlight": self.max_in_flight, "served": self.served,
            "startupSeconds": round(self.healthy_at - self.started, 3) if self.healthy_at else None,
            "reason": self.reason,
        }


@dataclass
class Fleet:
    """The instances of one endpoint config's variant."""

    config_name: str
    variant: str
    model_name: str
    image: str
    environment: dict[str, str]
    startup_timeout_s: float
    max_concurrency: int
    desired: int
    bind_to_port: bool = True
    model_dir: str | None = None
    instances: list[Instance] = field(default_factory=list)
    failure: str | None = None
    consecutive_failures: int = 0
    ready: bool = False  # image pulled, model data copied

    def alive(self) -> list[Instance]:
        return [i for i in self.instances if i.status in ("pending", "starting", "healthy")]

    def healthy(self) -> list[Instance]:
        return [i for i in self.instances if i.status == "healthy"]


@dataclass
class Endpoint:
    account: str
    region: str
    name: str
    backend: Any  # moto's SageMaker backend
    fleet: Fleet | None = None  # serving
    next_fleet: Fleet | None = None  # being brought up (create / update)
    retired: list[Fleet] = field(default_factory=list)
    queue: deque[Job] = field(default_factory=deque)
    in_flight: dict[str, Job] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: {"submitted": 0, "succeeded": 0, "failed": 0, "retried": 0, "expired": 0, "instanceDeaths": 0})
    cold_starts: list[dict[str, Any]] = field(default_factory=list)
    open_cold_start: dict[str, Any] | None = None
    deleted: bool = False
    # per finished request: where its time went (ms), newest last
    timings: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    # autoscaling state (autoscaler.py)
    scaling: dict[str, Any] = field(default_factory=dict)

    @property
    def log_group(self) -> str:
        return f"/aws/sagemaker/Endpoints/{self.name}"

    def backlog(self) -> int:
        return len(self.queue) + len(self.in_flight)

    def oldest_age(self) -> float:
        arrivals = [j.arrived for j in self.queue] + [j.arrived for j in self.in_flight.values()]
        return time.monotonic() - min(arrivals) if arrivals else 0.0

    def async_output(self) -> dict[str, Any]:
        cfg = self.endpoint_object().__dict__.get("async_inference_config") or {}
        return cfg.get("OutputConfig") or {}

    def endpoint_object(self) -> Any:
        return self.backend.endpoints.get(self.name)


class InvokeError(Exception):
    """A 4xx for InvokeEndpointAsync, with SageMaker's error code."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class DataPlane:
    def __init__(self, lock: threading.RLock, endpoint_url: str, clock: Clock, state_dir: str):
        self.lock = lock
        self.wake = threading.Condition(lock)
        self.endpoint_url = endpoint_url
        self.clock = clock
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.endpoints: dict[tuple[str, str, str], Endpoint] = {}
        # Every InferenceId ever received (across endpoints, deletions and re-creations): how many
        # times it was submitted and how each attempt ended — GET /local-sagemaker/inferences.
        self.inferences: dict[str, dict[str, Any]] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._stopping = threading.Event()
        self._kick = threading.Event()  # reconcile now (a desired count changed)
        self.autoscaler: Any = None  # set by server.py (autoscaler.Autoscaler)

    # ---------------------------------------------------------------- clients to this emulator
    def client(self, service: str, region: str) -> Any:
        with self.lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=region,
                    aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, max_pool_connections=64),
                )
            return self._clients[key]

    # ---------------------------------------------------------------- S3, in process
    # Inputs and outputs go straight to moto's S3 backend: the same objects a client reads over
    # HTTP, without a signed round trip through this server for each request (the emulator's own
    # cost per request stays a few milliseconds).
    @staticmethod
    def _s3(ep: Endpoint) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[ep.account]["aws"]

    def read_object(self, ep: Endpoint, uri: str) -> bytes:
        bucket, key = split_s3(uri)
        obj = self._s3(ep).get_object(bucket, key)  # NoSuchBucket raises
        if obj is None:
            raise KeyError(f"no object {uri}")
        return bytes(obj.value)

    def write_object(self, ep: Endpoint, uri: str, data: bytes, content_type: str) -> None:
        bucket, key = split_s3(uri)
        written = self._s3(ep).put_object(bucket, key, value=data)
        written.set_metadata({"Content-Type": content_type})

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        reaped = docker_cli.reap_orphans()
        if reaped:
            _log(f"removed {len(reaped)} container(s) left by an earlier run: {', '.join(reaped)}")
        for target in (self._dispatch_loop, self._reconcile_loop):
            threading.Thread(target=target, daemon=True, name=target.__name__).start()

    def stop(self) -> None:
        """Stop and remove every container this emulator started (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        with self.lock:
            instances = [i for e in self.endpoints.values() for f in self._fleets(e) for i in f.instances if i.container]
            self.endpoints.clear()
            self.wake.notify_all()
        threads = [threading.Thread(target=docker_cli.remove, args=(i.container, 5)) for i in instances]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    def reset(self) -> None:
        """Before moto's reset: every endpoint goes, with its containers."""
        with self.lock:
            endpoints = list(self.endpoints.values())
            self.inferences.clear()
        for ep in endpoints:
            self._retire_endpoint(ep, reason="the emulator was reset")

    def get(self, account: str, region: str, name: str) -> Endpoint | None:
        return self.endpoints.get((account, region, name))

    def _fleets(self, ep: Endpoint) -> list[Fleet]:
        return [f for f in (ep.fleet, ep.next_fleet, *ep.retired) if f is not None]

    # Called by the control plane with the lock held.
    def on_create(self, backend: Any, endpoint: Any) -> None:
        ep = Endpoint(backend.account_id, backend.region_name, endpoint.endpoint_name, backend)
        self.endpoints[(ep.account, ep.region, ep.name)] = ep
        endpoint.endpoint_status = "Creating"
        threading.Thread(target=self._bring_up, args=(ep, endpoint.endpoint_config_name, "Creating", None), daemon=True).start()

    def on_update(self, backend: Any, endpoint: Any, previous: dict[str, Any]) -> None:
        ep = self.get(backend.account_id, backend.region_name, endpoint.endpoint_name)
        if ep is None:  # created before the data plane ran: adopt it
            ep = Endpoint(backend.account_id, backend.region_name, endpoint.endpoint_name, backend)
            self.endpoints[(ep.account, ep.region, ep.name)] = ep
        endpoint.endpoint_status = "Updating"
        threading.Thread(target=self._bring_up, args=(ep, endpoint.endpoint_config_name, "Updating", previous), daemon=True).start()

    def on_delete(self, backend: Any, name: str) -> None:
        ep = self.get(backend.account_id, backend.region_name, name)
        if ep is not None:
            threading.Thread(target=self._retire_endpoint, args=(ep, "the endpoint was deleted"), daemon=True).start()

    def _retire_endpoint(self, ep: Endpoint, reason: str) -> None:
        with self.lock:
            ep.deleted = True
            self.endpoints.pop((ep.account, ep.region, ep.name), None)
            waiting = list(ep.queue)
            ep.queue.clear()
            for fleet in self._fleets(ep):
                fleet.desired = 0
            instances = [i for f in self._fleets(ep) for i in f.instances if i.container and i.status != "gone"]
            for i in instances:
                i.status = "stopping"
        for job in waiting:  # none is lost: each gets its failure object
            self._write_failure(ep, job, f"Request not processed: {reason}.")
        for i in instances:
            docker_cli.remove(i.container, 5)
            with self.lock:
                i.status = "gone"

    # ---------------------------------------------------------------- bring-up
    def _resolve_fleet(self, ep: Endpoint, config_name: str, counts: dict[str, int] | None) -> tuple[Fleet, dict[str, Any]]:
        with self.lock:
            config = ep.backend.endpoint_configs.get(config_name)
            if config is None:
                raise RuntimeError(f"endpoint configuration {config_name} does not exist")
            variant = config.production_variants[0]
            model = ep.backend._models.get(variant.get("ModelName"))
            if model is None:
                raise RuntimeError(f"model {variant.get('ModelName')} does not exist")
            container = dict(model.primary_container or (model.containers or [{}])[0])
            cfg = config.async_inference_config or {}
            client_cfg = cfg.get("ClientConfig") or {}
            desired = int(variant.get("InitialInstanceCount") or 1)
            if counts and variant["VariantName"] in counts:
                desired = counts[variant["VariantName"]]
            return Fleet(
                config_name=config_name,
                variant=variant["VariantName"],
                model_name=variant["ModelName"],
                image=container.get("Image", ""),
                environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
                startup_timeout_s=float(variant.get("ContainerStartupHealthCheckTimeoutInSeconds") or DEFAULT_STARTUP_TIMEOUT_S),
                max_concurrency=int(client_cfg.get("MaxConcurrentInvocationsPerInstance") or 1),
                desired=desired,
                model_dir=None,
            ), container

    def _prepare(self, ep: Endpoint, fleet: Fleet, container: dict[str, Any]) -> None:
        """Pull the image by digest, read its labels, copy uncompressed S3 model data."""
        if not fleet.image:
            raise RuntimeError("the model has no container image")
        docker_cli.pull(fleet.image)
        labels = docker_cli.image_labels(fleet.image)
        fleet.bind_to_port = str(labels.get(docker_cli.BIND_TO_PORT_LABEL, "")).lower() == "true"
        source = (container.get("ModelDataSource") or {}).get("S3DataSource")
        if source:
            fleet.model_dir = self._copy_model_data(ep, source["S3Uri"])
        elif container.get("ModelDataUrl"):
            raise RuntimeError("compressed ModelDataUrl (model.tar.gz) is not supported by the local SageMaker; use ModelDataSource with CompressionType None")

    def _copy_model_data(self, ep: Endpoint, uri: str) -> str:
        bucket, prefix = split_s3(uri)
        target = tempfile.mkdtemp(prefix=f"model-{ep.name}-", dir=self.state_dir)
        s3 = self.client("s3", ep.region)
        paginator = s3.get_paginator("list_objects_v2")
        copied = 0
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix):].lstrip("/")
                if not rel or rel.endswith("/"):
                    continue
                path = os.path.join(target, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                s3.download_file(bucket, obj["Key"], path)
                copied += 1
        if copied == 0:
            raise RuntimeError(f"no model data under {uri}")
        return target

    def _bring_up(self, ep: Endpoint, config_name: str, kind: str, previous: dict[str, Any] | None) -> None:
        counts = None
        if kind == "Updating":
            with self.lock:
                obj = ep.endpoint_object()
                # RetainAllVariantProperties keeps counts: the control plane already copied them.
                if obj is not None and previous is not None:
                    counts = {v["VariantName"]: v.get("DesiredInstanceCount") for v in obj.production_variants if v.get("DesiredInstanceCount") is not None}
        try:
            fleet, container = self._resolve_fleet(ep, config_name, counts)
            self._prepare(ep, fleet, container)
        except (RuntimeError, docker_cli.DockerError, KeyError, ValueError) as exc:
            self._finish_bring_up(ep, None, kind, previous, f"{exc}")
            return
        with self.lock:
            fleet.ready = True
            ep.next_fleet = fleet
            self._kick.set()
            # The reconciler starts the instances; wait for all healthy or one failed.
            while not ep.deleted and fleet.failure is None and len(fleet.healthy()) < fleet.desired:
                self.wake.wait(timeout=1.0)
            if ep.deleted:
                return
            failure = fleet.failure
        self._finish_bring_up(ep, fleet, kind, previous, failure)

    def _finish_bring_up(self, ep: Endpoint, fleet: Fleet | None, kind: str, previous: dict[str, Any] | None, failure: str | None) -> None:
        from moto.sagemaker import models as sm_models

        with self.lock:
            obj = ep.endpoint_object()
            if obj is None or ep.deleted:
                return
            obj.last_modified_time = sm_models.utcnow()
            if failure is None and fleet is not None:
                old = ep.fleet
                ep.fleet, ep.next_fleet = fleet, None
                if old is not None:
                    old.desired = 0
                    ep.retired.append(old)
                obj.endpoint_status = "InService"
                obj.failure_reason = None
                self._sync_counts(ep)
            else:
                if fleet is not None:
                    fleet.desired = 0
                    ep.retired.append(fleet)
                ep.next_fleet = None
                obj.failure_reason = failure
                if kind == "Updating" and previous is not None:
                    # SageMaker rolls a failed update back to the previous config and stays InService.
                    obj.endpoint_config_name = previous["endpoint_config_name"]
                    obj.production_variants = previous["production_variants"]
                    obj.__dict__["async_inference_config"] = previous.get("async_inference_config")
                    obj.endpoint_status = "InService"
                else:
                    obj.endpoint_status = "Failed"
            self.wake.notify_all()
        _log(f"endpoint {ep.name}: {kind} -> {obj.endpoint_status}" + (f" ({failure})" if failure else ""))

    def _sync_counts(self, ep: Endpoint) -> None:
        """Write the true counts into moto's variant records (lock held)."""
        obj = ep.endpoint_object()
        if obj is None or ep.fleet is None:
            return
        for variant in obj.production_variants:
            if variant.get("VariantName") == ep.fleet.variant:
                variant["CurrentInstanceCount"] = len(ep.fleet.healthy())
                variant["DesiredInstanceCount"] = ep.fleet.desired

    def set_desired(self, ep: Endpoint, desired: int) -> None:
        """Autoscaling's entry point (lock held)."""
        if ep.fleet is None:
            return
        ep.fleet.desired = desired
        ep.fleet.consecutive_failures = 0
        self._sync_counts(ep)
        self._kick.set()

    # ---------------------------------------------------------------- instances
    def _reconcile_loop(self) -> None:
        owner = os.getpid()
        while not self._stopping.is_set():
            self._kick.wait(timeout=0.5)
            self._kick.clear()
            try:
                states = docker_cli.running_states(owner)
            except docker_cli.DockerError as exc:
                _log(f"docker ps failed: {exc}")
                states = None
            with self.lock:
                for ep in list(self.endpoints.values()):
                    self._reconcile(ep, states)
                self.wake.notify_all()

    def _reconcile(self, ep: Endpoint, states: dict[str, str] | None) -> None:
        for fleet in self._fleets(ep):
            if states is not None:
                for inst in fleet.instances:
                    if inst.status == "healthy" and inst.container and states.get(inst.container) != "running":
                        self._mark_dead(ep, inst, f"container {states.get(inst.container, 'removed')}")
            if not fleet.ready:
                continue
            alive = fleet.alive()
            gap = fleet.desired - len(alive)
            # An instance that keeps failing is not restarted forever; a bring-up stops at the first.
            can_start = fleet.failure is None and fleet.consecutive_failures < 3
            while gap > 0 and can_start:
                self._launch(ep, fleet)
                gap -= 1
            if gap < 0:
                # Scale in: idle instances first; busy ones finish their requests first.
                victims = sorted(alive, key=lambda i: (i.status == "healthy", i.in_flight))
                for inst in victims[: -gap]:
                    if inst.status == "healthy" and inst.in_flight > 0:
                        continue
                    inst.status = "stopping"
                    threading.Thread(target=self._stop_instance, args=(ep, inst), daemon=True).start()
            fleet.instances = [i for i in fleet.instances if i.status != "gone"]
        ep.retired = [f for f in ep.retired if any(i.status in ("pending", "starting", "healthy", "stopping") for i in f.instances)]
        self._sync_counts(ep)
        if self.autoscaler is not None:
            self.autoscaler.after_reconcile(ep)

    def _mark_dead(self, ep: Endpoint, inst: Instance, reason: str) -> None:
        """An instance that stopped on its own (lock held): out of rotation, its container removed;
        the reconciler starts a replacement."""
        if inst.status == "gone":
            return
        inst.status, inst.reason = "gone", reason
        ep.counters["instanceDeaths"] += 1
        _log(f"endpoint {ep.name}: instance {inst.id} stopped unexpectedly ({reason})")
        if inst.container:
            threading.Thread(target=docker_cli.kill_remove, args=(inst.container,), daemon=True).start()
        self._kick.set()

    def _launch(self, ep: Endpoint, fleet: Fleet) -> None:
        ident = "i-" + uuid.uuid4().hex[:17]
        port = free_port() if fleet.bind_to_port else 8080
        name = f"lsm-{ep.name[:40]}-{ident}"
        inst = Instance(id=ident, name=name, port=port, fleet=fleet, status="pending", started=time.monotonic())
        fleet.instances.append(inst)
        threading.Thread(target=self._run_instance, args=(ep, fleet, inst), daemon=True).start()

    def _run_instance(self, ep: Endpoint, fleet: Fleet, inst: Instance) -> None:
        env = dict(fleet.environment)
        if fleet.bind_to_port:
            env["SAGEMAKER_BIND_TO_PORT"] = str(inst.port)
        env.setdefault("AWS_ENDPOINT_URL", self.endpoint_url)
        env.setdefault("AWS_REGION", ep.region)
        env.setdefault("AWS_DEFAULT_REGION", ep.region)
        if not fleet.bind_to_port and self._port_taken(8080):
            self._instance_failed(ep, fleet, inst, "the image does not accept SAGEMAKER_BIND_TO_PORT (label com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true) and port 8080 on this machine is taken")
            return
        try:
            inst.container = docker_cli.run_detached(
                docker_cli.RunSpec(
                    image=fleet.image, name=inst.name, endpoint=ep.name, instance_id=inst.id,
                    environment=env, pass_through=CREDENTIAL_NAMES, model_dir=fleet.model_dir,
                )
            )
        except docker_cli.DockerError as exc:
            self._instance_failed(ep, fleet, inst, f"the container did not start: {exc}")
            return
        with self.lock:
            inst.status = "starting"
            if ep.open_cold_start is not None and "instanceStarted" not in ep.open_cold_start:
                ep.open_cold_start["instanceStarted"] = time.time()
        threading.Thread(target=self._ship_logs, args=(ep, inst), daemon=True).start()
        deadline = inst.started + fleet.startup_timeout_s
        while time.monotonic() < deadline and not self._stopping.is_set():
            with self.lock:
                if inst.status == "stopping" or ep.deleted:
                    return
            if self._ping(inst.port):
                with self.lock:
                    inst.status, inst.healthy_at = "healthy", time.monotonic()
                    fleet.consecutive_failures = 0
                    if ep.open_cold_start is not None and "firstPing" not in ep.open_cold_start:
                        ep.open_cold_start["firstPing"] = time.time()
                    self.wake.notify_all()
                _log(f"endpoint {ep.name}: instance {inst.id} healthy on 127.0.0.1:{inst.port} after {inst.healthy_at - inst.started:.1f} s")
                return
            state = docker_cli.state(inst.container)
            if state not in ("running", "created", "restarting"):
                # It exited: SageMaker would keep failing until the timeout; the outcome is the same.
                break
            time.sleep(0.2)
        reason = PING_FAILURE_REASON.format(variant=fleet.variant)
        time.sleep(0.5)  # let the log shipper read the container's last lines
        self._instance_failed(ep, fleet, inst, reason)

    def _instance_failed(self, ep: Endpoint, fleet: Fleet, inst: Instance, reason: str) -> None:
        with self.lock:
            inst.status, inst.reason = "failed", reason
            fleet.consecutive_failures += 1
            if ep.next_fleet is fleet or ep.fleet is None:
                fleet.failure = reason
            self.wake.notify_all()
        _log(f"endpoint {ep.name}: instance {inst.id} failed: {reason}")
        if inst.container:
            docker_cli.remove(inst.container, 2)
        with self.lock:
            inst.status = "gone"

    def _stop_instance(self, ep: Endpoint, inst: Instance) -> None:
        if inst.container:
            docker_cli.remove(inst.container, 30)
        with self.lock:
            inst.status = "gone"
            self.wake.notify_all()
        _log(f"endpoint {ep.name}: instance {inst.id} stopped")

    @staticmethod
    def _port_taken(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    @staticmethod
    def _ping(port: int) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/ping")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def _ship_logs(self, ep: Endpoint, inst: Instance) -> None:
        """The container's output → CloudWatch Logs /aws/sagemaker/Endpoints/NAME, stream VARIANT/INSTANCE."""
        logs = self.client("logs", ep.region)
        stream = f"{inst.fleet.variant}/{inst.id}"
        try:
            logs.create_log_group(logGroupName=ep.log_group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        try:
            logs.create_log_stream(logGroupName=ep.log_group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        proc = docker_cli.follow_logs(inst.container or inst.name)
        assert proc.stdout is not None
        for line in proc.stdout:
            stamp, _, message = line.rstrip("\n").partition(" ")
            try:
                ms = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")[:26] + "+00:00").timestamp() * 1000) if "T" in stamp else int(time.time() * 1000)
            except ValueError:
                ms, message = int(time.time() * 1000), line.rstrip("\n")
            try:
                logs.put_log_events(logGroupName=ep.log_group, logStreamName=stream, logEvents=[{"timestamp": ms, "message": message or " "}])
            except Exception as exc:  # the endpoint (and its log group) may be gone after a reset
                _log(f"log shipping for {inst.id} stopped: {exc}")
                break
        proc.wait()

    # ---------------------------------------------------------------- async invocations
    def invoke_async(self, backend: Any, name: str, headers: Callable[[str], str | None]) -> Job:
        """InvokeEndpointAsync: validate, queue, answer with the locations at once."""
        input_location = headers("X-Amzn-SageMaker-InputLocation")
        if not input_location:
            raise InvokeError("ValidationError", "InputLocation is required.")
        with self.lock:
            ep = self.get(backend.account_id, backend.region_name, name)
            obj = backend.endpoints.get(name)
        if ep is None or obj is None:
            arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:endpoint/{name}"
            raise InvokeError("ValidationError", f"Endpoint {name} of account {backend.account_id} not found. ({arn})")
        if obj.endpoint_status not in ("InService", "Updating"):
            raise InvokeError("ValidationError", f"Endpoint {name} is not in service (status {obj.endpoint_status}).")
        out_cfg = ep.async_output()
        if not out_cfg.get("S3OutputPath"):
            raise InvokeError("ValidationError", f"Endpoint {name} is not an asynchronous endpoint (no AsyncInferenceConfig).")
        try:
            bucket, key = split_s3(input_location)
            if self._s3(ep).get_object(bucket, key) is None:
                raise KeyError(input_location)
        except Exception as exc:
            raise InvokeError("ValidationError", f"Could not read the input at {input_location}: the object does not exist or is not readable ({type(exc).__name__}).") from exc

        inference_id = headers("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
        filename = headers("X-Amzn-SageMaker-Filename") or f"{inference_id}.out"
        extension = (headers("X-Amzn-SageMaker-S3OutputPathExtension") or "").strip("/")
        out_path = out_cfg["S3OutputPath"].rstrip("/")
        fail_path = (out_cfg.get("S3FailurePath") or out_cfg["S3OutputPath"]).rstrip("/")
        if extension:
            out_path, fail_path = f"{out_path}/{extension}", f"{fail_path}/{extension}"
        stem = filename[: -len(".out")] if filename.endswith(".out") else filename
        ttl = float(headers("X-Amzn-SageMaker-RequestTTLSeconds") or DEFAULT_REQUEST_TTL_S)
        timeout = float(headers("X-Amzn-SageMaker-InvocationTimeoutSeconds") or DEFAULT_INVOCATION_TIMEOUT_S)
        job = Job(
            inference_id=inference_id,
            input_location=input_location,
            output_location=f"{out_path}/{filename}",
            failure_location=f"{fail_path}/{stem}-error.out",
            content_type=headers("X-Amzn-SageMaker-Content-Type") or "application/octet-stream",
            accept=headers("X-Amzn-SageMaker-Accept"),
            custom_attributes=headers("X-Amzn-SageMaker-Custom-Attributes"),
            ttl_s=ttl,
            timeout_s=timeout,
            arrived=time.monotonic(),
            arrived_at=_now_iso(),
        )
        with self.lock:
            ep.counters["submitted"] += 1
            record = self.inferences.setdefault(inference_id, {"endpointName": ep.name, "submitted": 0, "outcomes": [], "firstArrivedAt": job.arrived_at})
            record["submitted"] += 1
            record["lastArrivedAt"] = job.arrived_at
            serving = ep.fleet is not None and len(ep.fleet.healthy()) > 0
            starting = ep.fleet is not None and any(i.status in ("pending", "starting") for i in ep.fleet.instances)
            if not serving and ep.open_cold_start is None and ep.fleet is not None:
                job.cold_start = ep.open_cold_start = {
                    "endpointName": ep.name, "inferenceId": inference_id, "requestArrived": time.time(),
                    "instanceAlreadyStarting": starting, "timeScale": self.clock.scale,
                }
            ep.queue.append(job)
            self.wake.notify_all()
        return job

    def _dispatch_loop(self) -> None:
        with self.lock:
            while not self._stopping.is_set():
                for ep in list(self.endpoints.values()):
                    self._dispatch(ep)
                self.wake.wait(timeout=0.5)

    def _dispatch(self, ep: Endpoint) -> None:
        """Hand queued jobs to instances with a free slot (lock held), oldest first."""
        if ep.fleet is None:
            return
        while ep.queue:
            job = ep.queue[0]
            if time.monotonic() - job.arrived > self.clock.real(job.ttl_s):
                ep.queue.popleft()
                ep.counters["expired"] += 1
                threading.Thread(target=self._write_failure, args=(ep, job, f"Request expired: it waited longer than RequestTTLSeconds ({job.ttl_s:.0f} s) in the queue."), daemon=True).start()
                continue
            free = [i for i in ep.fleet.healthy() if i.in_flight < ep.fleet.max_concurrency]
            if not free:
                return
            inst = min(free, key=lambda i: (i.in_flight, i.served))
            ep.queue.popleft()
            job.attempts += 1
            inst.in_flight += 1
            inst.max_in_flight = max(inst.max_in_flight, inst.in_flight)
            ep.in_flight[job.inference_id + f"#{job.attempts}"] = job
            threading.Thread(target=self._work, args=(ep, inst, job), daemon=True).start()

    def _work(self, ep: Endpoint, inst: Instance, job: Job) -> None:
        outcome: tuple[str, Any] | None = None
        try:
            body = self.read_object(ep, job.input_location)
        except Exception as exc:
            outcome = ("failure", f"Could not read the input at {job.input_location}: {type(exc).__name__}.")
            body = b""
        if outcome is None:
            job.post_start = time.monotonic()
            outcome = self._post(inst, job, body)
            job.post_end = time.monotonic()
        dead = outcome[0] == "lost" and inst.container is not None and docker_cli.state(inst.container) != "running"
        requeue = False
        with self.lock:
            inst.in_flight -= 1
            inst.served += 1
            ep.in_flight.pop(job.inference_id + f"#{job.attempts}", None)
            if dead:
                self._mark_dead(ep, inst, f"lost during request {job.inference_id}")
            if outcome[0] == "lost":
                # The instance went away under the request: another instance takes it.
                if job.attempts < MAX_ATTEMPTS and not ep.deleted:
                    ep.queue.appendleft(job)
                    ep.counters["retried"] += 1
                    requeue = True
                else:
                    outcome = ("failure", f"The instance processing the request stopped ({outcome[1]}) and {job.attempts} attempts were made.")
            self.wake.notify_all()
        if requeue:
            _log(f"endpoint {ep.name}: request {job.inference_id} requeued after instance {inst.id} was lost ({outcome[1]})")
            return
        if outcome[0] == "success":
            content_type, data = outcome[1]
            self._write_success(ep, job, data, content_type)
        else:
            self._write_failure(ep, job, str(outcome[1]))

    def _post(self, inst: Instance, job: Job, body: bytes) -> tuple[str, Any]:
        headers = {"Content-Type": job.content_type, "Content-Length": str(len(body))}
        if job.accept:
            headers["Accept"] = job.accept
        if job.custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = job.custom_attributes
        conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=job.timeout_s)
        try:
            conn.request("POST", "/invocations", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            return ("failure", f"Inference request timed out after InvocationTimeoutSeconds ({job.timeout_s:.0f} s).")
        except OSError as exc:
            return ("lost", f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
        if 200 <= response.status < 300:
            return ("success", (response.getheader("Content-Type") or "application/octet-stream", data))
        side = "client" if response.status < 500 else "server"
        text = data.decode("utf-8", errors="replace")[:4096]
        return ("failure", f'Received {side} error ({response.status}) from primary with message "{text}". See CloudWatch log group /aws/sagemaker/Endpoints/{{endpoint}} for more information.')

    def _write_success(self, ep: Endpoint, job: Job, data: bytes, content_type: str) -> None:
        try:
            self.write_object(ep, job.output_location, data, content_type)
        except Exception as exc:
            self._write_failure(ep, job, f"Could not write the output to {job.output_location}: {exc}")
            return
        self._finished(ep, job, "succeeded")
        self._notify(ep, job, "SuccessTopic", "Completed", {"contentType": content_type, "outputLocation": job.output_location})

    def _write_failure(self, ep: Endpoint, job: Job, message: str) -> None:
        message = message.replace("{endpoint}", ep.name)
        try:
            self.write_object(ep, job.failure_location, message.encode("utf-8"), "text/plain")
        except Exception as exc:
            _log(f"endpoint {ep.name}: could not write the failure of {job.inference_id} to {job.failure_location}: {exc}")
        self._finished(ep, job, "failed")
        self._notify(ep, job, "ErrorTopic", "Failed", {"failureLocation": job.failure_location, "failureReason": message[:1024]})

    def _finished(self, ep: Endpoint, job: Job, how: str) -> None:
        done = time.monotonic()
        with self.lock:
            ep.counters[how] += 1
            record = self.inferences.get(job.inference_id)
            if record is not None:
                record["outcomes"].append(how)
            if job.post_end:
                total = (done - job.arrived) * 1000
                container = (job.post_end - job.post_start) * 1000
                ep.timings.append({
                    "inferenceId": job.inference_id, "outcome": how, "totalMs": round(total, 3),
                    "containerMs": round(container, 3), "overheadMs": round(total - container, 3),
                    "queuedMs": round((job.post_start - job.arrived) * 1000, 3),
                })
            cold = job.cold_start
            if cold is None and ep.open_cold_start is not None and ep.open_cold_start.get("firstPing"):
                cold = ep.open_cold_start
            if cold is not None and "result" not in cold:
                cold["result"] = time.time()
                cold["outcome"] = how
                cold["resultInferenceId"] = job.inference_id
                record = summarise_cold_start(cold, self.clock)
                ep.cold_starts.append(record)
                if ep.open_cold_start is cold:
                    ep.open_cold_start = None
                with open(os.path.join(self.state_dir, "cold-starts.jsonl"), "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
            self.wake.notify_all()

    def _notify(self, ep: Endpoint, job: Job, topic_key: str, status: str, response: dict[str, Any]) -> None:
        with self.lock:
            obj = ep.endpoint_object()
            cfg = (obj.__dict__.get("async_inference_config") or {}) if obj is not None else {}
        topic = ((cfg.get("OutputConfig") or {}).get("NotificationConfig") or {}).get(topic_key)
        if not topic:
            return
        message = {
            "awsRegion": ep.region, "eventTime": _now_iso(), "receivedTime": job.arrived_at,
            "invocationStatus": status, "inferenceId": job.inference_id, "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "requestParameters": {"endpointName": ep.name, "inputLocation": job.input_location, "contentType": job.content_type},
            "responseParameters": response,
        }
        try:
            self.client("sns", ep.region).publish(TopicArn=topic, Message=json.dumps(message))
        except Exception as exc:
            _log(f"endpoint {ep.name}: SNS publish to {topic} failed: {exc}")

    # ---------------------------------------------------------------- reporting
    def view(self, ep: Endpoint) -> dict[str, Any]:
        obj = ep.endpoint_object()
        fleets = []
        for label, fleet in (("serving", ep.fleet), ("starting", ep.next_fleet), *(("retiring", f) for f in ep.retired)):
            if fleet is None:
                continue
            fleets.append({
                "role": label, "endpointConfigName": fleet.config_name, "variant": fleet.variant, "image": fleet.image,
                "desired": fleet.desired, "maxConcurrentInvocationsPerInstance": fleet.max_concurrency,
                "instances": [i.view() for i in fleet.instances if i.status != "gone"],
            })
        return {
            "endpointName": ep.name,
            "status": obj.endpoint_status if obj is not None else "Deleted",
            "failureReason": getattr(obj, "failure_reason", None) if obj is not None else None,
            "timeScale": self.clock.scale,
            "currentInstanceCount": len(ep.fleet.healthy()) if ep.fleet else 0,
            "desiredInstanceCount": ep.fleet.desired if ep.fleet else 0,
            "backlog": ep.backlog(),
            "queued": len(ep.queue),
            "inFlight": len(ep.in_flight),
            "oldestRequestAgeSeconds": round(ep.oldest_age(), 3),
            "counters": dict(ep.counters),
            "fleets": fleets,
            "instances": [i.view() for i in (ep.fleet.instances if ep.fleet else []) if i.status != "gone"],
            "coldStarts": list(ep.cold_starts),
            "timings": list(ep.timings)[-200:],
            "openColdStart": dict(ep.open_cold_start) if ep.open_cold_start else None,
            "scaling": self.autoscaler.view(ep) if self.autoscaler is not None else None,
        }


def summarise_cold_start(raw: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Seconds from the request's arrival to each step; AWS-side waits also in AWS time."""
    t0 = raw["requestArrived"]
    steps = ("alarm", "scaleOut", "instanceStarted", "firstPing", "result")
    out: dict[str, Any] = {
        "endpointName": raw["endpointName"], "inferenceId": raw["inferenceId"], "outcome": raw.get("outcome"),
        "timeScale": clock.scale, "requestArrivedAt": datetime.fromtimestamp(t0, timezone.utc).isoformat(),
        "secondsFromRequest": {s: round(raw[s] - t0, 3) for s in steps if s in raw},
    }
    if "alarm" in raw:
        # Only the alarm's evaluation periods are compressed; the rest is the container's own time.
        aws_alarm = (raw["alarm"] - t0) * clock.scale
        container = raw["result"] - raw.get("scaleOut", raw["alarm"])
        out["awsEquivalentSeconds"] = {"alarm": round(aws_alarm, 1), "total": round(aws_alarm + container, 1)}
    return out


def _log(msg: str) -> None:
    import sys

    print(f"[local-sagemaker] {msg}", file=sys.stderr, flush=True)
