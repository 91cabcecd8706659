#!/usr/bin/env python3
"""gen3d's moto harness: moto 5.2.1's server on 127.0.0.1 with a few narrow patches.

Usage:  python3 test/support/moto/server.py [PORT]        (PORT 0 or absent: pick a free one)

Prints exactly one line ``MOTO_READY port=NNNN`` on stdout (flushed) once the server accepts
connections, then serves until SIGTERM/SIGINT. Everything else goes to stderr.

Every patch is listed, with the moto gap it fills, in README.md next to this file. Patches
wrap moto's own methods and keep moto's data model; nothing moto already emulates is faked.
Per-endpoint harness state lives on moto's SageMaker backend object, so ``POST
/moto-api/reset`` (which wipes every backend's ``__dict__``) resets it as well.

Control API (besides moto's own /moto-api/...), all JSON, account/region default to
123456789012/us-east-1:
  POST /gen3d-test/endpoint-behaviour   {endpointName|"*", mode, creatingSeconds,
                                         creatingDescribes, failureReason, updateFailure,
                                         deletingSeconds, deletingDescribes}
  POST /gen3d-test/endpoint-instances   {endpointName, variantName?, currentInstanceCount,
                                         desiredInstanceCount?, afterSeconds?}
  GET  /gen3d-test/state                what the harness holds (behaviours, transitions)
  GET  /gen3d-test/health               {"ok": true, "moto": "5.2.1"}
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from typing import Any, Callable

import moto
from moto.ecr import models as ecr_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError
from moto.sagemakerruntime import models as smr_models
from moto.core.responses import ActionResult
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

EXPECTED_MOTO = "5.2.1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_lock = threading.RLock()

# The data plane (data_plane.DataPlane) when the server runs with one: it then owns every
# endpoint's lifecycle and InvokeEndpointAsync. None: the scripted lifecycle below (tests of
# the CLI's own waiting and failure paths).
DATA_PLANE: Any = None


def _log(msg: str) -> None:
    print(f"[gen3d-moto] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Patch 1: instance types. moto validates ProductionVariants[].InstanceType against a
# hard-coded 2020 list inside FakeEndpointConfig.validate_instance_type; current GPU
# families are missing. We accept these extra names and defer everything else to moto.
# ---------------------------------------------------------------------------------------
def _sizes(family: str, sizes: list[str]) -> list[str]:
    return [f"ml.{family}.{s}" for s in sizes]


EXTRA_INSTANCE_TYPES: frozenset[str] = frozenset(
    _sizes("g5", ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"])
    + _sizes("g6", ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"])
    + _sizes("g6e", ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"])
    + _sizes("g4dn", ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"])
    + _sizes("p3", ["2xlarge", "8xlarge", "16xlarge"])
    + ["ml.p3dn.24xlarge", "ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge",
       "ml.p5e.48xlarge", "ml.p5en.48xlarge"]
    + _sizes("inf2", ["xlarge", "8xlarge", "24xlarge", "48xlarge"])
    + _sizes("trn1", ["2xlarge", "32xlarge"])
    + _sizes("m6i", ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"])
    + _sizes("c6i", ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"])
    + [t.strip() for t in os.environ.get("GEN3D_MOTO_EXTRA_INSTANCE_TYPES", "").split(",") if t.strip()]
)


def _patch_instance_types() -> None:
    original = sm_models.FakeEndpointConfig.validate_instance_type

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type in EXTRA_INSTANCE_TYPES:
            return
        original(self, instance_type)

    sm_models.FakeEndpointConfig.validate_instance_type = validate_instance_type


# ---------------------------------------------------------------------------------------
# Harness state, stored on moto's SageMaker backend (wiped by /moto-api/reset).
# ---------------------------------------------------------------------------------------
MODES = ("in_service", "creating_then_in_service", "failed", "stuck")
DEFAULT_FAILURE_REASON = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)


def _env_default_behaviour() -> dict[str, Any]:
    return _normalise_behaviour(
        {
            "mode": os.environ.get("GEN3D_MOTO_ENDPOINT_MODE", "in_service"),
            "creatingSeconds": float(os.environ.get("GEN3D_MOTO_CREATING_SECONDS", "0")),
            "creatingDescribes": int(os.environ.get("GEN3D_MOTO_CREATING_DESCRIBES", "0")),
            "failureReason": os.environ.get("GEN3D_MOTO_FAILURE_REASON", DEFAULT_FAILURE_REASON),
            "updateFailure": os.environ.get("GEN3D_MOTO_UPDATE_FAILURE", "rollback"),
            "deletingSeconds": float(os.environ.get("GEN3D_MOTO_DELETING_SECONDS", "0")),
            "deletingDescribes": int(os.environ.get("GEN3D_MOTO_DELETING_DESCRIBES", "0")),
        }
    )


def _normalise_behaviour(raw: dict[str, Any]) -> dict[str, Any]:
    mode = raw.get("mode", "in_service")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    update_failure = raw.get("updateFailure", "rollback")
    if update_failure not in ("rollback", "failed"):
        raise ValueError("updateFailure must be 'rollback' or 'failed'")
    out = {
        "mode": mode,
        "creatingSeconds": float(raw.get("creatingSeconds", 0) or 0),
        "creatingDescribes": int(raw.get("creatingDescribes", 0) or 0),
        "failureReason": str(raw.get("failureReason") or DEFAULT_FAILURE_REASON),
        "updateFailure": update_failure,
        "deletingSeconds": float(raw.get("deletingSeconds", 0) or 0),
        "deletingDescribes": int(raw.get("deletingDescribes", 0) or 0),
    }
    for key in ("creatingSeconds", "creatingDescribes", "deletingSeconds", "deletingDescribes"):
        if out[key] < 0:
            raise ValueError(f"{key} must be >= 0")
    return out


def _state(backend: Any) -> dict[str, Any]:
    """The harness' state for one account/region (an attribute of moto's backend)."""
    st = backend.__dict__.get("_gen3d_state")
    if st is None:
        st = {"behaviours": {}, "transitions": {}, "pending_counts": {}}
        backend.__dict__["_gen3d_state"] = st
    return st


def _behaviour_for(backend: Any, endpoint_name: str) -> dict[str, Any]:
    behaviours = _state(backend)["behaviours"]
    if endpoint_name in behaviours:
        return dict(behaviours[endpoint_name])
    if "*" in behaviours:
        return dict(behaviours["*"])
    return _env_default_behaviour()


def _start_transition(backend: Any, endpoint: Any, kind: str, previous: dict[str, Any] | None = None) -> None:
    """kind: Creating | Updating | Deleting. InService mode with no delay keeps moto's default."""
    behaviour = _behaviour_for(backend, endpoint.endpoint_name)
    if kind == "Deleting":
        if behaviour["deletingSeconds"] == 0 and behaviour["deletingDescribes"] == 0:
            return
    elif behaviour["mode"] == "in_service":
        return
    _state(backend)["transitions"][endpoint.endpoint_name] = {
        "kind": kind,
        "started": time.monotonic(),
        "describes": 0,
        "behaviour": behaviour,
        "previous": previous,
    }
    endpoint.endpoint_status = kind
    endpoint.last_modified_time = sm_models.utcnow()


