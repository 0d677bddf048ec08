"""Large artifacts in an S3-compatible object store (``store.artifacts_url``), the database holding their digest.

``s3://BUCKET/PREFIX?endpoint=http://host:port&region=us-east-1``: objects are content-addressed
(``PREFIX/sha256/<hex>``), so an artifact stored twice is one object, and a read is checked against the digest the
database holds. Credentials come the standard way (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an
instance role). Needs ``containerkit[s3]`` (boto3).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from containerkit.errors import StoreError


class ObjectStore:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise StoreError(
                f"store.artifacts_url {url!r} is not an s3:// URL",
                hint="Write it as s3://BUCKET/PREFIX?endpoint=https://host:port&region=REGION.",
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint = query.get("endpoint")
        self.region = query.get("region", "us-east-1")
        self.url = url
        self._client: Any = None
        self._lock = threading.Lock()

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import boto3  # type: ignore[import-untyped]
                    from botocore.config import Config  # type: ignore[import-untyped]
                except ImportError as e:
                    raise StoreError(
                        "store.artifacts_url names an S3 store, and boto3 is not installed",
                        hint="Install it with `pip install 'containerkit[s3]'`.",
                    ) from e
                # a session of its own: boto3's default session keeps the credentials it resolved first
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.endpoint,
                    region_name=self.region,
                    config=Config(
                        retries={"max_attempts": 3, "mode": "standard"},
                        s3={"addressing_style": "path"},
                        # plain requests: S3-compatible servers differ on the newer default checksums
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    ),
                )
            return self._client

    def _key(self, digest: str) -> str:
        name = f"sha256/{digest.removeprefix('sha256:')}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _fail(self, what: str, e: Exception) -> StoreError:
        return StoreError(
            f"cannot {what} in the artifact store s3://{self.bucket}/{self.prefix} ({self.endpoint or 'AWS'}): "
            f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}",
            hint="Check store.artifacts_url, the bucket, and the S3 credentials (AWS_ACCESS_KEY_ID/…).",
        )

    def put(self, data: bytes, digest: str) -> str:
        """Store ``data`` under its digest (once); returns the object's ``s3://`` URL."""
        key = self._key(digest)
        s3 = self._s3()
        try:
            s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        except Exception as e:  # botocore's errors: the message says what and where, never the credentials
            raise self._fail(f"write {key}", e) from e
        return f"s3://{self.bucket}/{key}"

    def get(self, url: str, digest: str) -> bytes:
        """The object at ``url``, checked against ``digest``."""
        parts = urlsplit(url)
        key = parts.path.lstrip("/")
        try:
            body = self._s3().get_object(Bucket=parts.netloc, Key=key)["Body"].read()
        except Exception as e:
            raise self._fail(f"read {key}", e) from e
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise StoreError(f"the artifact object {url} does not match its digest {digest}: it was changed")
        return bytes(body)
