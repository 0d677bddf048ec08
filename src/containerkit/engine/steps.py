"""Build steps: the Dockerfile's instructions with their line numbers, and log-line parsing.

The Dockerfile's instructions come from the one parser (:mod:`containerkit.dockerfile_syntax`), so a build failure names
the line of the failing step as the lint reads the file.
"""

from __future__ import annotations

import re

from containerkit.dockerfile_syntax import Instruction


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def find_line(instructions: list[Instruction], shown: str, step_number: int | None = None) -> int | None:
    """The Dockerfile line of a step the engine printed as ``shown`` (its number helps for duplicates)."""
    target = _norm(shown)
    if (
        step_number is not None
        and 0 < step_number <= len(instructions)
        and _norm(instructions[step_number - 1].text) == target
    ):
        return instructions[step_number - 1].line
    exact = [ins for ins in instructions if _norm(ins.text) == target]
    if exact:
        return exact[0].line
    prefix = [
        ins
        for ins in instructions
        if _norm(ins.text).startswith(target[:60]) or target.startswith(_norm(ins.text)[:60])
    ]
    if prefix:
        return prefix[0].line
    if step_number is not None and 0 < step_number <= len(instructions):
        return instructions[step_number - 1].line
    return None


def find_stage_from(instructions: list[Instruction], stage: str | None) -> int | None:
    """The line of the FROM that opens ``stage`` (named ``AS stage``, or BuildKit's ``stage-N``)."""
    froms = [ins for ins in instructions if ins.keyword == "FROM"]
    if stage is None:
        return froms[0].line if len(froms) == 1 else None
    for ins in froms:
        words = ins.text.split()
        if len(words) >= 4 and words[-2].upper() == "AS" and words[-1].lower() == stage.lower():
            return ins.line
    if stage.startswith("stage-") and stage[6:].isdigit() and int(stage[6:]) < len(froms):
        return froms[int(stage[6:])].line
    return None


# --- log lines --------------------------------------------------------------------

CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
CLASSIC_CACHE = re.compile(r"^\s*---> Using cache\s*$")
CLASSIC_RUNNING = re.compile(r"^\s*---> Running in ([0-9a-f]{12,64})\s*$")
#: BuildKit plain progress: "#7 [builder 2/4] RUN pip install ..." / "#7 CACHED" / "#7 DONE 1.2s" / "#7 ERROR: ..."
BUILDKIT_STEP = re.compile(r"^#(\d+) \[(?:([^\]]+?) )?(\d+)/(\d+)\] (.*)$")
BUILDKIT_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
BUILDKIT_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s\s*$")
BUILDKIT_ERROR = re.compile(r"^#(\d+) ERROR:? (.*)$")
BUILDKIT_LINE_REF = re.compile(r"^\s*Dockerfile(?::|\S*:)(\d+)\s*$")
