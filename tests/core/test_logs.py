"""Logs as JSON lines with what they are about, through the redaction filter (issue 18), and the CLI's options."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from containerkit import logs
from containerkit.redaction import register_secret
from tests.conftest import FIXTURE_REPOS
from tests.core.test_cli import ck

CANARY = "ck-canary-Zq8rT2vLp9XwK3mN"


def test_json_lines_carry_the_bound_context_and_never_a_secret() -> None:
    register_secret(CANARY)
    buffer = io.StringIO()
    logs.configure("json", "DEBUG", stream=buffer)
    log = logging.getLogger("containerkit.tools.example")  # a child logger: its records reach the handler
    try:
        with logs.bind(session="s-1", tool="build_image"), logs.bind(run="r-9"):
            log.warning("pushing with token %s", CANARY)
            try:
                raise ValueError(f"bad {CANARY}")
            except ValueError:
                log.exception("failed")
        log.info("outside")
    finally:
        logs.configure("text", "WARNING")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    assert len(lines) == 3, buffer.getvalue()
    first, second, third = lines
    assert first["level"] == "warning" and first["logger"] == "containerkit.tools.example"
    assert (first["session"], first["run"], first["tool"]) == ("s-1", "r-9", "build_image")
    assert first["time"].endswith("+00:00") and "***" in first["message"]
    assert "exception" in second and "run" not in third
    assert CANARY not in buffer.getvalue()


def test_the_cli_writes_json_lines_on_stderr(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    import shutil

    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    roots = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    out = ck(["--log-format", "json", "--log-level", "debug", "dockerfile", str(repo)], tmp_path, roots)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines, "debug logging wrote nothing"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r.get("tool") == "generate_dockerfile" and r.get("session") for r in records), records


def test_an_unknown_log_format_is_a_usage_error(tmp_path: Path) -> None:
    out = ck(["--log-format", "xml", "sessions", "list"], tmp_path, {})
    assert out.returncode == 2 and "--log-format" in out.stderr and "Traceback" not in out.stderr
