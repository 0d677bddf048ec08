"""Reading a Dockerfile for the lint and the policies: its stages, conftest's input. The instructions come from the
one parser, :mod:`containerkit.dockerfile_syntax`."""

from __future__ import annotations

import re

from containerkit.dockerfile_syntax import Instruction, parse_dockerfile


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
        out.append(
            {
                "Cmd": ins.keyword.lower(),
                "Flags": flags,
                "JSON": exec_form is not None,
                "Original": f"{ins.keyword} {ins.value}".strip(),
                "Stage": ins.stage,
                "SubCmd": "",
                "Value": value,
                "Line": ins.line,
            }
        )
    return out
