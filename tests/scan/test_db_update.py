"""`db update` downloads OSV zips over HTTP (tested against a local server) and fails clearly offline."""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import anyio
import pytest

from containerkit.errors import NetworkError, ScanError
from containerkit.scan import dbupdate, osv, osvindex
from tests.conftest import Harness, free_port
from tests.scan.helpers import OSV_DIR


def _zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(folder.glob("*.json")):
            z.write(f, f.name)
    return buf.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def osv_server() -> Iterator[str]:
    _Handler.files = {
        "/PyPI/all.zip": _zip_of(OSV_DIR / "PyPI"),
        "/Debian/all.zip": _zip_of(OSV_DIR / "Debian"),
        "/Broken/all.zip": b"<html>not a zip</html>",
    }
    _Handler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_update_downloads_each_ecosystem_and_records_the_date(tmp_path: Path, osv_server: str) -> None:
    done = anyio.run(lambda: dbupdate.update(tmp_path, ["PyPI", "Debian"], osv_server))
    assert [(d.ecosystem, d.records) for d in done] == [("PyPI", 13), ("Debian", 7)]
    assert (tmp_path / "PyPI" / "all.zip").is_file() and (tmp_path / "Debian" / "all.zip").is_file()
    status = osv.status(tmp_path, 7)
    assert status.exists and status.age_days is not None and status.age_days < 0.1
    assert {e.ecosystem: e.source for e in status.ecosystems}["PyPI"] == f"{osv_server}/PyPI/all.zip"
    assert not list(tmp_path.rglob("*.part"))
    # indexed once here: each scan reads its packages' records from <db>/index.sqlite
    assert osvindex.is_fresh(tmp_path / osvindex.INDEX_FILE, osvindex.fingerprint(tmp_path))
    db = osv.OsvDatabase.load(tmp_path, {("PyPI", "requests")})
    assert {r.id for r in db.records[("PyPI", "requests")]} == {
        "GHSA-j8r2-6x86-q33q",
        "GHSA-9wx4-h78v-vm56",
        "GHSA-9hjg-9r4m-mvj7",
    }


def test_a_bad_download_never_replaces_a_good_database(tmp_path: Path, osv_server: str) -> None:
    anyio.run(lambda: dbupdate.update(tmp_path, ["PyPI"], osv_server))
    good = (tmp_path / "PyPI" / "all.zip").read_bytes()
    _Handler.files["/PyPI/all.zip"] = b"garbage"
    with pytest.raises(ScanError) as err:
        anyio.run(lambda: dbupdate.update(tmp_path, ["PyPI"], osv_server))
    assert err.value.code == "SCAN_DB_DOWNLOAD"
    assert (tmp_path / "PyPI" / "all.zip").read_bytes() == good and not list(tmp_path.rglob("*.part"))


def test_unknown_ecosystem_is_named(tmp_path: Path, osv_server: str) -> None:
    with pytest.raises(ScanError) as err:
        anyio.run(lambda: dbupdate.update(tmp_path, ["NoSuchEco"], osv_server))
    assert err.value.code == "SCAN_DB_UNKNOWN_ECOSYSTEM" and "NoSuchEco" in err.value.message


def test_unreachable_server_is_a_network_error_with_a_hint(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NetworkError) as err:
        anyio.run(lambda: dbupdate.update(tmp_path, ["PyPI"], url))
    assert err.value.code == "NETWORK" and err.value.retryable
    assert "PyPI" in err.value.message and "--db" in err.value.hint
    assert not (tmp_path / "PyPI" / "all.zip").exists()


def test_db_tools_update_and_status_through_the_registry(
    harness: Harness, tmp_path: Path, osv_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from containerkit.app import build_app
    from containerkit.settings import load_settings

    monkeypatch.setenv("CONTAINERKIT_SCAN__OSV_BASE_URL", osv_server)
    harness.app = build_app(load_settings())
    result = harness.call("db_update", ecosystems=["PyPI"], db_path=str(tmp_path / "db"))
    assert [d.ecosystem for d in result.downloaded] == ["PyPI"] and result.status.exists
    status = harness.call("db_status", db_path=str(tmp_path / "db")).status
    assert json.loads(status.model_dump_json())["ecosystems"][0]["records"] == 13
    harness.app.services.store.close()
