"""Injected faults: the local AWS answers an operation with an error, or resets the connection, for
the next N matching requests — what a throttled, failing or flaky AWS looks like to a client.

    POST /local-sagemaker/faults   {"operation": "CreateModel", "error": "ThrottlingException", "count": 3}
    GET  /local-sagemaker/faults   the armed faults (what is left of each) and every injection so far
    DELETE /local-sagemaker/faults disarm all

``operation`` is the API's operation name as the SDKs send it — the X-Amz-Target suffix for the
JSON protocols (``CreateModel``, ``DescribeEndpoint``, ``PutScalingPolicy``…), the ``Action`` of
the query protocol (IAM, STS, CloudWatch's query form), ``InvokeEndpointAsync`` for SageMaker
Runtime, and for S3 ``PutObject`` / ``GetObject`` / ``HeadObject`` / ``ListObjectsV2`` /
``CreateMultipartUpload`` / ``UploadPart`` / ``CompleteMultipartUpload`` — or ``*`` for every
request. ``service`` (optional) narrows it: ``sagemaker``, ``s3``, ``application-autoscaling``…
``error``: ``ThrottlingException``, ``InternalFailure`` (500), ``ServiceUnavailable`` (503),
``SlowDown`` (S3's 503), or ``reset`` (the TCP connection is reset before any answer).
``count`` (default 1) requests are failed, then the fault disarms itself; ``count: -1`` keeps it
armed until DELETE.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

ERRORS: dict[str, tuple[int, str]] = {
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalFailure": (500, "We encountered an internal error. Please try again."),
    "ServiceUnavailable": (503, "Service is unavailable. Please try again."),
    "SlowDown": (503, "Please reduce your request rate."),
    "reset": (0, "connection reset"),
}

_S3_HOSTLESS = ("/local-sagemaker/", "/moto-api/", "/gen3d-test/")


def operation_of(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of a request, as far as the fault matcher needs them."""
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    service = ""
    if "Credential=" in auth:
        parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(parts) >= 4:
            service = parts[3]
    if target:
        return service, target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "")
    if path.startswith("/endpoints/") and path.endswith("/async-invocations"):
        return service or "sagemaker", "InvokeEndpointAsync"
    query = environ.get("QUERY_STRING", "")
    if method == "POST" and (environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
        # The query protocol (IAM, STS) sends Action in a form body: peek, and put the body back.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        form = body.decode("utf-8", "replace")
        if "Action=" in form:
            return service, form.split("Action=", 1)[1].split("&", 1)[0]
    if "Action=" in query:
        return service, query.split("Action=", 1)[1].split("&", 1)[0]
    if service == "s3" or (service == "" and not path.startswith(_S3_HOSTLESS)):
        segments = [s for s in path.split("/") if s]
        if method == "POST" and "uploads" in query:
            return "s3", "CreateMultipartUpload"
        if method == "PUT" and "partNumber=" in query:
            return "s3", "UploadPart"
        if method == "POST" and "uploadId=" in query:
            return "s3", "CompleteMultipartUpload"
        if len(segments) >= 2:
            return "s3", {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)
        if len(segments) == 1 and method == "GET":
            return "s3", "ListObjectsV2" if "list-type=2" in query else "ListObjects"
        return "s3", method
    return service, ""


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.armed: list[dict[str, Any]] = []
        self.injected: list[dict[str, Any]] = []

    def api(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self.lock:
                self.armed.clear()
            return _json(200, {"armed": []})
        if request.method == "POST":
            try:
                spec = json.loads(request.get_data() or b"{}")
                fault = {
                    "operation": str(spec["operation"]),
                    "service": str(spec.get("service") or ""),
                    "error": str(spec.get("error") or "ThrottlingException"),
                    "count": int(spec.get("count", 1)),
                }
            except (KeyError, ValueError, TypeError) as exc:
                return _json(400, {"error": f"a fault needs operation, error and count: {exc}"})
            if fault["error"] not in ERRORS:
                return _json(400, {"error": f"unknown error {fault['error']!r}: one of {sorted(ERRORS)}"})
            fault["left"] = fault["count"]
            with self.lock:
                self.armed.append(fault)
            return _json(200, {"armed": self.view()["armed"]})
        return _json(200, self.view())

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {"armed": [dict(f) for f in self.armed], "injected": list(self.injected)}

    def take(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """The fault this request gets (one use of it), or None."""
        if not self.armed:
            return None
        service, operation = operation_of(environ)
        with self.lock:
            for fault in self.armed:
                if fault["operation"] not in ("*", operation):
                    continue
                if fault["service"] and fault["service"] != service:
                    continue
                if fault["left"] > 0:
                    fault["left"] -= 1
                if fault["left"] == 0:
                    self.armed.remove(fault)
                self.injected.append({"at": time.time(), "service": service, "operation": operation, "error": fault["error"]})
                return fault
        return None

    @staticmethod
    def answer(fault: dict[str, Any], environ: dict[str, Any], start_response: Any) -> Any:
        error = fault["error"]
        status, message = ERRORS[error]
        if error == "reset":
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                # SO_LINGER 0: close() sends RST, so the client sees ECONNRESET, not a clean EOF.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            return []
        is_s3 = operation_of(environ)[0] == "s3" or not environ.get("HTTP_X_AMZ_TARGET")
        if is_s3 or error == "SlowDown":
            body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{error}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>'
            return Response(body, status=status, mimetype="application/xml")(environ, start_response)
        return Response(
            json.dumps({"__type": error, "message": message}), status=status, mimetype="application/x-amz-json-1.1",
            headers={"x-amzn-ErrorType": error},
        )(environ, start_response)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")
