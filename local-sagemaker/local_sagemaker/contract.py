"""Every request checked against AWS's published service model, as AWS checks it.

moto accepts almost anything; AWS refuses a request whose members break the constraints in the
service's API model. The botocore data files that ship with the Python SDK hold those models
(required members, enums, numeric ranges, string and list lengths, patterns), so each request
that reaches the local SageMaker is validated against them first and refused with the service's
validation error — "1 validation error detected: Value '0' at 'asyncInferenceConfig.clientConfig.
maxConcurrentInvocationsPerInstance' failed to satisfy constraint: Member must have value greater
than or equal to 1" — before moto sees it. Every test that talks to the emulator thereby also
proves that gen3d's requests are well-formed.

Covered: the JSON protocols (SageMaker, Application Auto Scaling, CloudWatch Logs, ECR, Service
Quotas, and CloudWatch as the JavaScript SDK sends it) and SageMaker Runtime's REST-JSON
invocations. Not covered (no request body to map): the query protocol (IAM, STS, CloudWatch from
boto3's CBOR) and S3's REST-XML.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from typing import Any

import botocore.session

try:  # Java-style \p{…} classes in the models; the `regex` module understands them
    import regex as _re
except ImportError:  # pragma: no cover - plain `re` with the common classes rewritten
    import re as _re

SERVICES = ("sagemaker", "application-autoscaling", "logs", "ecr", "service-quotas", "cloudwatch", "sagemaker-runtime")
VALIDATION_ERRORS = ("ValidationException", "ValidationError", "InvalidParameterException", "InvalidParameterValueException")
MAX_REPORTED = 10  # AWS lists at most a handful of violations


def _java_pattern(pattern: str) -> str:
    out = pattern.replace("\\z", "\\Z")
    if _re.__name__ == "re":
        out = out.replace("\\p{ASCII}", "\\x00-\\x7F").replace("\\p{Print}", "\\x20-\\x7E")
    return out


class Contract:
    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.models = {name: session.get_service_model(name) for name in SERVICES}
        self.by_target = {m.metadata["targetPrefix"]: m for m in self.models.values() if m.metadata.get("targetPrefix")}
        self._patterns: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.operations: Counter[str] = Counter()
        self.shapes: set[str] = set()
        self.refused: Counter[str] = Counter()

    # ------------------------------------------------------------------ entry points
    def check_json(self, target: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        """X-Amz-Target: Prefix.Operation with a JSON body; a refusal as (status, headers, body)."""
        prefix, _, operation = target.partition(".")
        model = self.by_target.get(prefix)
        if model is None or operation not in model.operation_names:
            return None
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return None  # not ours to judge: moto answers a SerializationException
        if not isinstance(params, dict):
            return None
        return self._judge(model, operation, params)

    def check_runtime(self, method: str, path: str, headers: Any) -> tuple[int, dict[str, str], bytes] | None:
        """SageMaker Runtime: /endpoints/NAME/invocations and /async-invocations (REST-JSON)."""
        parts = path.strip("/").split("/")
        if method != "POST" or len(parts) != 3 or parts[0] != "endpoints":
            return None
        operation = {"invocations": "InvokeEndpoint", "async-invocations": "InvokeEndpointAsync", "invocations-response-stream": "InvokeEndpointWithResponseStream"}.get(parts[2])
        if operation is None:
            return None
        model = self.models["sagemaker-runtime"]
        shape = model.operation_model(operation).input_shape
        params: dict[str, Any] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            if location == "uri":
                params[name] = parts[1]
            elif location == "header":
                value = headers.get(member.serialization.get("name"))
                if value is not None:
                    params[name] = int(value) if member.type_name == "integer" and value.lstrip("-").isdigit() else value
            elif member.serialization.get("payload") or name == "Body":
                params[name] = b""  # the payload itself: not constrained beyond presence
        return self._judge(model, operation, params)

    # ------------------------------------------------------------------ validation
    def _judge(self, model: Any, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        op = model.operation_model(operation)
        problems: list[str] = []
        seen: set[str] = set()
        if op.input_shape is not None:
            self._walk(op.input_shape, params, "", problems, seen)
        with self._lock:
            self.operations[f"{model.service_name}:{operation}"] += 1
            self.shapes.update(seen)
            if problems:
                self.refused[f"{model.service_name}:{operation}"] += 1
        if not problems:
            return None
        code = next((e.name for e in op.error_shapes if e.name in VALIDATION_ERRORS), "ValidationException")
        count = len(problems)
        message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems[:MAX_REPORTED])
        if model.metadata.get("protocol") == "rest-json":
            return 400, {"x-amzn-errortype": code, "Content-Type": "application/json"}, json.dumps({"message": message}).encode()
        version = model.metadata.get("jsonVersion", "1.1")
        return 400, {"Content-Type": f"application/x-amz-json-{version}"}, json.dumps({"__type": code, "message": message}).encode()

    def _pattern(self, pattern: str) -> Any:
        if pattern not in self._patterns:
            try:
                self._patterns[pattern] = _re.compile(_java_pattern(pattern), _re.DOTALL)
            except Exception:
                self._patterns[pattern] = None  # a construct this engine cannot read: not checked
        return self._patterns[pattern]

    @staticmethod
    def _path(prefix: str, name: str) -> str:
        name = name[:1].lower() + name[1:]
        return f"{prefix}.{name}" if prefix else name

    @staticmethod
    def _show(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return text if len(text) <= 100 else text[:97] + "..."

    def _walk(self, shape: Any, value: Any, where: str, problems: list[str], seen: set[str]) -> None:
        seen.add(shape.name)
        meta = shape.metadata
        kind = shape.type_name
        if value is None:
            return
        if kind == "structure":
            if not isinstance(value, dict):
                problems.append(f"Value at '{where}' failed to satisfy constraint: Member must be a structure")
                return
            for required in shape.required_members:
                if value.get(required) is None:
                    problems.append(f"Value null at '{self._path(where, required)}' failed to satisfy constraint: Member must not be null")
            for name, member in shape.members.items():
                if name in value:
                    self._walk(member, value[name], self._path(where, name), problems, seen)
            return
        if kind == "list":
            if not isinstance(value, list):
                return
            self._length(value, len(value), meta, where, problems, "length")
            for index, item in enumerate(value, start=1):
                self._walk(shape.member, item, f"{where}.{index}.member", problems, seen)
            return
        if kind == "map":
            if not isinstance(value, dict):
                return
            self._length(value, len(value), meta, where, problems, "length")
            for key, item in value.items():
                self._walk(shape.key, key, f"{where}.{key}.key", problems, seen)
                self._walk(shape.value, item, f"{where}.{key}.value", problems, seen)
            return
        if kind == "string":
            if not isinstance(value, str):
                return
            if shape.enum and value not in shape.enum:
                problems.append(f"Value '{self._show(value)}' at '{where}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(shape.enum)}]")
            self._length(value, len(value), meta, where, problems, "length")
            pattern = meta.get("pattern")
            compiled = self._pattern(pattern) if pattern else None
            if compiled is not None and not compiled.fullmatch(value):
                problems.append(f"Value '{self._show(value)}' at '{where}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}")
            return
        if kind in ("integer", "long", "float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)):
                return
            if "min" in meta and value < meta["min"]:
                problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value greater than or equal to {meta['min']}")
            if "max" in meta and value > meta["max"]:
                problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value less than or equal to {meta['max']}")

    def _length(self, value: Any, size: int, meta: dict[str, Any], where: str, problems: list[str], _what: str) -> None:
        if "min" in meta and size < meta["min"]:
            problems.append(f"Value '{self._show(value)}' at '{where}' failed to satisfy constraint: Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            problems.append(f"Value '{self._show(value)}' at '{where}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {
                "operations": dict(sorted(self.operations.items())),
                "distinctOperations": len(self.operations),
                "distinctShapes": len(self.shapes),
                "refused": dict(self.refused),
            }