def _advance(backend: Any, endpoint_name: str, count_describe: bool) -> None:
    """Move one endpoint along its simulated lifecycle; called before moto reads it."""
    st = _state(backend)
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        return
    now = time.monotonic()

    pending = st["pending_counts"].get(endpoint_name)
    if pending:
        due = [p for p in pending if p["due"] <= now]
        for p in due:
            for variant in endpoint.production_variants:
                if p["variantName"] in (None, variant.get("VariantName")):
                    variant["CurrentInstanceCount"] = p["current"]
                    variant["DesiredInstanceCount"] = p["desired"]
        st["pending_counts"][endpoint_name] = [p for p in pending if p["due"] > now]

    t = st["transitions"].get(endpoint_name)
    if t is None:
        return
    if count_describe:
        t["describes"] += 1
    b = t["behaviour"]
    if t["kind"] == "Deleting":
        seconds, describes = b["deletingSeconds"], b["deletingDescribes"]
    else:
        seconds, describes = b["creatingSeconds"], b["creatingDescribes"]
    if b["mode"] == "stuck" and t["kind"] != "Deleting":
        return
    # Done once BOTH budgets are spent: `seconds` since the transition began, and
    # `describes` DescribeEndpoint calls answered with the transitional status.
    if now - t["started"] < seconds:
        return
    if describes > 0 and t["describes"] <= describes:
        return

    del st["transitions"][endpoint_name]
    endpoint.last_modified_time = sm_models.utcnow()
    if t["kind"] == "Deleting":
        backend.endpoints.pop(endpoint_name, None)
        st["pending_counts"].pop(endpoint_name, None)
        return
    if b["mode"] == "failed":
        endpoint.failure_reason = b["failureReason"]
        if t["kind"] == "Updating" and b["updateFailure"] == "rollback" and t["previous"]:
            # SageMaker rolls a failed update back to the previous config and stays InService.
            endpoint.endpoint_config_name = t["previous"]["endpoint_config_name"]
            endpoint.production_variants = t["previous"]["production_variants"]
            endpoint.__dict__["async_inference_config"] = t["previous"].get("async_inference_config")
            endpoint.endpoint_status = "InService"
        else:
            endpoint.endpoint_status = "Failed"
    else:
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = None


