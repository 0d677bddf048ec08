"""What to do about the findings: OS package upgrades and minimum language-package versions.

For OS packages we know the fixed distro versions but not which future base-image tag will
carry them, so the advice says exactly that. For language packages we compute the smallest
version that fixes every finding of the package and, given the repository, point at the
manifest line that pins it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containerkit.scan.models import Remediation, VulnerabilityFinding
from containerkit.scan.versions import (
    APK_OS,
    OS_FAMILIES,
    RPM_OS,
    SUSE_OS,
    UnparsableVersionError,
    ecosystem_family,
    normalize_name,
    parse,
)

_MANIFESTS: dict[str, tuple[str, ...]] = {
    "PyPI": (
        "requirements.txt",
        "requirements.in",
        "requirements-prod.txt",
        "pyproject.toml",
        "Pipfile",
        "setup.cfg",
        "setup.py",
    ),
    "npm": ("package.json",),
    "Go": ("go.mod",),
    "RubyGems": ("Gemfile",),
    "crates.io": ("Cargo.toml",),
    "Maven": ("pom.xml", "build.gradle", "build.gradle.kts"),
}
_OS_SITE_PACKAGES = ("/usr/lib/python3/dist-packages/", "/usr/lib/python3.", "/usr/share/python-wheels/")
#: where the base image keeps its own Node.js packages: Debian's (/usr/share/nodejs), the distro's global modules, and
#: the npm and corepack the official node images bundle
_BASE_IMAGE_NODE = (
    "/usr/share/nodejs/",
    "/usr/lib/node_modules/",
    "/usr/local/lib/node_modules/npm/",
    "/usr/local/lib/node_modules/corepack/",
)
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", "vendor", "target", "dist", "build"}


@dataclass(frozen=True)
class ManifestHit:
    manifest: str
    line: int
    text: str


def remediate(
    findings: Iterable[VulnerabilityFinding], repo: Path | None = None, manifests: list[str] | None = None
) -> list[Remediation]:
    """One OS remediation per distro and one language remediation per fixable package."""
    findings = [f for f in findings if f.fixable]
    out: list[Remediation] = []
    os_findings = [f for f in findings if ecosystem_family(f.ecosystem) in OS_FAMILIES]
    for ecosystem in sorted({f.ecosystem for f in os_findings}):
        out.append(_os_remediation(ecosystem, [f for f in os_findings if f.ecosystem == ecosystem]))
    lang = [f for f in findings if ecosystem_family(f.ecosystem) not in OS_FAMILIES]
    groups: dict[tuple[str, str], list[VulnerabilityFinding]] = {}
    for f in lang:
        groups.setdefault((f.ecosystem, f.package), []).append(f)
    for (ecosystem, package), group in sorted(groups.items()):
        out.append(_language_remediation(ecosystem, package, group, repo, manifests or []))
    return out


def with_epoch(ecosystem: str, installed: str, fix: str) -> str:
    """A Debian/Ubuntu fix in the installed binary package's terms: OS advisories give source versions, which lack the
    epoch a binary package can carry (bsdutils 1:2.38.1-5+b1 of source util-linux 2.38.1-5)."""
    if ecosystem_family(ecosystem) in ("Debian", "Ubuntu") and ":" in installed and ":" not in fix:
        return f"{installed.split(':', 1)[0]}:{fix}"
    return fix


def minimum_fix(ecosystem: str, installed: str, findings: list[VulnerabilityFinding]) -> str:
    """The smallest version at or above which every finding is fixed: max over findings of their nearest fix, in the
    installed package's terms (its epoch kept)."""

    def key(version: str) -> tuple[int, Any]:
        try:
            return (1, parse(ecosystem, version))
        except UnparsableVersionError:
            return (0, version)

    nearest: list[str] = []
    inst = key(installed)
    for f in findings:
        fixes = [with_epoch(ecosystem, installed, v) for v in f.fixed_versions]
        candidates = [v for v in fixes if inst[0] == 0 or key(v)[0] == 0 or key(v)[1] > inst[1]]
        if candidates:
            nearest.append(min(candidates, key=key))
    return max(nearest, key=key) if nearest else ""


