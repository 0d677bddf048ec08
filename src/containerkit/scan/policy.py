"""The policy gate: fail on findings at or above a severity, minus an allow-list with expiry dates and the findings an
ignore file (``.containerkitignore``, in ``.trivyignore`` syntax) or ``--ignore-unfixed`` sets aside."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from containerkit import yamlsafe
from containerkit.errors import InvalidInputError
from containerkit.scan.models import (
    AllowEntry,
    PolicyResult,
    PolicyViolation,
    Threshold,
    VulnerabilityFinding,
    severity_at_least,
)
from containerkit.scan.report import finding_key
from containerkit.scan.versions import APK_OS, RPM_OS, SUSE_OS


class AllowFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: list[AllowEntry] = Field(default_factory=list)


def load_allow_list(path: Path) -> list[AllowEntry]:
    """Read an allow-list YAML file: ``allow: [{id, package?, expires, reason}]``.

    Raises:
        InvalidInputError: unreadable, not YAML, or an entry lacks id/expires/reason or has a bad date.
    """
    try:
        data = yamlsafe.load(yamlsafe.read(path)) or {}
        parsed = AllowFile.model_validate(_stringify_dates(data))
    except (OSError, yaml.YAMLError) as e:
        raise InvalidInputError(f"cannot read allow-list {path}: {e}", hint="Fix the YAML file.") from e
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidInputError(
            f"allow-list {path}: {where}: {err['msg']}",
            hint="Each entry needs id, expires (YYYY-MM-DD) and reason; package is optional.",
        ) from e
    for entry in parsed.allow:
        try:
            dt.date.fromisoformat(entry.expires)
        except ValueError as e:
            raise InvalidInputError(
                f"allow-list {path}: entry {entry.id}: expires {entry.expires!r} is not a date",
                hint="Write dates as YYYY-MM-DD.",
            ) from e
    return list(parsed.allow)


def _stringify_dates(data: object) -> object:
    if isinstance(data, dict):
        return {k: _stringify_dates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stringify_dates(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


def evaluate(
    findings: list[VulnerabilityFinding],
    fail_on: Threshold,
    allow: list[AllowEntry],
    today: dt.date | None = None,
    *,
    fail_on_unknown: bool = False,
) -> PolicyResult:
    """The gate: findings at or above ``fail_on`` not excused by an active allow-list entry are violations. A finding
    of unknown severity (a distribution record without one) ranks below every threshold: it fails the gate only with
    ``fail_on_unknown``, and otherwise is counted in ``unknown_not_gated`` so the pass is never silent."""
    today = today or dt.date.today()
    active = [e for e in allow if dt.date.fromisoformat(e.expires) >= today]
    expired = [e for e in allow if dt.date.fromisoformat(e.expires) < today]
    violations: list[PolicyViolation] = []
    allowed: list[str] = []
    unknown_not_gated = 0
    for f in findings:
        if f.ignored:
            continue
        unknown_gated = f.severity == "unknown" and fail_on != "none" and fail_on_unknown
        if f.severity == "unknown" and fail_on != "none" and not fail_on_unknown:
            unknown_not_gated += 1
        if not (severity_at_least(f.severity, fail_on) or unknown_gated):
            continue
        if any(_allows(e, f) for e in active):
            allowed.append(finding_key(f))
            continue
        violations.append(
            PolicyViolation(
                id=f.id,
                package=f.package,
                installed_version=f.installed_version,
                severity=f.severity,
                fixed_versions=f.fixed_versions,
            )
        )
    return PolicyResult(
        fail_on=fail_on,
        passed=not violations,
        violations=violations,
        allowed=allowed,
        expired_entries=expired,
        fail_on_unknown=fail_on_unknown,
        unknown_not_gated=unknown_not_gated,
    )


def _allows(entry: AllowEntry, f: VulnerabilityFinding) -> bool:
    ids = {f.id.upper(), *(a.upper() for a in f.aliases)}
    return entry.id.upper() in ids and (entry.package is None or entry.package.lower() == f.package.lower())


# --- ignore files (.trivyignore syntax) -------------------------------------------------------------------------------
#: the ignore file read from the current directory when none is given
DEFAULT_IGNORE_FILE = ".containerkitignore"


@dataclass(frozen=True)
class IgnoreEntry:
    """One line of an ignore file: an advisory id (or a purl), an optional expiry and the reason written beside it."""

    target: str
    line: int
    expires: dt.date | None = None
    reason: str = ""


def load_ignore_file(path: Path) -> list[IgnoreEntry]:
    """Read ``.trivyignore`` syntax: one id (``CVE-…``, ``GHSA-…``, ``DSA-…``) or purl per line, an optional
    ``exp:YYYY-MM-DD`` after it, ``#`` comments (a comment on the line or on the lines just above is the reason).

    Raises:
        InvalidInputError: unreadable, or a bad ``exp:`` date (naming the line).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InvalidInputError(f"cannot read ignore file {path}: {e.strerror}", hint="Check the path.") from e
    entries: list[IgnoreEntry] = []
    pending: list[str] = []
    for number, raw in enumerate(lines, 1):
        text, _, comment = raw.partition("#")
        words = text.split()
        if not words:
            pending = [*pending, comment.strip()] if comment.strip() else []
            continue
        expires = None
        for word in words[1:]:
            if word.startswith("exp:"):
                try:
                    expires = dt.date.fromisoformat(word[4:])
                except ValueError as e:
                    raise InvalidInputError(
                        f"{path}:{number}: {word!r} is not exp:YYYY-MM-DD", hint="Fix the date."
                    ) from e
        reason = comment.strip() or " ".join(pending)
        entries.append(IgnoreEntry(target=words[0], line=number, expires=expires, reason=reason))
        pending = []
    return entries