# ---------------------------------------------------------------------------------------
# Patch 2 + 3: endpoint lifecycle, UpdateEndpoint, duplicate-name checks, DescribeEndpoint's
# AsyncInferenceConfig.
# ---------------------------------------------------------------------------------------
def _config_async(backend: Any, config_name: str) -> dict[str, Any] | None:
    cfg = backend.endpoint_configs.get(config_name)
    return getattr(cfg, "async_inference_config", None) if cfg is not None else None


def _patch_sagemaker() -> None:
    B = sm_models.SageMakerModelBackend
    R = sm_responses.SageMakerResponse
    arn = sm_models.arn_formatter

    # -- CreateModel / CreateEndpointConfig / CreateEndpoint: moto silently overwrites an
    #    existing name; SageMaker answers ValidationException "Cannot create already existing".
    orig_create_model = B.create_model

    def create_model(self: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
        if model_name in self._models:
            raise ValidationError(
                message=f'Cannot create already existing model "{arn("model", model_name, self.account_id, self.region_name)}".'
            )
        return orig_create_model(self, model_name, *args, **kwargs)

    B.create_model = create_model

    orig_create_config = B.create_endpoint_config

    def create_endpoint_config(self: Any, endpoint_config_name: str, *args: Any, **kwargs: Any) -> Any:
        if endpoint_config_name in self.endpoint_configs:
            raise ValidationError(
                message="Cannot create already existing endpoint configuration "
                f'"{arn("endpoint-config", endpoint_config_name, self.account_id, self.region_name)}".'
            )
        return orig_create_config(self, endpoint_config_name, *args, **kwargs)

    B.create_endpoint_config = create_endpoint_config

    orig_create_endpoint = B.create_endpoint

    def create_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
        with _lock:
            if endpoint_name in self.endpoints:
                raise ValidationError(
                    message=f'Cannot create already existing endpoint "{arn("endpoint", endpoint_name, self.account_id, self.region_name)}".'
                )
            endpoint = orig_create_endpoint(self, endpoint_name, endpoint_config_name, tags)
            # SageMaker's DescribeEndpoint echoes the config's AsyncInferenceConfig.
            endpoint.__dict__["async_inference_config"] = _config_async(self, endpoint_config_name)
            if DATA_PLANE is not None:
                DATA_PLANE.on_create(self, endpoint)
            else:
                _start_transition(self, endpoint, "Creating")
            return endpoint

    B.create_endpoint = create_endpoint

    orig_describe_endpoint = B.describe_endpoint

    def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
        with _lock:
            _advance(self, endpoint_name, count_describe=True)
            return orig_describe_endpoint(self, endpoint_name)

    B.describe_endpoint = describe_endpoint

    orig_list_endpoints = B.list_endpoints

    def list_endpoints(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            for name in list(self.endpoints):
                _advance(self, name, count_describe=False)
            return orig_list_endpoints(self, *args, **kwargs)

    B.list_endpoints = list_endpoints

    orig_delete_endpoint = B.delete_endpoint

    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        with _lock:
            _advance(self, endpoint_name, count_describe=False)
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                return orig_delete_endpoint(self, endpoint_name)  # moto's not-found error
            if DATA_PLANE is not None:
                DATA_PLANE.on_delete(self, endpoint_name)
                return orig_delete_endpoint(self, endpoint_name)
            st = _state(self)
            if st["transitions"].get(endpoint_name, {}).get("kind") == "Deleting":
                return None
            st["transitions"].pop(endpoint_name, None)
            _start_transition(self, endpoint, "Deleting")
            if endpoint_name in st["transitions"]:
                return None  # removed later by _advance
            st["pending_counts"].pop(endpoint_name, None)
            return orig_delete_endpoint(self, endpoint_name)

    B.delete_endpoint = delete_endpoint

    # -- UpdateEndpoint: not implemented by moto 5.2.1 (the response class has no handler,
    #    so the server answers 500). Switch the config, re-derive variants, Updating ->
    #    InService (or the configured failure) using the same lifecycle control.
    def update_endpoint(
        self: Any,
        endpoint_name: str,
        endpoint_config_name: str,
        retain_all_variant_properties: bool = False,
    ) -> str:
        with _lock:
            _advance(self, endpoint_name, count_describe=False)
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                raise ValidationError(
                    message=f'Could not find endpoint "{arn("endpoint", endpoint_name, self.account_id, self.region_name)}".'
                )
            config = self.endpoint_configs.get(endpoint_config_name)
            if config is None:
                raise ValidationError(
                    message="Could not find endpoint configuration "
                    f'"{arn("endpoint-config", endpoint_config_name, self.account_id, self.region_name)}".'
                )
            if endpoint.endpoint_status != "InService":
                raise ValidationError(
                    message=f'Cannot update in-progress endpoint "{endpoint.arn}".'
                    if endpoint.endpoint_status in ("Creating", "Updating", "Deleting", "SystemUpdating", "RollingBack")
                    else f'Cannot update endpoint "{endpoint.arn}" in status {endpoint.endpoint_status}.'
                )
            previous = {
                "endpoint_config_name": endpoint.endpoint_config_name,
                "production_variants": [dict(v) for v in endpoint.production_variants],
                "async_inference_config": endpoint.__dict__.get("async_inference_config"),
            }
            new_variants = endpoint._process_production_variants(config.production_variants)
            if retain_all_variant_properties:
                old = {v["VariantName"]: v for v in endpoint.production_variants}
                for v in new_variants:
                    if v["VariantName"] in old:
                        for k in ("CurrentInstanceCount", "DesiredInstanceCount", "CurrentWeight", "DesiredWeight"):
                            if k in old[v["VariantName"]]:
                                v[k] = old[v["VariantName"]][k]
            endpoint.endpoint_config_name = endpoint_config_name
            endpoint.production_variants = new_variants
            endpoint.__dict__["async_inference_config"] = _config_async(self, endpoint_config_name)
            endpoint.failure_reason = None
            endpoint.last_modified_time = sm_models.utcnow()
            if DATA_PLANE is not None:
                DATA_PLANE.on_update(self, endpoint, previous)
            else:
                _start_transition(self, endpoint, "Updating", previous=previous)
            return endpoint.arn

    B.update_endpoint = update_endpoint

    def update_endpoint_response(self: Any) -> ActionResult:
        endpoint_arn = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
            retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
        )
        return ActionResult({"EndpointArn": endpoint_arn})

    R.update_endpoint = update_endpoint_response

    # UpdateEndpointWeightsAndCapacities exists in moto; only make it see the lifecycle.
    orig_uewc = B.update_endpoint_weights_and_capacities

    def update_endpoint_weights_and_capacities(self: Any, endpoint_name: str, *args: Any, **kwargs: Any) -> str:
        with _lock:
            _advance(self, endpoint_name, count_describe=False)
            return orig_uewc(self, endpoint_name, *args, **kwargs)

    B.update_endpoint_weights_and_capacities = update_endpoint_weights_and_capacities


# ---------------------------------------------------------------------------------------
# Patch 4: ECR image digest. moto derives imageDigest from the *layer* digests; a registry
# (and ECR) names a manifest by sha256 of its exact bytes. Without this, a digest read from
# the local registry can never match DescribeImages. Only used when no imageDigest is given.
# ---------------------------------------------------------------------------------------
def _patch_ecr_digest() -> None:
    import hashlib

    def _create_digest(self: Any) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()

    ecr_models.Image._create_digest = _create_digest


# ---------------------------------------------------------------------------------------
# Patch 5: InvokeEndpointAsync output location. moto writes its canned result to a new
# random bucket. When the endpoint exists in moto and its config has AsyncInferenceConfig,
# write it where SageMaker would: S3OutputPath/<uuid>.out (or S3FailurePath/<uuid>-error.out
# for a queued failure). Results still come from moto's own queue:
# POST /moto-api/static/sagemaker/async-endpoint-results.
# ---------------------------------------------------------------------------------------
def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def _patch_invoke_async() -> None:
    Rt = smr_models.SageMakerRuntimeBackend
    original = Rt.invoke_endpoint_async

    def invoke_endpoint_async(self: Any, endpoint_name: str, input_location: str) -> tuple[str, str]:
        sm = sm_models.sagemaker_backends[self.account_id][self.region_name]
        endpoint = sm.endpoints.get(endpoint_name)
        cfg = _config_async(sm, endpoint.endpoint_config_name) if endpoint is not None else None
        out_cfg = (cfg or {}).get("OutputConfig") or {}
        out_path = out_cfg.get("S3OutputPath")
        if not out_path:
            return original(self, endpoint_name, input_location)
        fail_path = out_cfg.get("S3FailurePath") or out_path

        self.async_results.setdefault(endpoint_name, {})
        if input_location in self.async_results[endpoint_name]:
            return self.async_results[endpoint_name][input_location]
        if self.async_results_queue:
            is_failure, data = self.async_results_queue.pop(0)
        else:
            is_failure, data = False, json.dumps({"default": "response"})
        from moto.s3.models import s3_backends

        s3 = s3_backends[self.account_id][self.partition]
        ident = str(uuid.uuid4())
        out_bucket, out_prefix = _split_s3(out_path)
        fail_bucket, fail_prefix = _split_s3(fail_path)
        out_key = f"{out_prefix}/{ident}.out" if out_prefix else f"{ident}.out"
        fail_key = f"{fail_prefix}/{ident}-error.out" if fail_prefix else f"{ident}-error.out"
        bucket, key = (fail_bucket, fail_key) if is_failure else (out_bucket, out_key)
        s3.put_object(bucket, key, value=data.encode("utf-8"))  # NoSuchBucket if the test didn't create it
        result = (f"s3://{out_bucket}/{out_key}", f"s3://{fail_bucket}/{fail_key}")
        self.async_results[endpoint_name][input_location] = result
        return result

    Rt.invoke_endpoint_async = invoke_endpoint_async


# ---------------------------------------------------------------------------------------
# Control API: a WSGI wrapper in front of moto's dispatcher, on the same port.
# ---------------------------------------------------------------------------------------
def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


def _backend(body: dict[str, Any]) -> Any:
    account = str(body.get("accountId") or DEFAULT_ACCOUNT)
    region = str(body.get("region") or DEFAULT_REGION)
    return sm_models.sagemaker_backends[account][region]


def _control(request: Request) -> Response:
    path = request.path
    if path == "/gen3d-test/health":
        return _json(200, {"ok": True, "moto": moto.__version__})
    if path == "/gen3d-test/state" and request.method == "GET":
        backend = _backend(dict(request.args))
        with _lock:
            st = _state(backend)
            return _json(
                200,
                {
                    "defaultBehaviour": _env_default_behaviour(),
                    "behaviours": st["behaviours"],
                    "transitions": {k: {kk: vv for kk, vv in v.items() if kk != "previous"} for k, v in st["transitions"].items()},
                    "pendingCounts": st["pending_counts"],
                },
            )
    if request.method != "POST":
        return _json(405, {"error": "use POST"})
    try:
        body = json.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
    except ValueError as e:
        return _json(400, {"error": f"bad JSON: {e}"})
    try:
        backend = _backend(body)
        if path == "/gen3d-test/endpoint-behaviour":
            name = body.get("endpointName")
            if not isinstance(name, str) or not name:
                raise ValueError("endpointName (string, or '*' for the default) is required")
            behaviour = _normalise_behaviour(body)
            with _lock:
                _state(backend)["behaviours"][name] = behaviour
            return _json(200, {"endpointName": name, **behaviour})
        if path == "/gen3d-test/endpoint-instances":
            name = body.get("endpointName")
            if not isinstance(name, str) or not name:
                raise ValueError("endpointName is required")
            if "currentInstanceCount" not in body:
                raise ValueError("currentInstanceCount is required")
            current = int(body["currentInstanceCount"])
            desired = int(body.get("desiredInstanceCount", current))
            after = float(body.get("afterSeconds", 0) or 0)
            with _lock:
                endpoint = backend.endpoints.get(name)
                if endpoint is None:
                    return _json(404, {"error": f"no endpoint {name!r} in moto"})
                variant = body.get("variantName")
                if variant is not None and not any(v.get("VariantName") == variant for v in endpoint.production_variants):
                    return _json(404, {"error": f"endpoint {name!r} has no variant {variant!r}"})
                _state(backend)["pending_counts"].setdefault(name, []).append(
                    {"due": time.monotonic() + after, "variantName": variant, "current": current, "desired": desired}
                )
                if after == 0:
                    _advance(backend, name, count_describe=False)
            return _json(200, {"endpointName": name, "currentInstanceCount": current, "desiredInstanceCount": desired, "afterSeconds": after})
    except (ValueError, TypeError) as e:
        return _json(400, {"error": str(e)})
    return _json(404, {"error": f"unknown control path {path}"})


class _App:
    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/gen3d-test/"):
            return _control(Request(environ))(environ, start_response)
        return self.inner(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """Per-request access lines only with GEN3D_MOTO_VERBOSE=1 (they drown test output)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        if os.environ.get("GEN3D_MOTO_VERBOSE") == "1":
            super().log_request(*args, **kwargs)


def apply_patches() -> None:
    if moto.__version__ != EXPECTED_MOTO:
        _log(f"warning: patches were written against moto {EXPECTED_MOTO}, found {moto.__version__}")
    _patch_instance_types()
    _patch_sagemaker()
    _patch_ecr_digest()
    _patch_invoke_async()
