"""Version comparison with each ecosystem's own rules (univers), for OSV range evaluation."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from univers.versions import (
    AlpineLinuxVersion,
    DebianVersion,
    GolangVersion,
    MavenVersion,
    NugetVersion,
    PypiVersion,
    RubygemsVersion,
    SemverVersion,
)

Parsed = Any  # a univers Version instance (untyped library)

_BY_ECOSYSTEM: dict[str, Callable[[str], Parsed]] = {
    "Debian": DebianVersion,
    "Ubuntu": DebianVersion,
    "Alpine": AlpineLinuxVersion,
    "PyPI": PypiVersion,
    "npm": SemverVersion,
    "crates.io": SemverVersion,
    "Go": GolangVersion,
    "Maven": MavenVersion,
    "RubyGems": RubygemsVersion,
    "NuGet": NugetVersion,
}


class UnparsableVersionError(ValueError):
    """A version string the ecosystem's rules cannot read."""


def ecosystem_family(ecosystem: str) -> str:
    """'Debian:12' -> 'Debian'; 'Alpine:v3.19' -> 'Alpine'."""
    return ecosystem.split(":", 1)[0]


def normalize_name(ecosystem: str, name: str) -> str:
    """Package name as advisories spell it (PyPI names are PEP 503-normalized)."""
    family = ecosystem_family(ecosystem)
    if family == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if family in ("npm", "crates.io", "RubyGems"):
        return name.lower() if family != "npm" else name
    return name


@functools.lru_cache(maxsize=65536)
def parse(ecosystem: str, version: str) -> Parsed:
    """Parse ``version`` with ``ecosystem``'s rules (cached: a scan compares the installed version against every
    range of every record of its package; univers' versions are immutable).

    Raises:
        UnparsableVersionError: the ecosystem is unknown or the string is not a version there.
    """
    family = ecosystem_family(ecosystem)
    factory = _BY_ECOSYSTEM.get(family)
    if factory is None:
        raise UnparsableVersionError(f"no version rules for ecosystem {ecosystem}")
    text = version.strip()
    if family == "Go":
        text = text if text.startswith("v") else f"v{text}"
    try:
        return factory(text)
    except Exception as e:  # univers raises InvalidVersion and assorted ValueErrors
        raise UnparsableVersionError(f"{version!r} is not a {family} version: {e}") from e


@functools.lru_cache(maxsize=65536)
def parse_semver(version: str) -> Parsed:
    """OSV SEMVER ranges: semantic versions without a leading 'v'."""
    try:
        return SemverVersion(version.lstrip("v"))
    except Exception as e:
        raise UnparsableVersionError(f"{version!r} is not a semantic version: {e}") from e
