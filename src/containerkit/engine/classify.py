"""Classify a failed build into a stable error code from the engine's message and the log.

Rules are ordered: the first rule whose pattern matches the error message (or,
for log rules, the tail of the log) wins. The same table serves the classic
builder and BuildKit, whose messages differ but name the same causes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from containerkit.engine.models import BuildStep
from containerkit.errors import BuildDetails, BuildError
from containerkit.logcause import cause_of

_DEPENDENCY_COMMANDS = re.compile(
    r"\b(pip3?|python3? -m pip|uv)\s+(install|sync)\b|\buv pip install\b|\bpoetry install\b|\bpipenv install\b"
    r"|\b(npm|pnpm)\s+(ci|install|i)\b|\byarn(\s+install)?\b"
    r"|\bapt(-get)?\s+(-\S+\s+)*install\b|\bapk\s+add\b|\b(dnf|yum|microdnf)\s+(-\S+\s+)*install\b"
    r"|\bgo\s+(mod\s+download|get|build)\b|\bmvnw?\b|\bgradlew?\b|\bbundle\s+install\b|\bcomposer\s+install\b"
    r"|\bcargo\s+(fetch|build)\b|\bdotnet\s+restore\b|\bgem\s+install\b",
    re.IGNORECASE,
)
_LINE_IN_MESSAGE = re.compile(r"(?:parse error (?:on )?line|Dockerfile:)\s*(\d+)", re.I)
_COMMAND_HINT = "A RUN command exited non-zero: read the log tail and fix the command."


@dataclass(frozen=True)
class _Rule:
    code: str
    pattern: re.Pattern[str]
    hint: str
    retryable: bool = False
    search_log: bool = False


_RULES = (
    _Rule(
        "DISK_FULL",
        re.compile(r"no space left on device|ENOSPC|disk quota exceeded", re.I),
        "The engine (or a build step) ran out of disk: free space (`docker system prune`) or shrink the image.",
        search_log=True,
    ),
    _Rule(
        "CANCELLED",
        re.compile(r"context canceled|build was cancell?ed", re.I),
        "The engine cancelled the build; run it again when ready.",
    ),
    _Rule(
        "DOCKERFILE_SYNTAX",
        re.compile(
            r"dockerfile parse error|unknown instruction|failed to parse dockerfile|Dockerfile parse error"
            r"|unknown flag:|\bparse error\b|empty continuation|failed to process .*: unexpected",
            re.I,
        ),
        "Fix the Dockerfile line named in the details (or run {tool:validate_dockerfile}).",
    ),
    _Rule(
        "REGISTRY_AUTH",
        re.compile(
            r"no basic auth credentials|unauthorized|authentication required|denied: requested access"
            r"|insufficient_scope|401 Unauthorized",
            re.I,
        ),
        "The base image's registry needs credentials: `docker login REGISTRY` on the engine host.",
    ),
    _Rule(
        "BASE_IMAGE_NOT_FOUND",
        re.compile(
            r"manifest unknown|manifest for \S+ not found|repository does not exist|pull access denied"
            r"|not found: not found.*(docker\.io|/v2/)|failed to resolve source metadata.*not found"
            r"|no match for platform in manifest|invalid reference format",
            re.I,
        ),
        "Check the FROM image name and tag exist in the registry (and that the engine can reach it).",
    ),
    _Rule(
        "NETWORK",
        re.compile(
            r"dial tcp|connection refused|no such host|network is unreachable|i/o timeout"
            r"|temporary failure in name resolution|could not resolve|failed to establish a new connection"
            r"|\bECONNREFUSED\b|\bENOTFOUND\b|\bEAI_AGAIN\b|connection reset by peer|TLS handshake timeout"
            r"|Could not fetch URL|Max retries exceeded|\bETIMEDOUT\b",
            re.I,
        ),
        "A network operation in the build failed: check the engine's connectivity, proxies and DNS.",
        retryable=True,
        search_log=True,
    ),
    _Rule(
        "COPY_SOURCE_MISSING",
        re.compile(
            r"COPY failed|ADD failed|failed to compute cache key|failed to calculate checksum"
            r"|no source files were specified|file not found in build context|excluded by \.dockerignore",
            re.I,
        ),
        "The COPY/ADD source is not in the build context: check the path and .dockerignore.",
    ),
)


def classify(
    message: str, log_tail: str, failing: BuildStep | None, line: int | None, *, dockerfile: str
) -> BuildError:
    """The BuildError for a failed build (code, hint, failing step and line, log tail in the details)."""
    code, hint, retryable = _code_for(message, log_tail, failing)
    named = _LINE_IN_MESSAGE.search(message)
    if named:
        line = int(named.group(1))
    details: BuildDetails = {
        "dockerfile": dockerfile,
        "line": line,
        "step": failing.instruction if failing else None,
        "step_number": failing.number if failing else None,
        "engine_message": message[-2000:],
        "log_tail": log_tail[-4000:],
    }
    where = f" at {dockerfile}:{line}" if line else ""
    step = f" (step {failing.number}: {failing.instruction[:120]})" if failing else ""
    last = message.strip().splitlines()[-1][:300] if message.strip() else code
    cause = (
        cause_of(log_tail)
        if code in ("DEPENDENCY_INSTALL_FAILED", "COMMAND_FAILED", "NETWORK", "BUILD_FAILED")
        else None
    )
    if cause:
        details["cause"] = cause
        last = cause
    return BuildError(f"build failed{where}{step}: {last}", code=code, hint=hint, retryable=retryable, details=details)


def _code_for(message: str, log_tail: str, failing: BuildStep | None) -> tuple[str, str, bool]:
    for rule in _RULES:
        if rule.pattern.search(message) or (rule.search_log and rule.pattern.search(log_tail)):
            return rule.code, rule.hint, rule.retryable
    if failing is not None and failing.instruction.upper().startswith("RUN"):
        if _DEPENDENCY_COMMANDS.search(failing.instruction):
            return (
                "DEPENDENCY_INSTALL_FAILED",
                "Installing dependencies failed: read the log tail (missing package, version conflict, "
                "private index); check the lockfile and package names.",
                False,
            )
        return "COMMAND_FAILED", _COMMAND_HINT, False
    if re.search(r"returned a non-zero code|did not complete successfully|executor failed running", message, re.I):
        return "COMMAND_FAILED", _COMMAND_HINT, False
    return "BUILD_FAILED", "Read the failing step and the log tail in the details.", False
