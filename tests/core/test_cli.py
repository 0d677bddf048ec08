"""The CLI: --json is the result model, errors are one line + hint with distinct exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def ck(
    args: list[str], home: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_CONFIG": str(home / "none.yaml"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "containerkit", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=ROOT,
        input=stdin,
        timeout=120,
    )


def test_status_json_is_the_result_model(tmp_path: Path) -> None:
    out = ck(["status", "--no-engine", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    from containerkit.tools.sessions import ServerStatusResult

    ServerStatusResult.model_validate(data)
    assert data["engine"] is None and data["schema_version"] >= 1


def test_unknown_session_prints_one_line_and_hint_and_exits_1(tmp_path: Path) -> None:
    out = ck(["sessions", "show", "nope"], tmp_path)
    assert out.returncode == 1
    assert "NOT_FOUND" in out.stderr and "hint:" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_invalid_input_exits_2(tmp_path: Path) -> None:
    sid = json.loads(ck(["sessions", "list", "--json"], tmp_path).stdout)["sessions"]
    assert sid == []
    out = ck(["sessions", "label", "abc", "bad label!"], tmp_path)
    assert out.returncode == 2 and "INVALID_INPUT" in out.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    out = ck(["sessions", "show"], tmp_path)
    assert out.returncode == 2


def test_bad_setting_is_a_clear_config_error(tmp_path: Path) -> None:
    out = ck(["status", "--no-engine"], tmp_path, env={"CONTAINERKIT_STORE__TTL_HOURS": "-5"})
    assert out.returncode == 2
    assert "CONFIG_ERROR" in out.stderr and "CONTAINERKIT_STORE__TTL_HOURS" in out.stderr
    assert "Traceback" not in out.stderr


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    canary = "cfg-canary-55aa"
    env = {"CONTAINERKIT_REGISTRY__PASSWORD": canary, "CONTAINERKIT_MCP__AUTH_TOKEN": canary}
    out = ck(["config", "show", "--json"], tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert canary not in out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["registry"]["password"] == "***" and data["mcp"]["auth_token"] == "***"


def test_config_file_is_read_and_env_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("store:\n  ttl_hours: 2\n  max_sessions: 7\n")
    out = ck(
        ["config", "show", "--json"],
        tmp_path,
        env={"CONTAINERKIT_CONFIG": str(cfg), "CONTAINERKIT_STORE__MAX_SESSIONS": "9"},
    )
    data = json.loads(out.stdout)
    assert data["store"]["ttl_hours"] == 2 and data["store"]["max_sessions"] == 9


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sessions", "--help"]])
def test_help_and_version_work(tmp_path: Path, args: list[str]) -> None:
    assert ck(args, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "status"),
    [
        (["sessions", "show", "nope", "--json"], "NOT_FOUND", 1),
        (
            ["push", "127.0.0.1:5001/x/y:1", "--password-stdin", "--password-file", "/nope", "--json"],
            "INVALID_INPUT",
            2,
        ),
        (["dockerfile", "/definitely/not/here", "--json"], "PATH_NOT_ALLOWED", 2),
        # refused by the parser, before any command runs (stdout was empty)
        (["dockerfile", ".", "--port", "abc", "--json"], "INVALID_INPUT", 2),
        (["sessions", "show", "--json"], "INVALID_INPUT", 2),
        (["no-such-command", "--json"], "INVALID_INPUT", 2),
    ],
)
def test_json_errors_are_a_document_on_stdout(tmp_path: Path, args: list[str], code: str, status: int) -> None:
    out = ck(args, tmp_path)
    assert out.returncode == status, out.stderr
    error = json.loads(out.stdout)["error"]
    assert error["code"] == code and error["message"] and error["hint"] and isinstance(error["details"], dict)
    assert "{tool:" not in out.stdout and "Traceback" not in out.stderr


def test_data_is_printed_as_plain_text_never_as_markup_or_emoji(tmp_path: Path) -> None:
    """Paths and messages with ``[...]`` and ``:name:`` used to be read as rich markup and emoji codes."""
    missing = tmp_path / "a[" / "[/x]" / "root:x:0 [bold]b"
    out = ck(["analyze", str(missing)], tmp_path)
    assert out.returncode == 2, out.stderr
    assert str(missing) in out.stderr.replace("\n", "")
    assert "Traceback" not in out.stderr
    repo = tmp_path / "repo"
    service = repo / "[red]svc:x:"
    service.mkdir(parents=True)
    (service / "requirements.txt").write_text("flask\n")
    (service / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (repo / "x]").symlink_to(service, target_is_directory=True)
    out = ck(
        ["analyze", str(repo)],
        tmp_path,
        env={"COLUMNS": "300", "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])},
    )
    assert out.returncode == 0, out.stderr
    assert "[red]svc:x:" in out.stdout and "❌" not in out.stdout


def test_the_command_map_names_every_command_of_every_module() -> None:
    """The entry point imports only the module of the command it runs: the map must know each module's commands."""
    from containerkit.cli.main import COMMANDS, build, command_modules

    registered = {}
    for module in command_modules():
        tree = build([module])
        names = [c.name for c in tree.registered_commands] + [g.name for g in tree.registered_groups]
        registered.update(dict.fromkeys(names, module))
    assert registered == COMMANDS


