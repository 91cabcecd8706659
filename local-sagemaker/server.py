#!/usr/bin/env python3
"""gen3d's local SageMaker: moto 5.2.1 as the AWS control plane (narrow, documented patches)
plus, with --data-plane, the data plane that runs what phases 5–8 configured.

Usage:
  python3 local-sagemaker/server.py [PORT] [--data-plane] [--time-scale N] [--state-dir DIR]

PORT 0 or absent picks a free port. Prints exactly one line ``MOTO_READY port=NNNN`` on stdout
once the server accepts connections (127.0.0.1 only), then serves until SIGTERM/SIGINT; with
the data plane, stopping removes every container it started. Logs go to stderr.
Environment: GEN3D_LOCAL_DATA_PLANE=1 and GEN3D_LOCAL_TIME_SCALE=N are the same as the flags.

Control API on the same port (JSON): see README.md next to this file.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import moto  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.applicationautoscaling import responses as aas_responses  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from moto.sagemaker import models as sm_models  # noqa: E402
from moto.sagemakerruntime import responses as smr_responses  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from local_sagemaker import autoscaler, control_plane  # noqa: E402
from local_sagemaker.clock import Clock  # noqa: E402
from local_sagemaker.contract import Contract  # noqa: E402
from local_sagemaker.data_plane import DataPlane, InvokeError  # noqa: E402
from local_sagemaker.faults import Faults  # noqa: E402


def _patch_invoke_async_data_plane() -> None:
    """InvokeEndpointAsync with every documented header, answered 202 at once, run for real."""

    def invoke_endpoint_async(self: Any) -> Any:
        name = self.path.split("/")[2]
        backend = sm_models.sagemaker_backends[self.current_account][self.region]
        try:
            job = control_plane.DATA_PLANE.invoke_async(backend, name, lambda h: self.headers.get(h))
        except InvokeError as exc:
            raise JsonRESTError(exc.code, exc.message) from exc
        headers = {"X-Amzn-SageMaker-OutputLocation": job.output_location, "X-Amzn-SageMaker-FailureLocation": job.failure_location}
        return 202, headers, json.dumps({"InferenceId": job.inference_id})

    smr_responses.SageMakerRuntimeResponse.invoke_endpoint_async = invoke_endpoint_async


def _patch_scaling_activities() -> None:
    """moto 5.2.1 has no DescribeScalingActivities; answer with the autoscaler's records."""

    def describe_scaling_activities(self: Any) -> str:
        acts = autoscaler.describe_scaling_activities(
            self.current_account, self.region, self._get_param("ServiceNamespace"), self._get_param("ResourceId"), self._get_param("ScalableDimension")
        )
        limit = int(self._get_param("MaxResults") or 50)
        start = int(self._get_param("NextToken") or 0)
        page = acts[start:start + limit]
        body: dict[str, Any] = {"ScalingActivities": page}
        if start + limit < len(acts):
            body["NextToken"] = str(start + limit)
        return json.dumps(body)

    aas_responses.ApplicationAutoScalingResponse.describe_scaling_activities = describe_scaling_activities


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


