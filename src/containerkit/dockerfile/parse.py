"""A small Dockerfile parser: instructions with their line numbers, continuation lines, stages, heredocs tolerated."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^#\s*(syntax|escape|check)\s*=", re.I)


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


def parse_dockerfile(text: str) -> list[Instruction]:
    """Parse Dockerfile text. Comments and blank lines are skipped; heredoc bodies are kept in the value."""
    out: list[Instruction] = []
    lines = text.splitlines()
    i, stage = 0, -1
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = [stripped]
        heredoc = re.search(r"<<-?\s*[\"']?(\w+)[\"']?", stripped)
        continued = parts[-1].endswith("\\")
        if continued:
            parts[-1] = parts[-1][:-1]
        while continued and i + 1 < len(lines):
            i += 1
            nxt = lines[i].strip()
            if nxt.startswith("#") or not nxt:
                continue  # comment and blank lines inside a continuation are skipped, as Docker does
            continued = nxt.endswith("\\")
            parts.append(nxt[:-1] if continued else nxt)
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
        out.append(Instruction(keyword=keyword, value=value.strip(), line=start + 1, end_line=i + 1, stage=max(stage, 0)))
        i += 1
    return out


def directives(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if _DIRECTIVE.match(line):
            key, _, value = line[1:].partition("=")
            out[key.strip().lower()] = value.strip()
    return out


def stages(instructions: list[Instruction]) -> list[tuple[str, str | None]]:
    """(image, alias) of every FROM."""
    found = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.value.split() if not w.startswith("--")]
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            found.append((words[0] if words else "", alias))
    return found


def conftest_input(text: str) -> list[dict[str, object]]:
    """The Dockerfile as conftest gives it to policies: one object per instruction, ``Cmd`` in lower case, ``Value``
    its words (exec form: the array; ENV/LABEL/ARG: key, value, key, value …), ``Flags``, ``Stage``, ``Original``,
    ``JSON`` — and ``Line``, which conftest lacks (a policy may return it with its message)."""
    out: list[dict[str, object]] = []
    for ins in parse_dockerfile(text):
        words = re.findall(r'"[^"]*"|\'[^\']*\'|\S+', ins.value)
        flags = [w for w in words if w.startswith("--")]
        exec_form = ins.exec_form if ins.keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK") else None
        if exec_form is not None:
            value: list[str] = exec_form
        elif ins.keyword in ("ENV", "LABEL", "ARG"):
            value = []
            for word in (w for w in words if not w.startswith("--")):
                key, eq, val = word.partition("=")
                value += [key, val.strip("\"'")] if eq else [word.strip("\"'")]
        elif ins.keyword in ("RUN", "CMD", "ENTRYPOINT"):
            rest = ins.value
            for flag in flags:
                rest = rest.replace(flag, "", 1)
            value = [rest.strip()]
        else:
            value = [w.strip("\"'") for w in words if not w.startswith("--")]
        out.append({"Cmd": ins.keyword.lower(), "Flags": flags, "JSON": exec_form is not None,
                    "Original": f"{ins.keyword} {ins.value}".strip(), "Stage": ins.stage, "SubCmd": "", "Value": value,
                    "Line": ins.line})
    return out
