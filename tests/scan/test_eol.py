"""End-of-life base images: the dated table, and a real image that declares an end-of-life runtime (CLI and MCP)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import anyio
import pytest

from containerkit.scan import eol
from tests.conftest import Harness
from tests.scan.helpers import OSV_DIR, ensure_image
from tests.scan.test_scan_image import _builtin_only, _ck

TODAY = dt.date(2026, 12, 4)


def test_the_table_judges_distributions_and_runtimes_on_a_date() -> None:
    assert [e.what for e in eol.check("debian", "10", {}, TODAY)] == ["debian 10"]
    assert eol.check("debian", "12", {}, TODAY) == [] and eol.check("debian", "11", {}, dt.date(2026, 8, 31)) == []
    assert [e.what for e in eol.check("debian", "11", {}, dt.date(2026, 9, 1))] == ["debian 11"]
    assert [e.what for e in eol.check("alpine", "3.19.4", {}, TODAY)] == ["alpine 3.19"]  # a point release is its line
    found = eol.check(
        "debian", "12", {"PYTHON_VERSION": "3.8.20", "NODE_VERSION": "18.20.8", "GOLANG_VERSION": "1.25.4"}, TODAY
    )
    assert [e.what for e in found] == ["python 3.8", "node 18"]  # Go 1.25: not in the table
    assert found[0].ended == dt.date(2024, 10, 7) and "python 3.8.20" in found[0].message
    assert eol.check("plan9", "4", {"PYTHON_VERSION": "3.13.1"}, TODAY) == []  # unknown: not judged


def test_every_date_in_the_table_parses_and_names_its_snapshot() -> None:
    data = eol.table()
    dt.date.fromisoformat(data["snapshot"])
    for releases in [*data["distributions"].values(), *(r["releases"] for r in data["runtimes"].values())]:
        for ended in releases.values():
            dt.date.fromisoformat(ended)


@pytest.fixture
def old_python(docker_client: Any) -> str:
    # what python:3.8-slim declares (ENV PYTHON_VERSION, as the official images do), on the Debian 12 stand-in
    return ensure_image(docker_client, "ck-scan-eol:latest", "FROM debian:bookworm-slim\nENV PYTHON_VERSION=3.8.20\n")


def test_an_end_of_life_runtime_is_a_policy_finding_and_fails_the_gate_when_asked(
    harness: Harness, old_python: str, tmp_path: Any
) -> None:
    out = _ck(["scan", old_python, "--scanner", "builtin", "--db", str(OSV_DIR), "--json"], tmp_path / "home")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["report"]
    [rule] = report["policy"]["rules"]
    assert (rule["rule"], rule["severity"]) == ("CK-EOL", "warning") and "python 3.8.20" in rule["message"]
    assert any("reached its end of support on 2024-10-07" in w for w in report["warnings"])
    _builtin_only(harness)

    async def main() -> Any:
        from mcp import Client

        from containerkit.mcp.server import build_server

        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image", {"image": old_python, "scanner": "builtin", "db_path": str(OSV_DIR), "fail_on_eol": True}
            )

    failed = anyio.run(main)
    assert failed.is_error
    data = json.loads(failed.content[1].text)  # type: ignore[union-attr]
    assert data["code"] == "POLICY_VIOLATION" and "python 3.8.20" in data["message"]
