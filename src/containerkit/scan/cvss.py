"""CVSS base scores from vector strings: v3.0/v3.1 computed here (FIRST specification, section 7), v4.0 with the
``cvss`` package (its MacroVector lookup table is FIRST's reference implementation's)."""

from __future__ import annotations

import math

from containerkit.scan.models import Severity

_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_REQUIRED = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")


def _roundup(value: float) -> float:
    """CVSS v3.1 Roundup: smallest number with one decimal >= value (float-safe)."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def parse_vector(vector: str) -> dict[str, str] | None:
    parts = vector.strip().split("/")
    if not parts or not parts[0].startswith("CVSS:3"):
        return None
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition(":")
        metrics[key] = value
    return metrics if all(k in metrics for k in _REQUIRED) else None


def base_score(vector: str) -> float | None:
    """The base score of a CVSS v3 vector, or None when it is not a valid v3 vector."""
    m = parse_vector(vector)
    if m is None:
        return None
    try:
        changed = m["S"] == "C"
        iss = 1 - (1 - _WEIGHTS["C"][m["C"]]) * (1 - _WEIGHTS["I"][m["I"]]) * (1 - _WEIGHTS["A"][m["A"]])
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
        pr = (_PR_CHANGED if changed else _PR_UNCHANGED)[m["PR"]]
        exploitability = 8.22 * _WEIGHTS["AV"][m["AV"]] * _WEIGHTS["AC"][m["AC"]] * pr * _WEIGHTS["UI"][m["UI"]]
    except KeyError:
        return None
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if changed else impact + exploitability
    return _roundup(min(total, 10.0))


def base_score_v4(vector: str) -> float | None:
    """The base score of a CVSS v4.0 vector, or None when it is not a valid v4 vector."""
    if not vector.strip().startswith("CVSS:4.0/"):
        return None
    from cvss import CVSS4  # a v4 record is rare; keep the import off the start-up path
    from cvss.exceptions import CVSS4Error

    try:
        return float(CVSS4(vector.strip()).base_score)
    except (CVSS4Error, ValueError, KeyError):
        return None


def rating(score: float | None) -> Severity:
    """Qualitative severity rating scale of CVSS v3 (v4 uses the same)."""
    if score is None:
        return "unknown"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "negligible"


_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "negligible",
    "unimportant": "negligible",
    "minor": "low",
}


def severity_word(word: str | None) -> Severity:
    """Map a vendor severity word (GHSA MODERATE, Debian unimportant, Trivy HIGH...) to ours."""
    return _WORDS.get((word or "").strip().lower(), "unknown")
