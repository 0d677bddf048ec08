"""Large artifacts in an S3-compatible store (SeaweedFS's S3 gateway, built from its Go module by scripts/testenv):
the database keeps the digest and the object's URL; reads are checked against the digest; small artifacts stay inline;
the same content is one object; the quota counts them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerkit.errors import QuotaExceededError, StoreError
from containerkit.store import SessionStore
from tests.conftest import TESTENV_STATE, unavailable
from tests.store.test_store import Where, where  # noqa: F401 - the fixture: both databases


@pytest.fixture
def s3(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    path = TESTENV_STATE / "s3"
    if not path.exists():
        unavailable(request, "the S3 server (SeaweedFS, scripts/testenv)")
    endpoint, access, secret = path.read_text().split()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    # one bucket (a bucket is a SeaweedFS collection with volumes of its own), a prefix per test
    bucket, prefix = "ck-tests", f"t-{uuid.uuid4().hex[:12]}"
    try:
        client.create_bucket(Bucket=bucket)
    except Exception as e:  # made by a test beside this one is as good
        if "BucketAlreadyOwnedByYou" not in str(e) and "BucketAlreadyExists" not in str(e):
            unavailable(request, f"the S3 server at {endpoint} ({e})")
    yield client, f"s3://{bucket}/{prefix}?endpoint={endpoint}&region=us-east-1"
    for obj in client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])


def _objects(client: Any, url: str) -> list[str]:
    bucket, prefix = url.split("/")[2], url.split("/")[3].split("?")[0]
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])]


def test_large_artifacts_go_to_the_object_store_and_come_back_checked(
    where: Where,  # noqa: F811 - the fixture
    s3: tuple[Any, str],
) -> None:
    client, url = s3
    store = SessionStore(where.location, where.workspaces, artifacts_url=url, object_min_bytes=1024)
    sid = store.create_session().id
    big = os.urandom(200_000)
    info = store.add_artifact(sid, "sbom", "sbom.json", big, media_type="application/octet-stream")
    assert info.path is not None and info.path.startswith(url.split("?")[0] + "/sha256/")
    got, content = store.get_artifact(info.id)
    assert content == big and got.digest == info.digest
    small = store.add_artifact(sid, "report", "r.md", "tiny", media_type="text/markdown")
    assert small.path is None and store.get_artifact(small.id)[1] == b"tiny"
    again = store.add_artifact(sid, "sbom", "sbom-2.json", big, media_type="application/octet-stream")
    assert again.path == info.path and len(_objects(client, url)) == 1  # content-addressed: one object
    # the database never holds the large content
    assert big[:4096] not in where.everything_stored()

    # an object changed behind the store's back is refused, not served
    key = info.path.split("/", 3)[3]
    client.put_object(Bucket=url.split("/")[2], Key=key, Body=b"tampered")
    with pytest.raises(StoreError, match="does not match its digest"):
        store.get_artifact(info.id)
    store.close()


def test_the_quota_counts_artifacts_in_the_object_store(where: Where, s3: tuple[Any, str]) -> None:  # noqa: F811
    _, url = s3
    store = SessionStore(
        where.location, where.workspaces, artifacts_url=url, object_min_bytes=1024, disk_quota_bytes=300_000
    )
    sid = store.create_session().id
    store.add_artifact(sid, "sbom", "a", os.urandom(200_000), media_type="application/octet-stream")
    with pytest.raises(QuotaExceededError):
        store.add_artifact(sid, "sbom", "b", os.urandom(200_000), media_type="application/octet-stream")
    store.close()


def test_wrong_credentials_are_a_clear_store_error_that_never_shows_them(
    tmp_path: Path, s3: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = s3
    canary = "canary-s3-secret-8c41f0"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary)
    store = SessionStore(tmp_path / "s.db", tmp_path / "ws", artifacts_url=url, object_min_bytes=10)
    sid = store.create_session().id
    with pytest.raises(StoreError) as info:
        store.add_artifact(sid, "sbom", "a", b"x" * 100, media_type="application/octet-stream")
    text = f"{info.value.message} {info.value.hint} {info.value.details}"
    assert "cannot write" in text and "S3 credentials" in text and canary not in text
    assert store.list_artifacts(sid) == []  # nothing half-stored
