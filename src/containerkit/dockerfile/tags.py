"""The tags of the official images the generator uses: a dated snapshot (``data/official-tags.json``, made by
``scripts/official_tags.py`` from docker-library/official-images). ``current`` tags are maintained today;
``published`` ones were listed once and can still be pulled, unmaintained."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from containerkit.dockerfile import pin


@dataclass(frozen=True)
class Snapshot:
    commit: str
    date: str
    current: dict[str, frozenset[str]]
    published: dict[str, frozenset[str]]

    def knows(self, repository: str) -> bool:
        return repository in self.published


@functools.cache
def snapshot() -> Snapshot:
    raw: dict[str, Any] = json.loads(
        resources.files("containerkit.dockerfile").joinpath("data/official-tags.json").read_text()
    )
    images = raw["images"]
    return Snapshot(
        commit=raw["commit"],
        date=raw["date"],
        current={k: frozenset(v["current"]) for k, v in images.items()},
        published={k: frozenset(v["published"]) for k, v in images.items()},
    )


_HUB = ("registry-1.docker.io", "docker.io", "index.docker.io")


def split(image: str) -> tuple[str, str]:
    """``python:3.12-slim`` -> (``python``, ``3.12-slim``): an official image by its short name, as the snapshot keys
    it; an image of another registry keeps it (``mcr.microsoft.com/dotnet/sdk``), which the snapshot does not know."""
    host, repository, tag = pin.split(image)
    return (repository.removeprefix("library/") if host in _HUB else f"{host}/{repository}"), tag


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def versions_for(template: str) -> list[str]:
    """The maintained versions a ``repo:...{version}...`` template can be filled with, oldest first, with as many
    components as the snapshot's tags of that shape have (``node:{version}-slim`` -> 22, 24, 26 — and 22.23 …)."""
    repository, tag_template = split(template)
    shape = re.compile("^" + re.escape(tag_template).replace(re.escape("{version}"), r"(\d+(?:\.\d+)?)") + "$")
    found = {m.group(1) for t in snapshot().current.get(repository, ()) if (m := shape.match(t))}
    return sorted(found, key=version_key)
