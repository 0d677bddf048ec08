"""Live terminal view of a workflow: one row per step with its state, duration and latest detail."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from containerkit.tools.base import StepEvent

_STYLE = {"running": "yellow", "succeeded": "green", "failed": "red", "skipped": "dim", "cancelled": "magenta"}


@dataclass
class _Row:
    state: str
    start: float
    end: float | None = None
    detail: str = ""


class WorkflowLiveView:
    """A progress sink for workflow runs, fed by the runner's typed step events (no message parsing)."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.rows: dict[str, _Row] = {}
        self._live = Live(self._table(), console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> WorkflowLiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.update(self._table())
        self._live.__exit__(exc_type, exc, tb)

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """The run's progress value; the rows come from :meth:`step_event`."""

    async def step_event(self, event: StepEvent) -> None:
        now = time.monotonic()
        row = self.rows.setdefault(event.step_id, _Row(state=event.state or "running", start=now))
        if event.state is None:  # the step's own progress message
            row.detail = event.text[:90]
        else:
            row.state = event.state
            if event.state == "running":
                row.start, row.end = now, None
            else:
                row.end = now
            if event.text:
                row.detail = event.text
        self._live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=self.title, expand=False)
        for col in ("step", "state", "time", "detail"):
            table.add_column(col)
        now = time.monotonic()
        for step_id, row in self.rows.items():
            elapsed = (row.end if row.end is not None else now) - row.start
            shown = f"{elapsed:.1f}s" if row.state != "skipped" else ""
            table.add_row(step_id, Text(row.state, _STYLE.get(row.state, "white")), shown, row.detail)
        return table
