"""`db update`: download OSV's per-ecosystem ``all.zip`` archives and record when."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
from pathlib import Path

import httpx

from containerkit.errors import InvalidInputError, NetworkError, ScanError
from containerkit.scan import osv
from containerkit.scan.models import DbEcosystem

_CHUNK = 1 << 20


async def update(
    root: Path,
    ecosystems: list[str],
    base_url: str,
    *,
    timeout: float = 900.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[DbEcosystem]:
    """Download ``<base_url>/<Ecosystem>/all.zip`` for each ecosystem into ``root/<Ecosystem>/all.zip``.

    Each archive is written to a temporary file, checked to be a zip of OSV JSON, then moved into
    place, so a failed download never replaces a good database.

    Raises:
        NetworkError: the server cannot be reached (code NETWORK).
        ScanError: the server answered with an error or a file that is not an OSV zip.
        InvalidInputError: an ecosystem name that cannot be a path segment.
    """
    for eco in ecosystems:
        if not eco or "/" in eco or eco.startswith(".") or "\\" in eco:
            raise InvalidInputError(
                f"invalid ecosystem name {eco!r}", hint="Use OSV names like PyPI, npm, Debian, Go, Maven."
            )
    _mkdir(root)
    done: list[DbEcosystem] = []
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=15.0), transport=transport, follow_redirects=True
    ) as client:
        for eco in ecosystems:
            done.append(await _download(client, root, eco, base_url.rstrip("/")))
            meta = osv.read_meta(root)
            osv.write_meta(root, osv.DbMeta(ecosystems={**meta.ecosystems, eco: done[-1]}))
    # index once here, so each scan reads only the records of its packages (osvindex)
    import anyio

    await anyio.to_thread.run_sync(osv.build_index, root)
    return done


async def _download(client: httpx.AsyncClient, root: Path, eco: str, base_url: str) -> DbEcosystem:
    url = f"{base_url}/{eco}/all.zip"
    target_dir = root / eco
    _mkdir(target_dir)
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=".all.", suffix=".zip.part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code == 404:
                        raise ScanError(
                            f"OSV has no ecosystem {eco!r} at {url}",
                            code="SCAN_DB_UNKNOWN_ECOSYSTEM",
                            hint="Check the ecosystem name (case matters: PyPI, npm, Debian, crates.io).",
                        )
                    if response.status_code >= 400:
                        raise ScanError(
                            f"downloading {url} failed: HTTP {response.status_code}",
                            code="SCAN_DB_DOWNLOAD",
                            retryable=response.status_code >= 500,
                        )
                    async for chunk in response.aiter_bytes(_CHUNK):
                        out.write(chunk)
            except httpx.TransportError as e:
                raise NetworkError(
                    f"cannot download the {eco} vulnerability database from {url}: {type(e).__name__}: {e}",
                    hint="This machine cannot reach the OSV bucket: connect to the network, set "
                    "CONTAINERKIT_SCAN__OSV_BASE_URL to a reachable mirror, or pass --db with a local copy.",
                    details={"url": url, "ecosystem": eco},
                ) from e
        records = _count_records(tmp, url)
        _install(tmp, target_dir / "all.zip")
    finally:
        _discard(tmp)
    return DbEcosystem(
        ecosystem=eco, records=records, updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), source=url
    )


def _mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def _install(tmp: Path, target: Path) -> None:
    tmp.replace(target)


def _discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)


def _count_records(path: Path, url: str) -> int:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ScanError(f"{url}: corrupt member {bad}", code="SCAN_DB_DOWNLOAD", retryable=True)
            return sum(1 for n in archive.namelist() if n.endswith(".json"))
    except zipfile.BadZipFile as e:
        raise ScanError(
            f"{url} did not return a zip archive",
            code="SCAN_DB_DOWNLOAD",
            hint="Check CONTAINERKIT_SCAN__OSV_BASE_URL points at an OSV bucket or mirror.",
        ) from e
