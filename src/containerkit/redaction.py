"""Secret redaction shared by the logger, the subprocess runner, the store and errors.

Secrets are registered at runtime (:func:`register_secret`) the moment they are
read (registry passwords, tokens); every string that leaves the process through
logs, errors, job rows or tool output goes through :func:`redact`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|credential|api[_-]?key|auth)", re.IGNORECASE)
# Common inline forms: "Authorization: Bearer xxx", "password=xxx", URLs with user:pass@
_PATTERNS = (
    re.compile(r"(?i)(?P<pre>authorization:\s*(?:bearer|basic)\s+)[^\s\"']+"),
    re.compile(r"(?i)\b(?P<pre>(?:password|passwd|token|secret)\s*[=:]\s*)[^\s,;\"'&]+"),
    re.compile(r"(?i)(?P<pre>https?://[^:/\s@]+:)[^@/\s]+(?=@)"),
)


def register_secret(value: str | None) -> None:
    """Remember a secret value so every later :func:`redact` masks it."""
    if value and len(value) >= 3:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("pre") + MASK, text)
    return text


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_data(value: Any, key: str = "") -> Any:
    """Deep-copy JSON-like data, masking secret-named keys and registered secret values."""
    if key and is_secret_key(key) and value not in (None, "", [], {}) and not isinstance(value, bool):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    target = logger or logging.getLogger("containerkit")
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
