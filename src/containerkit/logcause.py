"""The one log line a person can act on: of a failed build step or of an app that exited at start.

Used by the engine (build failures) and the sandbox (smoke runs); it knows the error lines of the tools the
generated Dockerfiles run (pip, npm, yarn, cargo, Maven, Gradle, Go) and of the runtimes that crash at start.
"""

from __future__ import annotations

import re

# The log line that says why, strongest first: a compiler or tool that is missing, then each ecosystem's own error
# line (pip, npm, yarn, cargo/rustc, Maven, Gradle, Go), then any line that calls itself an error.
_CAUSES = tuple(
    re.compile(p, re.M)
    for p in (
        # a host the build could not reach (a GitHub dependency, node-gyp's headers from nodejs.org)
        r"^.*?((?:network request to \S+ failed, reason: )?getaddrinfo (?:ENOTFOUND|EAI_AGAIN) \S+|Could not resolve "
        r"host: \S+"
        r"|Temporary failure in name resolution).*$",
        r"^.*(?:fatal error: .+|Error: pg_config executable not found.*|gyp ERR! stack Error: not found: .+"
        r"|\b(?:sh|bash): \d*:? ?\S+: (?:command )?not found|error: command '[^']+' failed.*|Cannot find module "
        r"'[^']+'.*)$",
        r"^ERROR: (?!Exception:|Failed building wheel|Failed to build)(.+)$",
        # apt (its error can land after a progress line of stdout: "Reading state information...E: Unable to locate")
        r"(?:^|\.\.\. ?(?:Done)?)E: (.+)$",
        r"^npm (?:ERR!|error) (?!code |errno |syscall |path |command |A complete log|signal |\s*$|gyp "
        r"(?:info|verb))(.+)$",
        r"^error (?!Command failed)(.+)$",
        r"^error(?:\[E\d+\])?: (?!could not compile|aborting due "
        r"to|subprocess-exited-with-error|metadata-generation-failed)(.+)$",
        r"^\[ERROR\] (?!\s*$|-> \[Help|Re-run Maven|To see the full stack|For more information|$)(.+)$",
        r"^\* What went wrong:\n(.+)$",
        r"^(go: .+|\S+\.go:\d+:\d+: .+)$",
    )
)
# an app that crashed at start: the last exception of a traceback (Python, Java's "Caused by"), a panic (Go, Rust)
_CRASHES = tuple(
    re.compile(p, re.M)
    for p in (
        r"^(panic: .+|thread '[^']+'(?: \(\d+\))? panicked at .+)$",
        r"^\s*(?:Caused by: |Exception in thread \"[^\"]+\" "
        r")?((?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Configured)(?:: .+)?)$",
    )
)
_ANY_ERROR = re.compile(r"^.*\b(?:error|Error|ERROR)\b[:!] .+$", re.M)


def cause_of(log_tail: str) -> str | None:
    """The one log line a person can act on, or None when no line says why."""
    for pattern in _CAUSES:
        found = pattern.search(log_tail)
        if found:
            return _line(found)
    for pattern in _CRASHES:
        crashes = list(pattern.finditer(log_tail))
        if crashes:
            line = _line(crashes[-1]) or ""
            after = log_tail[crashes[-1].end() :].strip().splitlines()
            if line.endswith(":") and after:  # Rust prints the panic message on the next line
                line = f"{line} {after[0].strip()}"[:300]
            return line or None
    found = _ANY_ERROR.search(log_tail)
    return _line(found) if found else None


def _line(found: re.Match[str]) -> str | None:
    line = (found.group(1) if found.re.groups and found.group(1) else found.group(0)).strip()
    return line[:300] or None


def last_line(text: str) -> str | None:
    """The last non-empty line (stack traces end in their cause too), at most 300 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else None
