"""docs/cli/analyze.md lists every field of a service in `analyze --json`: a field added to the model must be
documented."""

from __future__ import annotations

import re
from pathlib import Path

from containerkit.analysis.models import ServiceAnalysis

DOC = Path(__file__).parents[2] / "docs" / "cli" / "analyze.md"


def test_the_documented_service_fields_are_the_models() -> None:
    text = DOC.read_text()
    listed = text[
        text.index("each service has exactly these fields:") : text.index("What the generated Dockerfile follows")
    ]
    names = [
        n
        for n in re.findall(r"`([a-z_]+)`", listed)
        if n not in ("config", "secret", "field", "file", "line", "detail")
    ]
    assert names == list(ServiceAnalysis.model_fields)