def apply_ignores(
    findings: list[VulnerabilityFinding],
    entries: list[IgnoreEntry],
    source: str,
    *,
    ignore_unfixed: bool = False,
    today: dt.date | None = None,
) -> tuple[list[VulnerabilityFinding], list[IgnoreEntry]]:
    """The findings with ``ignored`` set where an active entry (or ``ignore_unfixed``) applies, and the expired
    entries (which no longer apply)."""
    today = today or dt.date.today()
    active = [e for e in entries if e.expires is None or e.expires >= today]
    expired = [e for e in entries if e.expires is not None and e.expires < today]
    out: list[VulnerabilityFinding] = []
    for f in findings:
        entry = next((e for e in active if matches_purl(e, f)), None)
        covering = _covering(f, active)
        if entry is not None:
            why = f"{source}:{entry.line}" + (f" ({entry.reason})" if entry.reason else "")
            f = f.model_copy(update={"ignored": why})
        elif covering:
            why = f"every vulnerability it fixes is ignored ({', '.join(f'{source}:{e.line}' for e in covering)})"
            f = f.model_copy(update={"ignored": why})
        elif ignore_unfixed and not f.fixable:
            f = f.model_copy(update={"ignored": "no fix published (ignore_unfixed)"})
        out.append(f)
    return out, expired


def _covering(f: VulnerabilityFinding, active: list[IgnoreEntry]) -> list[IgnoreEntry]:
    """The entries that together name every CVE a distribution advisory fixes (an ALSA fixing eight CVEs is ignored
    when all eight are, not when one is), or none."""
    by_id = {e.target.upper(): e for e in active if not e.target.startswith("pkg:")}
    if not f.related or any(r.upper() not in by_id for r in f.related):
        return []
    return sorted({by_id[r.upper()] for r in f.related}, key=lambda e: e.line)


def matches_purl(entry: IgnoreEntry, f: VulnerabilityFinding) -> bool:
    """The entry names the finding: by advisory id or alias, or by a purl of its package (version optional)."""
    target = entry.target
    if not target.startswith("pkg:"):
        return target.upper() in {f.id.upper(), *(a.upper() for a in f.aliases)}
    kind, _, rest = target[4:].partition("/")
    path, _, version = rest.split("?", 1)[0].partition("@")
    name = unquote(path).rsplit("/", 1)[-1].lower()
    family = {
        "pypi": "PyPI",
        "npm": "npm",
        "deb": "Debian",
        "golang": "Go",
        "maven": "Maven",
        "gem": "RubyGems",
        "cargo": "crates.io",
        "nuget": "NuGet",
    }.get(kind.lower())
    wanted_family = f.ecosystem.split(":", 1)[0]
    if kind.lower() == "rpm" and wanted_family not in RPM_OS + SUSE_OS:
        return False
    if kind.lower() == "apk" and wanted_family not in APK_OS:
        return False
    if family is not None and not (family == wanted_family or (family == "Debian" and wanted_family == "Ubuntu")):
        return False
    names = {f.package.lower(), f.package.lower().rsplit(":", 1)[-1], (f.source_package or "").lower()}
    return name in names and (not version or unquote(version) == f.installed_version)
