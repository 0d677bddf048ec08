"""The policy gate: fail on findings at or above a severity, minus an allow-list with expiry dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from containerkit import yamlsafe
from containerkit.errors import InvalidInputError
from containerkit.scan.models import AllowEntry, Finding, PolicyResult, PolicyViolation, Threshold, severity_at_least
from containerkit.scan.report import finding_key


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
        raise InvalidInputError(f"allow-list {path}: {where}: {err['msg']}",
                                hint="Each entry needs id, expires (YYYY-MM-DD) and reason; package is optional.") from e
    for entry in parsed.allow:
        try:
            dt.date.fromisoformat(entry.expires)
        except ValueError as e:
            raise InvalidInputError(f"allow-list {path}: entry {entry.id}: expires {entry.expires!r} is not a date",
                                    hint="Write dates as YYYY-MM-DD.") from e
    return list(parsed.allow)


def _stringify_dates(data: object) -> object:
    if isinstance(data, dict):
        return {k: _stringify_dates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stringify_dates(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


def evaluate(findings: list[Finding], fail_on: Threshold, allow: list[AllowEntry], today: dt.date | None = None, *,
             fail_on_unknown: bool = False) -> PolicyResult:
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
        unknown_gated = f.severity == "unknown" and fail_on != "none" and fail_on_unknown
        if f.severity == "unknown" and fail_on != "none" and not fail_on_unknown:
            unknown_not_gated += 1
        if not (severity_at_least(f.severity, fail_on) or unknown_gated):
            continue
        if any(_allows(e, f) for e in active):
            allowed.append(finding_key(f))
            continue
        violations.append(PolicyViolation(id=f.id, package=f.package, installed_version=f.installed_version, severity=f.severity,
                                          fixed_versions=f.fixed_versions))
    return PolicyResult(fail_on=fail_on, passed=not violations, violations=violations, allowed=allowed, expired_entries=expired,
                        fail_on_unknown=fail_on_unknown, unknown_not_gated=unknown_not_gated)


def _allows(entry: AllowEntry, f: Finding) -> bool:
    ids = {f.id.upper(), *(a.upper() for a in f.aliases)}
    return entry.id.upper() in ids and (entry.package is None or entry.package.lower() == f.package.lower())
