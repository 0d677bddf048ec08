"""Live terminal view of a workflow: one row per step with its state, duration and latest detail."""

from __future__ import annotations

import re
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

_STEP = re.compile(r"^step (?P<id>[\w-]+): (?P<state>\w+)(?: \((?P<why>.*)\))?$")
_DETAIL = re.compile(r"^\[(?P<id>[\w-]+)\] (?P<text>.*)$")
_STYLE = {"running": "yellow", "succeeded": "green", "failed": "red", "skipped": "dim", "cancelled": "magenta"}


class WorkflowLiveView:
    """A Progress implementation for workflow runs (works from the runner's step messages)."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.rows: dict[str, dict[str, object]] = {}
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
        if not message:
            return
        now = time.monotonic()
        if match := _STEP.match(message):
            row = self.rows.setdefault(match["id"], {"state": "pending", "start": now, "end": None, "detail": ""})
            row["state"] = match["state"]
            if match["state"] == "running":
                row["start"], row["end"] = now, None
            else:
                row["end"] = now
            if match["why"]:
                row["detail"] = match["why"]
        elif match := _DETAIL.match(message):
            row = self.rows.setdefault(match["id"], {"state": "running", "start": now, "end": None, "detail": ""})
            row["detail"] = match["text"][:90]
        self._live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=self.title, expand=False)
        for col in ("step", "state", "time", "detail"):
            table.add_column(col)
        now = time.monotonic()
        for step_id, row in self.rows.items():
            state = str(row["state"])
            start = float(row["start"])  # type: ignore[arg-type]
            end = row["end"]
            elapsed = (float(end) if end is not None else now) - start  # type: ignore[arg-type]
            shown = f"{elapsed:.1f}s" if state != "skipped" else ""
            table.add_row(step_id, Text(state, _STYLE.get(state, "white")), shown, str(row["detail"]))
        return table
