"""Dockerfile validation: each Container Kit rule provoked, hadolint parsed, the parser's line numbers."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from containerkit.dockerfile.lint import lint, own_rules
from containerkit.dockerfile_syntax import parse_dockerfile
from tests.conftest import Harness

GOOD = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
USER 10001
EXPOSE 8000
CMD ["python", "app.py"]
"""


def rules(text: str, context: Path | None = None, port: int | None = None) -> dict[str, int | None]:
    return {f.rule: f.line for f in own_rules(text, context, port)}


def test_good_dockerfile_passes_own_rules(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n")
    assert own_rules(GOOD, tmp_path, 8000) == []


@pytest.mark.parametrize(
    ("text", "rule", "line"),
    [
        (GOOD.replace("USER 10001\n", ""), "CK101", 1),
        (GOOD.replace("USER 10001", "USER root"), "CK101", 6),
        (GOOD.replace("python:3.12-slim", "python"), "CK102", 1),
        (GOOD.replace("python:3.12-slim", "python:latest"), "CK102", 1),
        (GOOD.replace("WORKDIR /app", "ENV API_TOKEN=abc123"), "CK103", 2),
        (GOOD.replace("WORKDIR /app", 'ARG DB_PASSWORD="hunter2"'), "CK103", 2),
        (GOOD.replace("EXPOSE 8000", "EXPOSE 5000"), "CK104", 7),
        (
            'FROM python:3.12-slim\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\nUSER 1\nCMD ["x"]\n',
            "CK105",
            2,
        ),
        (GOOD.replace('CMD ["python", "app.py"]', "CMD python app.py"), "CK107", 8),
        (GOOD.replace("EXPOSE 8000", "HEALTHCHECK CMD curl -f http://localhost:8000/"), "CK108", 7),
    ],
)
def test_each_rule_fires_on_its_problem(text: str, rule: str, line: int, tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n")
    found = rules(text, tmp_path, 8000)
    assert rule in found and found[rule] == line


def test_missing_dockerignore_is_reported(tmp_path: Path) -> None:
    assert "CK106" in rules(GOOD, tmp_path, 8000)


def test_secret_from_build_arg_reference_is_not_flagged(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("")
    assert "CK103" not in rules(GOOD.replace("WORKDIR /app", "ARG API_TOKEN\nENV API_TOKEN=$API_TOKEN"), tmp_path)


def test_curl_is_fine_when_installed(tmp_path: Path) -> None:
    text = GOOD.replace("WORKDIR /app", "RUN apt-get update && apt-get install -y curl").replace(
        "EXPOSE 8000", "HEALTHCHECK CMD curl -f http://x/"
    )
    assert "CK108" not in rules(text, tmp_path)


def test_hadolint_findings_come_with_rule_line_and_fix() -> None:
    findings = anyio.run(lint, "FROM debian:12\nRUN cd /tmp && apt-get install -y curl\nCMD bash\n", None, None)
    by_rule = {f.rule: f for f in findings if f.source == "hadolint"}
    assert {"DL3003", "DL3008"} <= set(by_rule)
    assert by_rule["DL3003"].line == 2 and by_rule["DL3003"].fix


def test_parser_handles_continuations_comments_and_stages() -> None:
    text = (
        "# syntax=docker/dockerfile:1\nFROM node:20 AS build\nRUN a && \\\n    # note\n    b\n"
        "FROM nginx:stable\nCOPY --from=build /a /b\n"
    )
    ins = parse_dockerfile(text)
    assert [(i.keyword, i.line, i.stage) for i in ins] == [
        ("FROM", 2, 0),
        ("RUN", 3, 0),
        ("FROM", 6, 1),
        ("COPY", 7, 1),
    ]
    assert ins[1].value == "a && b"


def test_validate_tool_reports_errors_and_exit_status(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python\nCMD python app.py\n")
    result = harness.call("validate_dockerfile", path=str(tmp_path))
    assert not result.valid and result.errors >= 2
    assert {"CK101", "CK102"} <= {f.rule for f in result.findings}


PROBE_REMOTE = """FROM debian:bookworm-slim
RUN curl http://get.example.com/install.sh | sh
RUN wget -qO- https://get.example.com/setup | bash -s -- -y
ADD http://downloads.example.com/tool.tar.gz /opt/
ADD https://downloads.example.com/other.tar.gz /opt/
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://downloads.example.com/pinned.tar.gz /opt/
USER 10001
CMD ["/opt/tool"]
"""  # noqa: E501 - the pinned ADD line is as long as a real one


def test_remote_code_into_a_shell_and_remote_add_fail_lint(tmp_path: Path) -> None:
    """The probe's `curl | sh`, `wget | bash` and `ADD http://` were valid (exit 0); in the pipeline they
    "succeeded"."""
    import json

    from tests.core.test_cli import ck

    (tmp_path / "Dockerfile").write_text(PROBE_REMOTE)
    (tmp_path / ".dockerignore").write_text(".git\n")
    out = ck(["lint", str(tmp_path), "--json"], tmp_path, {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])})
    assert out.returncode == 1, out.stdout + out.stderr
    found = {
        (f["rule"], f["line"], f["severity"])
        for f in json.loads(out.stdout)["findings"]
        if f["source"] == "containerkit"
    }
    assert {("CK109", 2, "error"), ("CK109", 3, "error"), ("CK110", 4, "error"), ("CK110", 5, "warning")} <= found
    assert not any(rule == "CK110" and line == 6 for rule, line, _ in found)  # a checksum pins it


@pytest.mark.parametrize(
    "line",
    [
        'RUN sh -c "$(curl -fsSL https://x.example/i.sh)"',
        "RUN bash <(wget -qO- https://x.example/i)",
        "RUN curl -fsSL https://deb.example/setup_20.x | sudo -E bash -",
        "RUN curl -sSL https://install.example.org | python3 -",
    ],
)
def test_every_way_of_running_a_download_is_caught(line: str) -> None:
    assert "CK109" in rules(f"FROM debian:bookworm-slim\n{line}\nUSER 10001\n")


@pytest.mark.parametrize(
    "line",
    [
        "RUN curl -fsSLo /tmp/t.tgz https://x.example/t.tgz && sha256sum -c /tmp/t.sha256",
        "RUN curl -fsSL https://x.example/t.tgz | tar -xz -C /opt",
        "RUN ls | wc -l",
    ],
)
def test_downloads_that_are_not_run_are_not_flagged(line: str) -> None:
    assert "CK109" not in rules(f"FROM debian:bookworm-slim\n{line}\nUSER 10001\n")


def test_a_generated_pipe_runs_with_pipefail() -> None:
    from containerkit.dockerfile.render import with_pipefail

    text = with_pipefail(
        "FROM node:20-alpine AS build\nRUN npm ci || true\nFROM debian:bookworm-slim\nRUN apt-get update && \\\n"
        "    dpkg -l | grep -c ii\nRUN echo one | cat\n"
    )
    lines = text.splitlines()
    assert lines[3] == 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]' and lines[2] == "FROM debian:bookworm-slim"
    assert text.count("SHELL") == 1  # once per stage, and not for `||`
    alpine = with_pipefail("FROM alpine:3.20\nRUN apk info | sort\n")
    assert alpine.splitlines()[1] == 'SHELL ["/bin/ash", "-o", "pipefail", "-c"]'


def test_one_parser_reads_a_backtick_escaped_dockerfile_for_the_lint_and_the_build() -> None:
    """dockerfile/parse.py ignored `# escape=`: the lint read `RUN a `` + `b` as two instructions (a `B` one), while the
    build's step table joined them (issue 17). One parser now serves both."""
    from containerkit import dockerfile_syntax
    from containerkit.dockerfile import lint as lint_module
    from containerkit.engine import builder

    text = (
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN powershell -Command `\n"
        "    Write-Host hi\nCOPY c d\n"
    )
    instructions = parse_dockerfile(text)
    assert [(i.keyword, i.line) for i in instructions] == [("FROM", 2), ("RUN", 3), ("COPY", 5)]
    assert instructions[1].value == "powershell -Command Write-Host hi"
    assert lint_module.parse_dockerfile is builder.parse_dockerfile is dockerfile_syntax.parse_dockerfile
