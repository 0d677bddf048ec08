"""VEX: statements that a vulnerability does not affect a product (or is fixed in it), applied to a scan's findings.

Read formats: OpenVEX (``statements[]``: ``vulnerability`` — an object with ``name``/``aliases`` or, in the first
drafts, a string —, ``products`` and ``subcomponents`` as purls, ``status``, ``justification``, ``impact_statement``)
and CycloneDX VEX (``vulnerabilities[]``: ``id``, ``affects[].ref`` purls, ``analysis.state`` / ``justification`` /
``detail``). A ``not_affected`` statement (CycloneDX ``not_affected`` or ``false_positive``) or a ``fixed`` one
(CycloneDX ``resolved``) sets the finding aside like an ignore rule: it stays in the report with the status and the
justification, and no longer counts for the gate. ``affected`` and ``under_investigation`` change nothing.

A statement names packages with purls (``pkg:pypi/requests@2.25.0``; the version is optional): it applies to a
finding of one of them. Products that are not packages (the image, ``pkg:oci/app@sha256:…``) do not narrow it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containerkit.errors import InvalidInputError
from containerkit.scan.models import VulnerabilityFinding
from containerkit.scan.policy import IgnoreEntry, matches_purl

#: what each format's status means here
_OPENVEX = {
    "not_affected": "not_affected",
    "fixed": "fixed",
    "affected": "affected",
    "under_investigation": "under_investigation",
}
_CYCLONEDX = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}
_PACKAGE_PURLS = (
    "pkg:pypi/",
    "pkg:npm/",
    "pkg:deb/",
    "pkg:golang/",
    "pkg:maven/",
    "pkg:gem/",
    "pkg:cargo/",
    "pkg:nuget/",
    "pkg:apk/",
    "pkg:composer/",
)


@dataclass(frozen=True)
class Statement:
    vulnerability: str
    aliases: tuple[str, ...]
    status: str
    justification: str
    packages: tuple[str, ...]
    """Package purls the statement is about (empty: every package of the product)."""
    source: str


def load(path: Path) -> list[Statement]:
    """The statements of an OpenVEX or CycloneDX VEX document.

    Raises:
        InvalidInputError: unreadable, not JSON, or neither format (naming the file).
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(f"cannot read VEX document {path}: {e.strerror}", hint="Check the path.") from e
    except ValueError as e:
        raise InvalidInputError(
            f"VEX document {path} is not JSON: {e}", hint="Pass an OpenVEX or CycloneDX VEX JSON file."
        ) from e
    if isinstance(doc, dict) and isinstance(doc.get("statements"), list):
        return [s for s in (_openvex(item, path.name) for item in doc["statements"]) if s is not None]
    if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        return [s for s in (_cyclonedx(item, path.name) for item in doc.get("vulnerabilities") or []) if s is not None]
    raise InvalidInputError(
        f"{path} is neither OpenVEX (statements) nor CycloneDX VEX (bomFormat CycloneDX)",
        hint="Pass an OpenVEX document (https://openvex.dev) or a CycloneDX BOM with vulnerabilities.",
    )


def _ids(value: Any) -> list[str]:
    """purls or ids from OpenVEX's string / {"@id": …} / {"identifiers": {"purl": …}} forms."""
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for key in ("@id", "purl"):
                if isinstance(item.get(key), str):
                    out.append(item[key])
            identifiers = item.get("identifiers")
            if isinstance(identifiers, dict) and isinstance(identifiers.get("purl"), str):
                out.append(identifiers["purl"])
            out += _ids(item.get("subcomponents"))
    return out


def _openvex(item: Any, source: str) -> Statement | None:
    if not isinstance(item, dict):
        return None
    vuln = item.get("vulnerability")
    name = vuln.get("name") or vuln.get("@id") if isinstance(vuln, dict) else vuln
    status = _OPENVEX.get(str(item.get("status")))
    if not isinstance(name, str) or status is None:
        return None
    aliases = tuple(a for a in (vuln.get("aliases") or [] if isinstance(vuln, dict) else []) if isinstance(a, str))
    purls = [p for p in [*_ids(item.get("products")), *_ids(item.get("subcomponents"))] if p.startswith(_PACKAGE_PURLS)]
    why = item.get("justification") or item.get("impact_statement") or item.get("action_statement") or ""
    return Statement(name, aliases, status, str(why), tuple(purls), source)


def _cyclonedx(item: Any, source: str) -> Statement | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    found = item.get("analysis")
    analysis: dict[str, Any] = found if isinstance(found, dict) else {}
    status = _CYCLONEDX.get(str(analysis.get("state")))
    if status is None:
        return None
    refs: list[str] = [
        a["ref"] for a in item.get("affects") or [] if isinstance(a, dict) and isinstance(a.get("ref"), str)
    ]
    aliases = tuple(
        r["id"] for r in item.get("references") or [] if isinstance(r, dict) and isinstance(r.get("id"), str)
    )
    why = " — ".join(str(x) for x in (analysis.get("justification"), analysis.get("detail")) if x)
    return Statement(item["id"], aliases, status, why, tuple(r for r in refs if r.startswith(_PACKAGE_PURLS)), source)


def applies(statement: Statement, finding: VulnerabilityFinding, ids: set[str] | None = None) -> bool:
    """The statement names the finding (by its id or an alias, or by ``ids`` when given) and its package."""
    ids = ids if ids is not None else {finding.id.upper(), *(a.upper() for a in finding.aliases)}
    if not ids & {statement.vulnerability.upper(), *(a.upper() for a in statement.aliases)}:
        return False
    return not statement.packages or any(
        matches_purl(IgnoreEntry(target=p, line=0), finding) for p in statement.packages
    )


def apply(findings: list[VulnerabilityFinding], statements: list[Statement]) -> list[VulnerabilityFinding]:
    """The findings, those a ``not_affected`` or ``fixed`` statement covers set aside with its status and reason."""
    out = []
    for finding in findings:
        settled = [s for s in statements if s.status in ("not_affected", "fixed")]
        hit = next((s for s in settled if applies(s, finding)), None)
        if hit is None and finding.related:
            # a distribution advisory (ALSA, RLSA) is settled when each of the CVEs it fixes is
            each = [next((s for s in settled if applies(s, finding, {cve.upper()})), None) for cve in finding.related]
            hit = each[0] if all(each) else None
        if hit is not None and finding.ignored is None:
            finding = finding.model_copy(
                update={
                    "ignored": f"VEX {hit.source}: {hit.status}"
                    + (f" ({hit.justification})" if hit.justification else ""),
                    "vex": hit.status,
                }
            )
        out.append(finding)
    return out