HEAVY = ("mcp", "docker", "lightkube", "kubernetes_validate", "jsonschema")


@pytest.mark.parametrize("entry", ["containerkit.cli", "containerkit.cli.main"])
def test_importing_the_cli_imports_no_protocol_engine_cluster_or_schema_library(entry: str) -> None:
    code = f"import sys, {entry}; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["--version"], (*HEAVY, "typer", "pydantic")),
        (["analyze", "{repo}", "--json"], HEAVY),
        (["lint", "{repo}/Dockerfile", "--json"], HEAVY),
        (["sessions", "list", "--json"], HEAVY),
    ],
)
def test_a_command_imports_what_it_needs_and_nothing_more(
    tmp_path: Path, args: list[str], absent: tuple[str, ...]
) -> None:
    """Run the entry point in-process and look at sys.modules afterwards (the command's own output is discarded).
    The tool index is built first, as any earlier command on the machine would have done (ADR 0098)."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "tests" / "fixtures" / "repos" / "python-flask", repo)
    (repo / "Dockerfile").write_text('FROM python:3.12-slim\nUSER 10001\nCMD ["python", "app.py"]\n')
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(tmp_path),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
        "CONTAINERKIT_CACHE_DIR": str(tmp_path / "cache"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)]),
    }
    subprocess.run(
        [sys.executable, "-c", "from containerkit.tools import REGISTRY; REGISTRY.infos()"],
        check=True,
        env=env,
        cwd=ROOT,
    )
    code = (
        "import sys, contextlib, io\nsys.argv = ['containerkit', *sys.argv[1:]]\nfrom containerkit.cli import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        run()\n    except SystemExit as e:\n"
        "        code = e.code\n    else:\n        code = 0\n"
        f"print(code, sorted({{m.split('.')[0] for m in sys.modules}} & set({absent!r})))"
    )
    argv = [a.format(repo=repo) for a in args]
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] in ("0 []", "None []"), out.stdout + out.stderr


@pytest.mark.parametrize(
    "command", [["sandbox", "run", "--memory", "lots", "--", "true"], ["smoke", "x:1", "--memory", "1.5.5g"]]
)
def test_a_memory_size_that_is_not_one_names_the_option(tmp_path: Path, command: list[str]) -> None:
    """Before, an unreadable --memory became 0 MB and the tool answered about `memory_mb` (a name the CLI never
    showed); `smoke` had no --memory at all."""
    out = ck(command, tmp_path)
    assert out.returncode == 2 and "INVALID_INPUT" in out.stderr and "--memory '" in out.stderr, out.stderr
    assert "512m, 1g" in out.stderr and "Traceback" not in out.stderr
