"""Repository analysis: find every service and describe it (language, version, framework, port, ...)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from containerkit.analysis.detectors import ServiceDir, dotnet, go, jvm, node, python, rust, scripting, static
from containerkit.analysis.models import RepoAnalysis, ServiceAnalysis
from containerkit.analysis.walk import Tree, walk
from containerkit.errors import InvalidInputError

Detector = Callable[[Tree, ServiceDir], ServiceAnalysis | None]
MANIFESTS: dict[str, Detector] = {
    "requirements.txt": python.detect,
    "pyproject.toml": python.detect,
    "setup.py": python.detect,
    "Pipfile": python.detect,
    "package.json": node.detect,
    "go.mod": go.detect,
    "pom.xml": jvm.detect,
    "build.gradle": jvm.detect,
    "build.gradle.kts": jvm.detect,
    "Gemfile": scripting.detect_ruby,
    "composer.json": scripting.detect_php,
    "Cargo.toml": rust.detect,
}
PRIORITY = ["python", "go", "java", "dotnet", "ruby", "php", "rust", "node"]
NOT_SERVICES = {
    "docs",
    "doc",
    "test",
    "tests",
    "examples",
    "example",
    "samples",
    "sample",
    "fixtures",
    "benchmarks",
    "bench",
    "scripts",
    "tools",
    "e2e",
    ".github",
    "ci",
    "hack",
    "testdata",
    "fuzz",
    "benches",
    "extra",
}
MAX_DEPTH = 4


def analyze(root: Path) -> RepoAnalysis:
    """Analyze a local repository (``root`` must be an existing directory).

    Raises:
        InvalidInputError: the path is not a directory or holds no recognizable service.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a directory", hint="Give the repository's root directory.")
    tree = walk(root)
    services = [s for s in (_detect_dir(tree, d) for d in _service_dirs(tree)) if s is not None]
    if not services:
        services = _static_fallback(tree)
    if not services:
        raise InvalidInputError(
            f"no service found in {root}: no dependency manifest (requirements.txt, package.json, go.mod, pom.xml, "
            "*.csproj, Gemfile, composer.json, Cargo.toml) and no index.php or index.html",
            hint="Point at the directory that holds the application's manifest.",
            details={"files_scanned": len(tree.files)},
        )
    return RepoAnalysis(
        path=str(root),
        services=sorted(services, key=lambda s: (s.path != ".", s.path)),
        files_scanned=len(tree.files),
        skipped=tree.skipped[:50],
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _service_dirs(tree: Tree) -> list[ServiceDir]:
    candidates: set[str] = set()
    for rel in tree.files:
        directory, _, name = rel.rpartition("/")
        if directory.count("/") >= MAX_DEPTH:
            continue
        if name in MANIFESTS or (
            name.endswith((".csproj", ".fsproj")) and not name.lower().endswith(("tests.csproj", "test.csproj"))
        ):
            candidates.add(directory)
    real = [d for d in candidates if not (set(d.split("/")) & NOT_SERVICES)] or sorted(candidates)
    real = [d for d in real if not _aggregator(tree, d)]
    by_depth = sorted(real, key=lambda d: -d.count("/") - (1 if d else 0))
    owned: dict[str, list[str]] = {d: [] for d in real}
    for rel in tree.files:
        for d in by_depth:
            if d == "" or rel.startswith(d + "/"):
                # a service's own examples/, docs/, bench/, scripts/ (directories right under it) are not its code:
                # their imports, ports and variables are not the service's (this repository's root read
                # examples/hello-flask's). Deeper down such names are code (a Java package io/grpc/examples/...).
                inner = rel.removeprefix(d + "/") if d else rel
                if "/" not in inner or inner.split("/", 1)[0] not in NOT_SERVICES:
                    owned[d].append(rel)
                break
    return [ServiceDir(d, owned[d]) for d in sorted(real)]


def _aggregator(tree: Tree, directory: str) -> bool:
    svc = ServiceDir(directory, [])
    return (
        (
            svc.has(tree, "package.json")
            and node.is_aggregator(tree, svc)
            and not _other_manifest(tree, svc, "package.json")
        )
        or (svc.has(tree, "pom.xml") and jvm.is_aggregator(tree, svc))
        or (svc.has(tree, "Cargo.toml") and rust.is_aggregator(tree, svc))
    )


def _other_manifest(tree: Tree, svc: ServiceDir, besides: str) -> bool:
    return any(svc.has(tree, m) for m in MANIFESTS if m != besides)


def _detect_dir(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    detectors: list[Detector] = []
    for name, detector in MANIFESTS.items():
        if svc.has(tree, name) and detector not in detectors:
            detectors.append(detector)
    if any(f.endswith((".csproj", ".fsproj")) for f in svc.files):
        detectors.append(dotnet.detect)
    results = [r for r in (d(tree, svc) for d in detectors) if r is not None]
    if not results:
        return None

    def rank(r: ServiceAnalysis) -> tuple[int, int, int]:
        spa = r.language == "node" and r.framework in node.SPA
        return (
            r.framework is None or spa,
            not r.serves_http,
            PRIORITY.index(r.language) if r.language in PRIORITY else 99,
        )

    return sorted(results, key=rank)[0]


def _static_fallback(tree: Tree) -> list[ServiceAnalysis]:
    """No manifest anywhere: a Go main package (the shallowest main.go), PHP files served as they are (the shallowest
    index.php), else a static site."""
    for page, detect in (("main.go", go.detect), ("index.php", scripting.detect_php), ("index.html", static.detect)):
        dirs = sorted(
            (f.rpartition("/")[0] for f in tree.files if f.rpartition("/")[2] == page), key=lambda d: (d.count("/"), d)
        )
        if dirs:
            directory = dirs[0]
            found = detect(
                tree, ServiceDir(directory, [f for f in tree.files if directory == "" or f.startswith(directory + "/")])
            )
            return [found] if found else []
    return []
