"""Which process owns a running job or workflow run, and whether that process is still there.

An owner is ``host:pid:start``, where ``start`` is the process start time in clock ticks since boot
(``/proc/PID/stat`` field 22), so a pid reused by another process after a crash does not count as alive.
"""

from __future__ import annotations

import os
import socket


def _start_ticks(pid: int) -> str | None:
    """The start time of ``pid``; None when there is no such process (or no /proc to ask)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: fields after the last ')' start at field 3
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


_CURRENT: tuple[int, str] | None = None


def current() -> str:
    """This process's owner string, computed once per process (begin_job records it on every tracked call)."""
    global _CURRENT
    pid = os.getpid()
    if _CURRENT is None or _CURRENT[0] != pid:  # a forked child is another process
        _CURRENT = (pid, f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}")
    return _CURRENT[1]


def pid_of(owner: str | None) -> int | None:
    """The pid in an owner string (None when there is no well-formed owner)."""
    parts = (owner or "").rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gone(owner: str | None, pid: int | None = None) -> bool:
    """True when the owning process has certainly ended. An owner on another host cannot be checked: not gone.
    Without an owner (rows written before owners were recorded) only ``pid`` is checked, and no pid at all is gone."""
    owner_pid = pid_of(owner)
    if owner is None or owner_pid is None:
        return pid is None or not pid_alive(pid)
    host, _, start = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    if not start or not os.path.isdir("/proc/self"):
        return not pid_alive(owner_pid)
    return _start_ticks(owner_pid) != start
