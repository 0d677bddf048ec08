"""Turn a build's log lines (classic builder or BuildKit plain progress) into steps and cache counts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from containerkit.dockerfile_syntax import Instruction
from containerkit.engine.models import BuildStep, CacheInfo
from containerkit.engine.steps import (
    BUILDKIT_CACHED,
    BUILDKIT_DONE,
    BUILDKIT_ERROR,
    BUILDKIT_LINE_REF,
    BUILDKIT_STEP,
    CLASSIC_CACHE,
    CLASSIC_RUNNING,
    CLASSIC_STEP,
    find_line,
    find_stage_from,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class _Open:
    number: int
    total: int | None
    stage: str | None
    instruction: str
    line: int | None
    started: float
    cached: bool = False
    duration: float | None = None


@dataclass
class StepTracker:
    """Feed it lines; it knows the steps, their durations, cache hits and the failing step."""

    instructions: list[Instruction]
    clock: Callable[[], float] = time.monotonic
    lines: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    error_line_ref: int | None = None
    _steps: list[_Open] = field(default_factory=list)
    _by_vertex: dict[str, _Open] = field(default_factory=dict)
    _failed_vertex: str | None = None

    def feed(self, line: str) -> BuildStep | None:
        """Record one line; returns the step it started, if it started one."""
        line = _ANSI.sub("", line)
        self.lines.append(line)
        return self._classic(line) or self._buildkit(line)

    # classic builder ---------------------------------------------------------------
    def _classic(self, line: str) -> BuildStep | None:
        if m := CLASSIC_STEP.match(line):
            self._close_last()
            number, total, text = int(m.group(1)), int(m.group(2)), m.group(3).strip()
            step = _Open(number, total, None, text, find_line(self.instructions, text, number), self.clock())
            self._steps.append(step)
            return _public(step)
        if CLASSIC_CACHE.match(line) and self._steps:
            self._steps[-1].cached = True
        elif (m := CLASSIC_RUNNING.match(line)) is not None:
            self.containers.append(m.group(1))
        return None

    # BuildKit plain progress -------------------------------------------------------------
    def _buildkit(self, line: str) -> BuildStep | None:
        if m := BUILDKIT_STEP.match(line):
            vertex = m.group(1)
            if vertex in self._by_vertex:
                return None
            text, stage = m.group(5).strip(), m.group(2)
            at = find_stage_from(self.instructions, stage) if text.upper().startswith("FROM ") else None
            at = at or find_line(self.instructions, text)
            step = _Open(len(self._steps) + 1, int(m.group(4)), stage, text, at, self.clock())
            self._steps.append(step)
            self._by_vertex[vertex] = step
            return _public(step)
        if (m := BUILDKIT_CACHED.match(line)) and m.group(1) in self._by_vertex:
            opened = self._by_vertex[m.group(1)]
            opened.cached, opened.duration = True, 0.0
        elif (m := BUILDKIT_DONE.match(line)) and m.group(1) in self._by_vertex:
            self._by_vertex[m.group(1)].duration = float(m.group(2))
        elif (m := BUILDKIT_ERROR.match(line)) and m.group(1) in self._by_vertex:
            self._failed_vertex = m.group(1)
        elif (m := BUILDKIT_LINE_REF.match(line)) and self.error_line_ref is None:
            self.error_line_ref = int(m.group(1))
        return None

    def _close_last(self) -> None:
        if self._steps and self._steps[-1].duration is None:
            self._steps[-1].duration = round(self.clock() - self._steps[-1].started, 3)

    # results -------------------------------------------------------------------------------
    def finish(self) -> None:
        self._close_last()

    @property
    def steps(self) -> list[BuildStep]:
        return [_public(s) for s in self._steps]

    def cache(self) -> CacheInfo:
        return CacheInfo(steps=len(self._steps), cached=sum(1 for s in self._steps if s.cached))

    def failing_step(self) -> BuildStep | None:
        if self._failed_vertex is not None:
            return _public(self._by_vertex[self._failed_vertex])
        return _public(self._steps[-1]) if self._steps else None

    def failing_line(self) -> int | None:
        if self.error_line_ref is not None:
            return self.error_line_ref
        step = self.failing_step()
        return step.line if step else None

    def tail(self, count: int = 25) -> str:
        return "\n".join(line for line in self.lines[-count:])


def _public(step: _Open) -> BuildStep:
    return BuildStep(
        number=step.number,
        total=step.total,
        stage=step.stage,
        instruction=step.instruction,
        line=step.line,
        cached=step.cached,
        duration_s=round(step.duration or 0.0, 3),
    )