def _os_remediation(ecosystem: str, findings: list[VulnerabilityFinding]) -> Remediation:
    packages = sorted({f.package for f in findings})
    fixes = {
        f.package: minimum_fix(ecosystem, f.installed_version, [g for g in findings if g.package == f.package])
        for f in findings
    }
    listed = ", ".join(f"{p} ({fixes[p]})" for p in packages)
    names = " ".join(packages)
    distro = ecosystem.replace(":", " ")
    if ecosystem_family(ecosystem) in APK_OS:
        command = f"RUN apk upgrade --no-cache {names}"
    elif ecosystem_family(ecosystem) in RPM_OS:
        command = f"RUN dnf upgrade -y {names} && dnf clean all"
    elif ecosystem_family(ecosystem) in SUSE_OS:
        command = f"RUN zypper --non-interactive update {names} && zypper clean --all"
    else:
        command = f"RUN apt-get update && apt-get install -y --only-upgrade {names} && rm -rf /var/lib/apt/lists/*"
    action = (
        f"packages {', '.join(packages)} have fixes in {distro}: {listed}. Rebuild with a refreshed base image "
        f"(pull the base tag again; which future tag carries the fixes is not known here) or add `{command}`."
    )
    return Remediation(
        kind="os", ecosystem=ecosystem, packages=packages, finding_ids=sorted({f.id for f in findings}), action=action
    )


def _owned_by_image(
    findings: list[VulnerabilityFinding], package: str, installed: str, requirement: str, fix: str
) -> str | None:
    """The advice for a package the image brings, not the app's manifest: the distro's Python, or the base image's
    Node.js tooling (npm, corepack); None for the app's own packages."""
    paths = [loc.path for f in findings for loc in f.locations]
    os_owned = next((path for path in paths if path.startswith(_OS_SITE_PACKAGES)), None)
    if os_owned is not None:
        return (
            f"{package} {installed} comes from the distro's Python ({os_owned.rsplit('/', 2)[0]}), not your manifest: "
            f"upgrade the OS package, or install `{requirement}` into the application's virtualenv and don't ship the "
            "distro copy."
        )
    base_owned = next((path for path in paths if path.startswith(_BASE_IMAGE_NODE)), None)
    if base_owned is None:
        return None
    owner = (
        "npm"
        if "/node_modules/npm/" in base_owned
        else "corepack"
        if "/corepack/" in base_owned
        else "the distro's Node.js"
    )
    return (
        f"{package} {installed} comes with the base image ({owner}, {base_owned.rsplit('/node_modules/', 1)[0]}), "
        f"not your package.json: build FROM a newer tag of the base image (fixed in {package} {fix})"
        + (", or upgrade npm in the image (`RUN npm install -g npm@latest`)." if owner == "npm" else ".")
    )


def _language_remediation(
    ecosystem: str, package: str, findings: list[VulnerabilityFinding], repo: Path | None, manifests: list[str]
) -> Remediation:
    installed = findings[0].installed_version
    fix = minimum_fix(ecosystem, installed, findings)
    requirement = _requirement(ecosystem, package, fix)
    ids = sorted({f.id for f in findings})
    owned = _owned_by_image(findings, package, installed, requirement, fix)
    if owned is not None:
        return Remediation(
            kind="language",
            ecosystem=ecosystem,
            packages=[package],
            finding_ids=ids,
            action=owned,
            requirement=requirement,
        )
    hit = find_pin(repo, ecosystem, package, manifests) if repo else None
    if hit is not None:
        edit = edited_line(ecosystem, hit.text, requirement, fix)
        action = f"{hit.manifest}:{hit.line}: change `{hit.text.strip()}` to `{edit}` ({len(ids)} advisory(ies) fixed)."
        return Remediation(
            kind="language",
            ecosystem=ecosystem,
            packages=[package],
            finding_ids=ids,
            action=action,
            manifest=hit.manifest,
            line=hit.line,
            requirement=requirement,
            edit=edit,
        )
    found = _manifests_in(repo, ecosystem, manifests) if repo else []
    if found:
        action = (
            f"{found[0]}: {package} {installed} is not pinned there (a transitive dependency): add `{requirement}` "
            f"as a direct requirement or constraint."
        )
        return Remediation(
            kind="language",
            ecosystem=ecosystem,
            packages=[package],
            finding_ids=ids,
            action=action,
            manifest=found[0],
            requirement=requirement,
        )
    action = (
        f"upgrade {package} from {installed} to {fix} or later: set `{requirement}` in the dependency manifest or "
        "lockfile."
    )
    return Remediation(
        kind="language",
        ecosystem=ecosystem,
        packages=[package],
        finding_ids=ids,
        action=action,
        requirement=requirement,
    )


