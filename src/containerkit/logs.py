"""Logs on stderr, as text or one JSON object per line (issue 18), with what the line is about: the session, the
workflow run and the tool, bound where a call or a run starts (:func:`bind`), read by the formatter.

``--log-format json`` / ``CONTAINERKIT_LOG_FORMAT=json``; ``--log-level`` / ``CONTAINERKIT_LOG_LEVEL``. Every record
goes through the redaction filter first (``containerkit.redaction``), whatever the format.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Literal

Format = Literal["text", "json"]

_context: ContextVar[dict[str, str]] = ContextVar("containerkit_log_context", default={})  # noqa: B039 - never mutated
_HANDLER_NAME = "containerkit-stderr"


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Add ``fields`` (session, run, tool …) to every log line written inside the block (tasks started inside
    inherit them)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> dict[str, str]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the bound context, and the
    exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **context(),
        }
        if record.exc_text:  # formatted (and redacted) by the redaction filter
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        bound = " ".join(f"{k}={v}" for k, v in context().items())
        text = f"{record.levelname} {record.name}: {record.getMessage()}" + (f" [{bound}]" if bound else "")
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


def configure(fmt: Format = "text", level: str = "WARNING", stream: IO[str] | None = None) -> None:
    """Send ``containerkit`` logs at ``level`` and above to ``stream`` (stderr) in ``fmt``; idempotent (the handler
    is replaced, not added twice)."""
    from containerkit.redaction import RedactingFilter, install_log_redaction

    logger = logging.getLogger("containerkit")
    logger.setLevel(level)
    for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())  # a logger's own filter does not see its children's records
    logger.addHandler(handler)
    logger.propagate = False  # one line per record, not a second one from a root handler
    install_log_redaction(logger)