class App:
    """/local-sagemaker/* (data plane), /gen3d-test/* (scripted lifecycle), then moto."""

    def __init__(self, inner: Callable[..., Any], plane: DataPlane | None, clock: Clock, contract: Contract | None):
        self.inner, self.plane, self.clock, self.contract = inner, plane, clock, contract
        self.faults = Faults()

    def _refusal(self, environ: dict[str, Any]) -> Response | None:
        """The service model's verdict on this request (None: well-formed, or not ours to judge)."""
        if self.contract is None:
            return None
        target = environ.get("HTTP_X_AMZ_TARGET")
        verdict = None
        if target:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            stream = environ["wsgi.input"]
            body = stream.read(length) if length else (stream.read() if environ.get("wsgi.input_terminated") else b"")
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            verdict = self.contract.check_json(target, body)
        elif environ.get("PATH_INFO", "").startswith("/endpoints/"):
            verdict = self.contract.check_runtime(environ.get("REQUEST_METHOD", ""), environ["PATH_INFO"], Request(environ).headers)
        if verdict is None:
            return None
        status, headers, body = verdict
        control_plane._log(f"refused by the service model: {body.decode()[:300]}")
        return Response(body, status=status, headers=headers)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == "/local-sagemaker/faults":
            return self.faults.api(Request(environ))(environ, start_response)
        if path.startswith("/local-sagemaker/"):
            return self._api(Request(environ))(environ, start_response)
        if not path.startswith(("/moto-api/", "/gen3d-test/")):
            fault = self.faults.take(environ)
            if fault is not None:
                control_plane._log(f"injected fault: {fault['error']} for {fault['operation']}")
                return Faults.answer(fault, environ, start_response)
        refusal = self._refusal(environ)
        if refusal is not None:
            return refusal(environ, start_response)
        if path == "/moto-api/reset" and self.plane is not None:
            self.plane.reset()
            with autoscaler._activities_lock:
                autoscaler.ACTIVITIES.clear()
        if path.startswith("/gen3d-test/"):
            return control_plane._control(Request(environ))(environ, start_response)
        return self.inner(environ, start_response)

    def _api(self, request: Request) -> Response:
        path = request.path[len("/local-sagemaker/"):].strip("/")
        account = request.args.get("account", control_plane.DEFAULT_ACCOUNT)
        region = request.args.get("region", control_plane.DEFAULT_REGION)
        if path == "health":
            return _json(200, {"ok": True, "moto": moto.__version__, "dataPlane": self.plane is not None, "timeScale": self.clock.scale, "pid": os.getpid()})
        if path == "contract":
            return _json(200, self.contract.report() if self.contract else {"disabled": True})
        if self.plane is None:
            return _json(404, {"error": "the data plane is off: start the server with --data-plane"})
        with self.plane.lock:
            if path == "endpoints":
                return _json(200, {"endpoints": [self.plane.view(e) for (a, r, _), e in self.plane.endpoints.items() if a == account and r == region]})
            if path == "inferences":
                return _json(200, {"inferences": {k: {**v, "outcomes": list(v["outcomes"])} for k, v in self.plane.inferences.items()}})
            if path.startswith("endpoints/"):
                ep = self.plane.get(account, region, path[len("endpoints/"):])
                if ep is None:
                    return _json(404, {"error": f"no endpoint {path[len('endpoints/'):]!r} in the local SageMaker"})
                return _json(200, self.plane.view(ep))
        return _json(404, {"error": f"unknown path /local-sagemaker/{path}"})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="local-sagemaker/server.py", description=__doc__.splitlines()[0])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--data-plane", action="store_true", default=os.environ.get("GEN3D_LOCAL_DATA_PLANE") == "1")
    parser.add_argument("--time-scale", type=float, default=float(os.environ.get("GEN3D_LOCAL_TIME_SCALE", "1")))
    parser.add_argument("--state-dir", default=os.environ.get("GEN3D_LOCAL_STATE_DIR"))
    parser.add_argument("--no-contract", action="store_true", help="accept requests the AWS service model refuses (debugging only)")
    args = parser.parse_args(argv[1:])
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    host = os.environ.get("GEN3D_MOTO_HOST", "127.0.0.1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", control_plane.DEFAULT_REGION)
    control_plane.apply_patches()
    _patch_scaling_activities()
    clock = Clock(args.time_scale)

    server = make_server(host, args.port, None, threaded=True, request_handler=control_plane._QuietHandler)  # type: ignore[arg-type]
    port = server.server_address[1]
    plane: DataPlane | None = None
    if args.data_plane:
        state_dir = args.state_dir or tempfile.mkdtemp(prefix="local-sagemaker-")
        plane = DataPlane(control_plane._lock, f"http://127.0.0.1:{port}", clock, state_dir)
        plane.autoscaler = autoscaler.Autoscaler(plane, clock)
        control_plane.DATA_PLANE = plane
        _patch_invoke_async_data_plane()
        plane.start()
        plane.autoscaler.start()
    contract = None if args.no_contract else Contract()
    server.app = App(DomainDispatcherApplication(create_backend_app), plane, clock, contract)  # type: ignore[attr-defined]

    def stop(_sig: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"MOTO_READY port={port}", flush=True)
    mode = f"data plane on, time scale {clock.scale:g}" if plane else "control plane only"
    control_plane._log(f"moto {moto.__version__} serving on http://{host}:{port} ({mode})")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        report_dir = os.environ.get("GEN3D_CONTRACT_REPORT_DIR")
        if contract is not None and report_dir:
            os.makedirs(report_dir, exist_ok=True)
            with open(os.path.join(report_dir, f"{os.getpid()}.json"), "w", encoding="utf-8") as handle:
                json.dump({**contract.report(), "shapes": sorted(contract.shapes)}, handle)
        if plane is not None:
            control_plane._log("stopping: removing every container this server started")
            plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
