"""The test environment's scripts: what a second run of scripts/testenv depends on."""

from __future__ import annotations

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_every_daemon_the_testenv_starts_closes_its_lock() -> None:
    """scripts/testenv holds fd 9 (its flock) while it runs: a daemon started in the background with fd 9 still open
    keeps the lock after the script exits, and the next run waits 30 min for it, then fails. The Kubernetes daemons
    did so (stop 30): a second testenv on a machine with the cluster up never got the lock."""
    starts = []
    for script in [SCRIPTS / "testenv", *sorted((SCRIPTS / "testenv.d").glob("*.sh"))]:
        text = script.read_text()
        # a background start: setsid …  & (a command continued over several lines is joined first)
        for command in re.findall(r"^[ \t]*(?:[A-Z_]+=\S+ )*setsid\b(?:[^\n]*\\\n)*[^\n]*", text, flags=re.M):
            if re.search(r"&\s*$", command):
                starts.append((script.name, command.strip()))
    assert len(starts) >= 4, starts  # dockerd, the registries, the hub, the Kubernetes daemons
    leaking = [(name, command) for name, command in starts if "9>&-" not in command]
    assert not leaking, f"started with the testenv lock (fd 9) open: {leaking}"