_PEP508_HEAD = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?)[^;]*(;.*)?$")


def edited_line(ecosystem: str, line: str, requirement: str, fix: str) -> str:
    """The manifest line rewritten to ``requirement``, valid where it stands: a quoted entry of a JSON or TOML array
    keeps its quotes and trailing comma; a Python requirement keeps its extras (``requests[socks]``) and its
    environment marker (``; python_version >= '3.8'``)."""
    text = line.strip()
    comma = "," if text.endswith(",") else ""
    text = text.removesuffix(",").strip()
    quote = text[0] if len(text) > 1 and text[:1] in ("'", '"') and text[-1] == text[0] else ""
    if ecosystem_family(ecosystem) == "PyPI":
        match = _PEP508_HEAD.match(text[1:-1].strip() if quote else text)
        if match:
            marker = (match.group(2) or "").strip()
            return f"{quote}{match.group(1)}>={fix}" + (f" {marker}" if marker else "") + f"{quote}{comma}"
    if requirement[:1] in ("'", '"'):
        quote = ""
    return f"{quote}{requirement}{quote}{comma}"


def _requirement(ecosystem: str, package: str, fix: str) -> str:
    family = ecosystem_family(ecosystem)
    if family == "npm":
        return f'"{package}": ">={fix}"'
    if family == "Go":
        return f"go get {package}@v{fix.lstrip('v')}"
    if family == "RubyGems":
        return f"gem '{package}', '>= {fix}'"
    if family == "crates.io":
        return f'{package} = "{fix}"'
    if family == "Maven":
        return f"{package}:{fix}"
    return f"{package}>={fix}"


def _manifests_in(repo: Path | None, ecosystem: str, manifests: list[str]) -> list[str]:
    if repo is None:
        return []
    names = set(_MANIFESTS.get(ecosystem_family(ecosystem), ()))
    found = [m for m in manifests if Path(m).name in names and (repo / m).is_file()]
    for path in sorted(_walk(repo)):
        rel = path.relative_to(repo).as_posix()
        if (
            path.name in names or (re.fullmatch(r"requirements[\w.-]*\.(txt|in)", path.name) and ecosystem == "PyPI")
        ) and rel not in found:
            found.append(rel)
    return found


def _walk(repo: Path, depth: int = 3) -> Iterable[Path]:
    stack = [(repo, 0)]
    while stack:
        current, level = stack.pop()
        try:
            entries = list(current.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink() and entry.name not in _SKIP_DIRS and level < depth:
                stack.append((entry, level + 1))
            elif entry.is_file():
                yield entry


def find_pin(repo: Path, ecosystem: str, package: str, manifests: list[str] | None = None) -> ManifestHit | None:
    """The manifest line that names ``package`` (requirements.txt, pyproject.toml, package.json, go.mod, ...)."""
    wanted = normalize_name(ecosystem, package).lower()
    for rel in _manifests_in(repo, ecosystem, manifests or []):
        try:
            lines = (repo / rel).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, text in enumerate(lines, start=1):
            if _line_names(ecosystem, text, wanted):
                return ManifestHit(manifest=rel, line=number, text=text)
    return None


_PY_REQ = re.compile(r"""^\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(?:[=<>!~;@"',]|$)""")


def _line_names(ecosystem: str, text: str, wanted: str) -> bool:
    family = ecosystem_family(ecosystem)
    stripped = text.split("#", 1)[0] if family in ("PyPI", "RubyGems", "crates.io") else text
    if family == "PyPI":
        m = _PY_REQ.match(stripped)
        return bool(m) and normalize_name("PyPI", m.group(1)) == wanted  # type: ignore[union-attr]
    if family == "npm":
        try:
            return json.loads("{" + stripped.strip().rstrip(",") + "}").keys() == {wanted} if ":" in stripped else False
        except ValueError:
            return False
    if family == "Go":
        parts = stripped.split()
        return wanted in parts[:2] and any(p.startswith("v") for p in parts)
    if family == "RubyGems":
        return bool(re.match(rf"""\s*gem\s+["']{re.escape(wanted)}["']""", stripped, re.IGNORECASE))
    if family == "crates.io":
        return bool(re.match(rf"\s*{re.escape(wanted)}\s*=", stripped, re.IGNORECASE))
    return wanted.split(":")[-1] in stripped
