"""Version comparison with each ecosystem's own rules (univers), for OSV range evaluation."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from univers.versions import (
    DebianVersion,
    GolangVersion,
    MavenVersion,
    NugetVersion,
    PypiVersion,
    RpmVersion,
    RubygemsVersion,
    SemverVersion,
)

Parsed = Any  # a univers Version instance (untyped library)

_BY_ECOSYSTEM: dict[str, Callable[[str], Parsed]] = {
    "Debian": DebianVersion,
    "Ubuntu": DebianVersion,
    "Alpine": lambda text: ApkVersion(text),
    "Wolfi": lambda text: ApkVersion(text),
    "Chainguard": lambda text: ApkVersion(text),
    "AlmaLinux": RpmVersion,
    "Rocky Linux": RpmVersion,
    "openSUSE": RpmVersion,
    "PyPI": PypiVersion,
    "npm": SemverVersion,
    "crates.io": SemverVersion,
    "Go": GolangVersion,
    "Maven": MavenVersion,
    "RubyGems": RubygemsVersion,
    "NuGet": NugetVersion,
}


_APK = re.compile(
    r"^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:~[0-9a-f]+)?(?:-r(\d+))?$"
)
#: apk's suffixes: the first four mark a pre-release (before the bare version), the others a later snapshot or patch
_APK_SUFFIX = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1, "cvs": 1, "svn": 2, "git": 3, "hg": 4, "p": 5}


@functools.total_ordering
class ApkVersion:
    """An Alpine package version ordered as apk-tools orders it: dotted numbers, an optional letter, suffixes
    (``_rc1`` before the release, ``_git20230717`` and ``_p2`` after it), an ignored ``~hash``, then ``-rN``. (univers'
    AlpineLinuxVersion refuses the ``_git`` snapshots Alpine ships, e.g. musl 1.2.4_git20230717-r5 in 3.19.)"""

    def __init__(self, text: str) -> None:
        m = _APK.match(text)
        if m is None:
            raise ValueError(f"{text!r} is not an apk version")
        numbers, letter, suffixes, revision = m.groups()
        pairs = [(_APK_SUFFIX[name], int(num or 0)) for name, num in re.findall(r"_([a-z]+)(\d*)", suffixes)]
        self.text = text
        self.key = ([int(n) for n in numbers.split(".")], letter, [*pairs, (0, 0)], int(revision or 0))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApkVersion) and self.key == other.key

    def __lt__(self, other: ApkVersion) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(repr(self.key))

    def __str__(self) -> str:
        return self.text


#: apk distributions (Alpine and the Wolfi family): apk's version order, advisories name origin packages
APK_OS = ("Alpine", "Wolfi", "Chainguard")
#: distributions whose advisories name source packages (a binary package is looked up under its source's name)
SOURCE_NAMED_OS = ("Debian", "Ubuntu", *APK_OS)
#: RPM distributions rebuilt from Red Hat's sources: their advisories (ALSA, RLSA) list every binary package, with
#: epoch-qualified versions, and carry Red Hat's rating as the summary's first word
RPM_OS = ("AlmaLinux", "Rocky Linux")
#: SUSE's RPM distributions: advisories (SUSE-SU, openSUSE-SU) list binary packages, versions without epochs
SUSE_OS = ("openSUSE",)
#: every operating-system ecosystem the scanner maps (the base image's packages, fixed by a base-image update)
OS_FAMILIES = SOURCE_NAMED_OS + RPM_OS + SUSE_OS


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
