"""S3 access, confined to an allow-list of buckets and to configured key prefixes.

`KeyPolicy` decides *whether* a bucket/key may be touched (pure, unit-tested); `S3Storage`
does the I/O with boto3, which honours AWS_ENDPOINT_URL/AWS_REGION, so tests point it at
moto on 127.0.0.1. S3 failures the caller can fix (missing object, missing bucket, denied)
become 4xx naming the key; anything else is a 502 with an error id.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from .errors import (
    BucketNotAllowed,
    BucketNotFound,
    InvalidKey,
    InvalidRequest,
    KeyNotAllowed,
    ObjectNotFound,
    ObjectTooLarge,
    StorageAccessDenied,
    UpstreamError,
)


@dataclass(frozen=True)
class KeyPolicy:
    allowed_buckets: tuple[str, ...]
    input_prefix: str
    output_prefix: str
    embeddings_prefix: str

    def bucket(self, requested: str | None) -> str:
        if not self.allowed_buckets:
            raise BucketNotAllowed(
                "no bucket is allowed: the container was started without GEN3D_ALLOWED_BUCKETS", field="bucket"
            )
        if requested is None:
            return self.allowed_buckets[0]
        if requested not in self.allowed_buckets:
            raise BucketNotAllowed(f"bucket {requested!r} is not in GEN3D_ALLOWED_BUCKETS", field="bucket")
        return requested

    def readable_key(self, key: str, field: str, *, prefixes: tuple[str, ...] | None = None) -> str:
        """A key the request may read: well-formed and under one of `prefixes` (default: input)."""
        check_key_syntax(key, field)
        allowed = prefixes if prefixes is not None else (self.input_prefix,)
        if not any(key.startswith(prefix) for prefix in allowed):
            shown = " or ".join(repr(p) for p in allowed)
            raise KeyNotAllowed(f"{field} {key!r} is outside the allowed prefix {shown}", field=field)
        return key


def check_key_syntax(key: str, field: str) -> None:
    if not key or len(key.encode("utf-8", "surrogatepass")) > 1024:
        raise InvalidKey(f"{field} must be 1-1024 bytes", field=field)
    if key.startswith("/"):
        raise InvalidKey(f"{field} {key[:200]!r} must not start with '/'", field=field)
    if "\\" in key or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidKey(f"{field} {key[:200]!r} contains a backslash or control character", field=field)
    if key.endswith("/"):
        raise InvalidKey(f"{field} {key[:200]!r} ends with '/': name an object, not a prefix", field=field)
    segments = key.split("/")
    if any(segment in ("..", ".") for segment in segments) or "//" in key:
        raise InvalidKey(f"{field} {key[:200]!r} contains '.', '..' or an empty path segment", field=field)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(f"{field} is not valid UTF-8", field=field) from None


class Storage(Protocol):
    def get(self, bucket: str, key: str, *, field: str, max_bytes: int) -> bytes: ...

    def get_optional(self, bucket: str, key: str, *, max_bytes: int) -> bytes | None: ...

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


class _OptionalGet:
    """`get_optional` in terms of `get`: a cache miss is None, every other failure still raises."""

    def get_optional(self, bucket: str, key: str, *, max_bytes: int) -> bytes | None:
        try:
            return self.get(bucket, key, field="(cache)", max_bytes=max_bytes)  # type: ignore[attr-defined]
        except ObjectNotFound:
            return None


class S3Storage(_OptionalGet):
    """boto3 S3 client; one per process, shared by the request threads (boto3 clients are thread-safe)."""

    def __init__(self, client=None, *, max_connections: int = 10):
        if client is None:
            import boto3
            from botocore.config import Config

            # One pooled connection per admitted invocation: fewer and the excess would open and
            # throw away a connection per call (and log urllib3's "connection pool is full").
            client = boto3.client(
                "s3",
                config=Config(
                    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                    max_pool_connections=max_connections,
                ),
            )
        self._client = client

    def get(self, bucket: str, key: str, *, field: str, max_bytes: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            length = response.get("ContentLength")
            if length is not None and length > max_bytes:
                response["Body"].close()
                raise ObjectTooLarge(
                    f"s3 object {key!r} is {length} bytes; the limit is {max_bytes}", field=field
                )
            # Read one byte past the limit so a lying or absent Content-Length cannot exhaust memory.
            data = response["Body"].read(max_bytes + 1)
            response["Body"].close()
        except ClientError as exc:
            raise _client_error(exc, bucket, key, field) from None
        except BotoCoreError as exc:
            raise UpstreamError(f"reading s3://{bucket}/{key} failed: {type(exc).__name__}") from exc
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"s3 object {key!r} exceeds the limit of {max_bytes} bytes", field=field)
        return data

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            raise _client_error(exc, bucket, key, None, writing=True) from None
        except BotoCoreError as exc:
            raise UpstreamError(f"writing s3://{bucket}/{key} failed: {type(exc).__name__}") from exc


def _client_error(exc, bucket: str, key: str, field: str | None, *, writing: bool = False):
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchKey", "404", "NotFound") or (status == 404 and code != "NoSuchBucket"):
        return ObjectNotFound(f"s3 object s3://{bucket}/{key} does not exist", field=field)
    if code == "NoSuchBucket":
        return BucketNotFound(f"bucket {bucket!r} does not exist", field="bucket")
    if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
        verb = "writing" if writing else "reading"
        return StorageAccessDenied(f"access denied {verb} s3://{bucket}/{key}", field=field)
    if code in ("InvalidObjectState",):
        return InvalidRequest(f"s3 object s3://{bucket}/{key} is archived ({code})", field=field)
    return UpstreamError(f"s3 {code or 'error'} on s3://{bucket}/{key}")


class MemoryStorage(_OptionalGet):
    """In-process storage for the GPU check script and unit tests of handler logic only.

    Integration tests use moto (a real S3 API); this exists so gpu_check.py can run the
    handlers on a GPU box that has neither S3 access nor moto.
    """

    def __init__(self):
        self._objects: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str, *, field: str, max_bytes: int) -> bytes:
        with self._lock:
            data = self._objects.get((bucket, key))
        if data is None:
            raise ObjectNotFound(f"s3 object s3://{bucket}/{key} does not exist", field=field)
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"s3 object {key!r} exceeds the limit of {max_bytes} bytes", field=field)
        return data

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        with self._lock:
            self._objects[(bucket, key)] = bytes(body)
