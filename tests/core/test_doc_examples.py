"""Every example in the docs runs: each `$ containerkit …` line is executed, each workflow YAML block validates.

Examples run in a scratch copy of the repository's fixtures (nothing in the checkout is written), in the order the
docs give them. An example whose prerequisite cannot exist here (a cluster, the OSV download) must still fail the way
a user would see: a typed error line with a code and a hint, never a usage error or a traceback. The examples the
machine can run must succeed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, Harness

DOCS = sorted((ROOT / "docs").rglob("*.md"))
_BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
_COMMENT = re.compile(r"\s{2,}#.*$")
_USAGE = ("Usage:", "No such option", "Missing argument", "Invalid value for", "Got unexpected extra argument")
#: examples this machine can run to success (the rest need a cluster, network or images the docs assume)
MUST_SUCCEED = (
    "containerkit analyze ",
    "containerkit dockerfile tests/",
    "containerkit manifests tests/",
    "containerkit status",
    "containerkit sessions list",
    "containerkit containerize examples/hello-flask",
    "containerkit containerize-many examples/",
    "containerkit db status",
    "containerkit scan-secrets ./ctx",
)
#: examples whose exit status is the sandboxed program's own (documented: OOM 137, timeout 124, the command's code)
OWN_EXIT = ("containerkit sandbox run ",)


def _examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for _, body in _BLOCK.findall(doc.read_text()):
            for line in body.splitlines():
                if line.startswith("$ ") and "containerkit " in line.split("#")[0]:
                    found.append((f"{doc.relative_to(ROOT)}", _COMMENT.sub("", line[2:]).strip()))
    return found


EXAMPLES = _examples()


def test_the_docs_have_examples_to_run() -> None:
    assert len(EXAMPLES) >= 40


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    for part in ("tests/fixtures", "tests/data", "examples"):
        shutil.copytree(ROOT / part, root / part, symlinks=True)
    shutil.copytree(ROOT / "tests/fixtures/repos/python-flask", root / "app")
    shutil.copytree(ROOT / "tests/fixtures/repos/python-flask", root / "ctx")
    (root / "tmp").mkdir()
    secret = Path("/var/lib/containerkit-testenv/auth-password")
    (root / "password.txt").write_text(secret.read_text() if secret.exists() else "missing\n")
    return root


def _run(command: str, scratch: Path) -> subprocess.CompletedProcess[str]:
    """Run the line as a user types it (pipes, VAR=value prefixes) with this checkout's `containerkit` first on PATH."""
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(scratch / "home"),
        "CONTAINERKIT_CONFIG": str(scratch / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(scratch), str(ROOT)]),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    line = command.replace("/tmp/", f"{scratch}/tmp/")
    return subprocess.run(
        ["bash", "-c", line],
        capture_output=True,
        text=True,
        env=env,
        cwd=scratch,
        timeout=400,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.e2e
def test_every_documented_command_runs(scratch: Path, docker_client: Any, local_registry: str) -> None:
    problems = []
    for doc, command in EXAMPLES:
        out = _run(command, scratch)
        text = out.stdout + out.stderr
        if "Traceback" in text:
            problems.append(f"{doc}: `{command}` printed a traceback:\n{text[-1500:]}")
        elif any(marker in out.stderr for marker in _USAGE):
            problems.append(f"{doc}: `{command}` is not a valid command line:\n{out.stderr[-800:]}")
        elif command.startswith(MUST_SUCCEED) and out.returncode != 0:
            problems.append(f"{doc}: `{command}` failed (exit {out.returncode}):\n{text[-1500:]}")
        elif command.startswith(OWN_EXIT) and re.match(
            r"(exited|oom_killed|timeout): exit code", out.stdout + out.stderr
        ):
            continue
        elif out.returncode != 0 and not re.search(r"error \[[A-Z_0-9]+\]", out.stderr):
            problems.append(f"{doc}: `{command}` exited {out.returncode} without a typed error:\n{text[-800:]}")
    assert not problems, "\n\n".join(problems)


def _workflow_blocks() -> list[tuple[str, str]]:
    blocks = []
    for doc in [*DOCS, ROOT / "README.md"]:
        for lang, body in _BLOCK.findall(doc.read_text()):
            if lang in ("yaml", "yml") and isinstance(data := yaml.safe_load(body), dict) and "steps" in data:
                blocks.append((str(doc.relative_to(ROOT)), body))
    return blocks


def test_every_workflow_in_the_docs_validates(harness: Harness) -> None:
    blocks = _workflow_blocks()
    assert blocks, "docs/workflows.md shows a workflow"
    for doc, body in blocks:
        result = harness.call("validate_workflow", spec=body)
        assert result.valid, f"{doc}: {[f.message for f in result.findings]}"
