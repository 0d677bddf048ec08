"""The Dockerfile's syntax: the one parser of instructions that the lint, the policies, the secret scan and the build's
step table all read (the engine package reads it too, which it may not take from the dockerfile package).

Parser directives at the top (``# escape=`` — a backtick for Windows-style files — ``# syntax=``, ``# check=``), line
continuations with the escape character (comment and blank lines inside one are skipped, as Docker does), heredocs
(their bodies kept in the value, and out of ``text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper-case instruction name (FROM, RUN, COPY …)."""
    value: str
    """Everything after the keyword, continuation lines joined with spaces."""
    line: int
    """1-based line where the instruction starts."""
    end_line: int
    stage: int
    """Index of the build stage (0 for the first FROM)."""
    head: str = ""
    """The arguments without a heredoc's body (what the engine prints as the step)."""

    @property
    def text(self) -> str:
        """Keyword and arguments as the engine prints the step (``RUN apt-get update && …``)."""
        return f"{self.keyword} {self.head or self.value}".strip()

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of CMD/ENTRYPOINT/RUN exec form, or None for shell form."""
        text = self.value.strip()
        if not text.startswith("["):
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        return [str(x) for x in data] if isinstance(data, list) else None

    def flags(self) -> dict[str, str]:
        return dict(re.findall(r"--([a-z-]+)=(\S+)", self.value))

    def args(self) -> list[str]:
        """Words after the --flags (shell-like split, quotes respected loosely)."""
        words = re.findall(r'"[^"]*"|\'[^\']*\'|\S+', self.value)
        return [w.strip("\"'") for w in words if not w.startswith("--")]


def escape_character(lines: list[str]) -> str:
    """The ``# escape=`` directive's character (a backslash unless it says a backtick); directives sit at the top."""
    for raw in lines:
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            return match.group(2)
    return "\\"


def parse_dockerfile(text: str) -> list[Instruction]:
    """Parse Dockerfile text. Comments and blank lines are skipped; heredoc bodies are kept in the value."""
    out: list[Instruction] = []
    lines = text.splitlines()
    escape = escape_character(lines)
    i, stage = 0, -1
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = [stripped]
        heredoc = _HEREDOC.search(stripped)
        continued = parts[-1].endswith(escape)
        if continued:
            parts[-1] = parts[-1][: -len(escape)]
        while continued and i + 1 < len(lines):
            i += 1
            nxt = lines[i].strip()
            if nxt.startswith("#") or not nxt:
                continue  # comment and blank lines inside a continuation are skipped, as Docker does
            continued = nxt.endswith(escape)
            parts.append(nxt[: -len(escape)] if continued else nxt)
        head = " ".join(p.strip() for p in parts if p.strip())
        if heredoc:
            marker = heredoc.group(1)
            while i + 1 < len(lines) and lines[i + 1].strip() != marker:
                i += 1
                parts.append(lines[i])
            i += 1 if i + 1 < len(lines) else 0
        joined = " ".join(p.strip() for p in parts if p.strip())
        keyword, _, value = joined.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(
            Instruction(
                keyword=keyword,
                value=value.strip(),
                line=start + 1,
                end_line=i + 1,
                stage=max(stage, 0),
                head=head.partition(" ")[2].strip(),
            )
        )
        i += 1
    return out
