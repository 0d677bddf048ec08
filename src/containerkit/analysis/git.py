"""Shallow clones of git URLs into a session workspace."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from containerkit import _proc
from containerkit.errors import CommandFailedError, InvalidInputError, NetworkError

_URL = re.compile(r"^(?:(?:https?|ssh|git|file)://[^\s]+|[\w.-]+@[\w.-]+:[^\s]+)$")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")


def is_git_url(value: str) -> bool:
    return bool(_URL.match(value)) and not value.startswith("-")


async def clone(url: str, dest: Path, branch: str | None = None, timeout: float = 300) -> Path:
    """``git clone --depth 1`` into ``dest`` (replaced if present).

    Raises:
        InvalidInputError: the URL or branch is malformed (or starts with '-').
        NetworkError: the remote could not be reached or the repository was not found.
    """
    if not is_git_url(url):
        raise InvalidInputError(f"{url!r} is not a git URL", hint="Use https://…, ssh://…, git@host:path or file://….")
    if branch is not None and not _BRANCH.match(branch):
        raise InvalidInputError(f"{branch!r} is not a valid branch or tag name")
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    argv = ["git", "clone", "--depth", "1", "--quiet", *(["--branch", branch] if branch else []), "--", url, str(dest)]
    try:
        await _proc.run(argv, timeout=timeout, env={"GIT_TERMINAL_PROMPT": "0"})
    except CommandFailedError as e:
        raise NetworkError(
            f"git clone of {url} failed",
            hint="Check the URL, the branch and your access to the repository.",
            details={"tail": e.details.get("tail", "")},
            retryable=False,
        ) from e
    return dest
