"""Repository analysis: a safe walk plus per-ecosystem detectors -> RepoAnalysis (pure, filesystem only)."""

from containerkit.analysis.analyze import analyze
from containerkit.analysis.models import Evidence, RepoAnalysis, ServiceAnalysis

__all__ = ["Evidence", "RepoAnalysis", "ServiceAnalysis", "analyze"]
