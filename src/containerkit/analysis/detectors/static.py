"""Static sites: an index.html with no build manifest, served by nginx."""

from __future__ import annotations

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import Collector
from containerkit.analysis.models import ServiceAnalysis
from containerkit.analysis.walk import Tree


def detect(tree: Tree, svc: ServiceDir, site: str | None = None) -> ServiceAnalysis | None:
    """``site``: the directory that holds the built site (``dist`` committed beside the package.json that builds it)."""
    if site is None and not svc.has(tree, "index.html"):
        return None
    col = Collector()
    if site:
        col.add(
            "language",
            svc.rel(f"{site}/index.html"),
            f"the built site is in the repository ({site}/) and package.json names no server: a static site",
        )
    else:
        col.add("language", svc.rel("index.html"), "index.html with no build manifest: a static site")
    col.add("port", svc.rel(f"{site}/index.html" if site else "index.html"), "served by nginx on 8080 (non-root)")
    return ServiceAnalysis(
        path=svc.path or ".",
        name=svc.name(tree.root.name),
        language="static",
        port=8080,
        build_output=site or ".",
        start_command=["nginx", "-g", "daemon off;"],
        health_path=None,
        serves_http=True,
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )
