"""Pure parsing: Dockerfile instruction lines, step tracking for classic and BuildKit logs, classification table."""

from __future__ import annotations

import pytest

from containerkit.dockerfile_syntax import parse_dockerfile as read_instructions
from containerkit.engine.classify import classify
from containerkit.engine.models import BuildStep
from containerkit.engine.steps import find_line
from containerkit.engine.tracker import StepTracker

DOCKERFILE = """# syntax=docker/dockerfile:1
# a comment
FROM python:3.12-slim AS base

RUN apt-get update && \\
    apt-get install -y curl
# between
COPY requirements.txt .
RUN pip install -r requirements.txt
FROM base
COPY . /app
"""


def test_instructions_carry_their_first_line_and_joined_continuations() -> None:
    ins = read_instructions(DOCKERFILE)
    assert [(i.keyword, i.line) for i in ins] == [
        ("FROM", 3),
        ("RUN", 5),
        ("COPY", 8),
        ("RUN", 9),
        ("FROM", 10),
        ("COPY", 11),
    ]
    assert ins[1].text == "RUN apt-get update && apt-get install -y curl"


def test_escape_directive_changes_the_continuation_character() -> None:
    ins = read_instructions("# escape=`\nFROM x\nRUN a `\n  b\nCOPY c d\n")
    assert [(i.text, i.line) for i in ins] == [("FROM x", 2), ("RUN a b", 3), ("COPY c d", 5)]


def test_heredoc_bodies_are_not_instructions() -> None:
    ins = read_instructions("FROM x\nRUN <<EOF\nFROM not-an-instruction\nEOF\nCOPY a b\n")
    assert [(i.keyword, i.line) for i in ins] == [("FROM", 1), ("RUN", 2), ("COPY", 5)]


def test_find_line_uses_step_number_then_text() -> None:
    ins = read_instructions(DOCKERFILE)
    assert find_line(ins, "RUN pip install -r requirements.txt", 4) == 9
    assert find_line(ins, "COPY . /app") == 11
    assert find_line(ins, "LABEL org.opencontainers.image.created=x", 7) is None


def test_classic_log_gives_steps_cache_hits_and_containers() -> None:
    t = StepTracker(read_instructions(DOCKERFILE), clock=iter(range(100)).__next__)
    for line in [
        "Step 1/6 : FROM python:3.12-slim AS base",
        " ---> 8ec9570114fc",
        "Step 2/6 : RUN apt-get update &&     apt-get install -y curl",
        " ---> Using cache",
        " ---> abc",
        "Step 3/6 : COPY requirements.txt .",
        " ---> Running in 0123456789ab",
        "oops",
    ]:
        t.feed(line)
    t.finish()
    assert [(s.number, s.line, s.cached) for s in t.steps] == [(1, 3, False), (2, 5, True), (3, 8, False)]
    assert t.cache().cached == 1 and t.containers == ["0123456789ab"]
    assert t.failing_line() == 8


def test_buildkit_plain_progress_gives_steps_cache_and_error_line() -> None:
    lines = """#5 [base 1/2] FROM docker.io/library/python:3.12-slim
#5 DONE 0.1s
#6 [base 2/2] RUN apt-get update &&     apt-get install -y curl
#6 CACHED
#7 [stage-1 1/2] RUN pip install -r requirements.txt
#7 1.234 ERROR: No matching distribution found for nope
#7 ERROR: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1
------
 > [stage-1 1/2] RUN pip install -r requirements.txt:
------
Dockerfile:9
--------------------
ERROR: failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1""".splitlines()  # noqa: E501 - BuildKit's own line
    t = StepTracker(read_instructions(DOCKERFILE))
    for line in lines:
        t.feed(line)
    steps = t.steps
    assert [(s.stage, s.line, s.cached) for s in steps] == [
        ("base", 3, False),
        ("base", 5, True),
        ("stage-1", 9, False),
    ]
    assert steps[0].duration_s == 0.1
    failing = t.failing_step()
    assert failing is not None and failing.instruction.startswith("RUN pip install")
    assert t.failing_line() == 9
    err = classify(lines[-1], t.tail(), failing, t.failing_line(), dockerfile="Dockerfile")
    assert err.code == "DEPENDENCY_INSTALL_FAILED" and err.details["line"] == 9


def _run(text: str) -> BuildStep:
    return BuildStep(number=2, instruction=text)


@pytest.mark.parametrize(
    ("message", "tail", "step", "code"),
    [
        ("dockerfile parse error line 2: unknown instruction: FOOBAR", "", None, "DOCKERFILE_SYNTAX"),
        (
            "manifest for 127.0.0.1:5001/x:1 not found: manifest unknown",
            "",
            "FROM 127.0.0.1:5001/x:1",
            "BASE_IMAGE_NOT_FOUND",
        ),
        ("COPY failed: file not found in build context", "", "COPY app.py /app/", "COPY_SOURCE_MISSING"),
        ('Head "http://127.0.0.1:5002/v2/p/manifests/1": no basic auth credentials', "", "FROM x", "REGISTRY_AUTH"),
        (
            "The command '/bin/sh -c npm ci' returned a non-zero code: 1",
            "npm ERR! 404",
            "RUN npm ci",
            "DEPENDENCY_INSTALL_FAILED",
        ),
        ("The command '/bin/sh -c false' returned a non-zero code: 1", "", "RUN false", "COMMAND_FAILED"),
        (
            "The command '/bin/sh -c pip install x' returned a non-zero code: 1",
            "Failed to establish a new connection: [Errno 111] Connection refused",
            "RUN pip install x",
            "NETWORK",
        ),
        (
            "The command returned a non-zero code: 1",
            "dd: error writing '/dev/full': No space left on device",
            "RUN dd",
            "DISK_FULL",
        ),
        ("failed to solve: context canceled", "", "RUN sleep 9", "CANCELLED"),
    ],
)
def test_classification_table(message: str, tail: str, step: str | None, code: str) -> None:
    err = classify(message, tail, _run(step) if step else None, 2, dockerfile="Dockerfile")
    assert err.code == code
    assert err.hint and err.details["log_tail"] == tail
