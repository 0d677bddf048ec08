"""Secret redaction shared by the logger, the subprocess runner, the store and errors.

Secrets are registered at runtime (:func:`register_secret`) the moment they are
read (registry passwords, tokens); every string that leaves the process through
logs, errors, job rows or tool output goes through :func:`redact`.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
#: the registered secrets, longest first (a secret that contains another is masked whole); rebuilt on register
_ordered: tuple[str, ...] = ()
_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|credential|api[_-]?key|auth)", re.IGNORECASE)
#: Known token shapes, masked wherever they appear (the secret scanner reports the same shapes).
TOKEN_SHAPES: dict[str, str] = {
    "aws-access-key-id": r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}",
    "github-token": r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}",
    "github-fine-grained-token": r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    "gitlab-token": r"glpat-[A-Za-z0-9_-]{20}",
    "slack-token": r"xox[abposr]-[A-Za-z0-9-]{10,}",
    "stripe-live-key": r"(?:sk|rk)_live_[A-Za-z0-9]{24,}",
    "npm-token": r"npm_[A-Za-z0-9]{36}",
    "google-api-key": r"AIza[0-9A-Za-z_-]{35}",
    "jwt": r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
}
# a name that says its value is secret: DB_PASSWORD, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, api-key, client_secret, ...
_SECRET_NAME = (  # a pattern, not a password
    r"[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?)"  # noqa: S105
    r"[\w.-]*"
)
# a $VARIABLE or {{ template }} reference, a list, a small count ("tokens: 5") is not a secret value
_VALUE = r"(?![$\[{(<`])(?!\d{1,5}\b)[^\s\"',;&]+"
_PATTERNS = (
    # Authorization headers, with any scheme capitalisation
    re.compile(r"(?i)(?P<pre>authorization:\s*(?:bearer|basic|token)\s+)[^\s\"']+"),
    # NAME=value, NAME: value, "name": "value" on one line (ENV/ARG KEY=VALUE, RUN export X=..., --build-arg, JSON,
    # YAML)
    re.compile(rf"(?i)(?P<pre>\b{_SECRET_NAME}[\"']?[ \t]*[=:][ \t]*[\"']?){_VALUE}"),
    # the Dockerfile's space form: ENV API_TOKEN abc / ARG DB_PASSWORD hunter2 (also "ENV X abc" in build step lines)
    re.compile(rf"(?i)(?P<pre>\b(?:ENV|ARG)[ \t]+{_SECRET_NAME}[ \t]+[\"']?){_VALUE}"),
    # URLs with user:password@
    re.compile(r"(?i)(?P<pre>[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@/\s]+(?=@)"),
    # known token shapes and private key blocks, whatever surrounds them
    re.compile(r"(?P<pre>)\b(?:" + "|".join(TOKEN_SHAPES.values()) + r")\b"),
    re.compile(r"(?P<pre>-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(?=-----END [A-Z ]*PRIVATE KEY-----)"),
)

#: what every pattern above needs somewhere in the text (a superset: case-insensitive, any position): a text without
#: any of it is not run through the patterns (most strings of a result — ids, names, states — have none). Plain
#: substring tests: a regular expression with this many alternatives costs more than the walk it saves.
_TRIGGERS = ("=", ":", "@", "-----")
_TRIGGERS_LOWER = (
    "env",
    "arg",
    "akia",
    "asia",
    "agpa",
    "aida",
    "aroa",
    "anpa",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "_live_",
    "npm_",
    "aiza",
    "eyj",
)


def _maybe(text: str) -> bool:
    for trigger in _TRIGGERS:
        if trigger in text:
            return True
    low = text.lower()
    for trigger in _TRIGGERS_LOWER:  # noqa: SIM110 - the hot path of every result: a loop beats any() on a generator
        if trigger in low:
            return True
    return False


def register_secret(value: str | None) -> None:
    """Remember a secret value so every later :func:`redact` masks it."""
    global _ordered
    if value and len(value) >= 3:
        with _lock:
            if value not in _secrets:
                _secrets.add(value)
                _ordered = tuple(sorted(_secrets, key=len, reverse=True))
                _redact_short.cache_clear()  # what was clean may now hold a secret


def redact(text: str) -> str:
    if not text:
        return text
    if len(text) <= _CACHED_LENGTH:  # ids, names and states repeat from call to call
        return _redact_short(text)
    return _redact(text)


#: strings up to this length are remembered with their redaction (the cache is emptied when a secret is registered)
_CACHED_LENGTH = 256


@functools.lru_cache(maxsize=8192)
def _redact_short(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    if not _maybe(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("pre") + MASK, text)
    return text


def redact_strings(value: Any) -> Any:
    """JSON-like data with :func:`redact` applied to every string (keys are left alone: a result's field
    ``secret_keys`` names keys, it holds no secret). Copy on write: what holds nothing to mask is returned as it is
    (the same object), so a caller can tell a clean document by identity and must not mutate what it gets back."""
    kind = type(value)  # the exact JSON types first: the ABC checks below cost more than the walk itself
    if kind is dict:
        return _clean_children(value, value.items(), dict)
    if kind is list:
        return _clean_children(value, enumerate(value), list)
    if kind is str:
        masked = redact(value)
        return value if masked == value else masked
    if kind in _SCALARS or value is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_strings(v) for v in value]
    return value


_SCALARS = frozenset((int, float, bool, type(None)))


# The walk of every tool result: the children's types are tested here rather than in a call per child (most of a
# result's values are numbers, states and ids; a call for each cost more than the rest of the walk).
def _clean_children(value: Any, children: Iterable[tuple[Any, Any]], copy: Callable[[Any], Any]) -> Any:
    """``value`` (a dict or a list, whose ``children`` are its (key or index, child) pairs), or a ``copy`` of it with
    the children that hold something to mask replaced."""
    changed: Any = None
    for k, v in children:
        kind = type(v)
        if kind is str:
            # redact() inlined: most of a result's values are short strings (ids, names, states) seen before
            clean: Any = _redact_short(v) if len(v) <= _CACHED_LENGTH else _redact(v)
            if clean == v:
                continue
        elif kind in _SCALARS:
            continue
        elif kind is dict:
            clean = _clean_children(v, v.items(), dict)
        elif kind is list:
            clean = _clean_children(v, enumerate(v), list)
        else:
            clean = redact_strings(v)
        if clean is not v:
            if changed is None:
                changed = copy(value)
            changed[k] = clean
    return value if changed is None else changed


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_data(value: Any, key: str = "") -> Any:
    """Deep-copy JSON-like data, masking secret-named keys and registered secret values."""
    if key and is_secret_key(key) and value not in (None, "", [], {}) and not isinstance(value, bool):
        # every value under the key is masked, in the shape it had: a list stays a list (of masks), so a document
        # read back with its model still validates (``env_vars.secret`` is a list of names)
        if isinstance(value, list | tuple):
            return [redact_data(v, key) for v in value]
        if isinstance(value, Mapping):
            return {k: redact_data(v, key) for k, v in value.items()}
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in every record's final message, and in its traceback (an exception's
    message can hold what failed: a URL with a token, a password in a command line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    target = logger or logging.getLogger("containerkit")
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
