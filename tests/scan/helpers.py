"""Shared helpers for scan tests: data paths, small SBOMs, a fake scanner, the test image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from containerkit.scan.backends import ScanInput, ScannerOutput
from containerkit.scan.models import Location, Package, Sbom, VulnerabilityFinding
from tests.conftest import ROOT, build_context

DATA = ROOT / "tests" / "data" / "scan"
OSV_DIR = DATA / "osv"
REPORTS = DATA / "reports"
TEST_IMAGE = "ck-scan-test:latest"
PIP_LINE = (
    "pip install --no-cache-dir --break-system-packages requests==2.25.0 urllib3==1.26.4 idna==2.10 chardet==3.0.4 "
    "certifi==2024.8.30"
)
DOCKERFILE = f"FROM python:3.12-slim\nRUN {PIP_LINE}\n"


def pkg(
    name: str,
    version: str,
    ecosystem: str,
    ptype: str,
    source: str | None = None,
    source_version: str | None = None,
    path: str = "/x",
) -> Package:
    return Package(
        name=name,
        version=version,
        type=ptype,
        ecosystem=ecosystem,
        source_name=source,
        source_version=source_version,
        locations=[Location(path=path, layer="sha256:aa")],
    )


def sbom(*packages: Package) -> Sbom:
    return Sbom(image="t:1", distro_id="debian", distro_version="12", packages=list(packages))


@dataclass
class FakeScanner:
    """A scanner that replays a captured report through the real parser."""

    name: str
    findings: list[VulnerabilityFinding]
    needs_sbom: bool = False
    calls: list[str] = field(default_factory=list)

    async def scan(self, request: ScanInput) -> ScannerOutput:
        self.calls.append(request.image)
        return ScannerOutput(name=self.name, findings=self.findings, duration_s=0.01, version="captured")


def ensure_image(client: Any, tag: str, dockerfile: str, extra: dict[str, str] | None = None) -> str:
    """Build ``tag`` from ``dockerfile`` with the docker SDK unless an image with that exact Dockerfile label exists."""
    import hashlib

    import docker.errors

    digest = hashlib.sha256((dockerfile + repr(sorted((extra or {}).items()))).encode()).hexdigest()[:16]
    try:
        if client.images.get(tag).labels.get("ck.test.recipe") == digest:
            return tag
    except docker.errors.ImageNotFound:
        pass
    context = build_context({"Dockerfile": dockerfile + f'LABEL ck.test.recipe="{digest}"\n', **(extra or {})})
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True, timeout=600)
    return tag
