"""Static sites: an index.html with no build manifest, served by nginx."""

from __future__ import annotations

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import Collector
from containerkit.analysis.models import ServiceAnalysis
from containerkit.analysis.walk import Tree


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    if not svc.has(tree, "index.html"):
        return None
    col = Collector()
    col.add("language", svc.rel("index.html"), "index.html with no build manifest: a static site")
    col.add("port", svc.rel("index.html"), "served by nginx on 8080 (non-root)")
    return ServiceAnalysis(
        path=svc.path or ".", name=svc.name(tree.root.name), language="static", port=8080, build_output=".",
        start_command=["nginx", "-g", "daemon off;"], health_path=None, serves_http=True,
        has_dockerfile=svc.has(tree, "Dockerfile"), evidence=col.evidence,
    )
