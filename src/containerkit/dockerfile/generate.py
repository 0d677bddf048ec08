"""Generate a Dockerfile for a service, or validate the one it already has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from containerkit.analysis.models import RepoAnalysis, ServiceAnalysis
from containerkit.dockerfile.images import ImagePicker
from containerkit.dockerfile.lint import lint
from containerkit.dockerfile.pin import pin_from_lines
from containerkit.dockerfile.render import Rendered, RenderOptions, render
from containerkit.errors import InvalidInputError
from containerkit.findings import Finding


@dataclass(frozen=True)
class Generated:
    service: ServiceAnalysis
    service_dir: Path
    rendered: Rendered
    dockerfile: str
    """The final text (pinned when asked)."""
    warnings: list[str]
    existing: str | None
    """The Dockerfile already in the service directory, if any."""
    findings: list[Finding]
    """Lint findings: of the existing Dockerfile when there is one, else of the generated one."""


def pick_service(analysis: RepoAnalysis, service: str | None) -> ServiceAnalysis:
    """Raises InvalidInputError when the service path is unknown, or several services exist and none was named."""
    if service is not None:
        wanted = service.strip("/") or "."
        for s in analysis.services:
            if s.path == wanted:
                return s
        raise InvalidInputError(
            f"no service at {service!r}", hint=f"Services: {', '.join(s.path for s in analysis.services)}."
        )
    if len(analysis.services) > 1:
        raise InvalidInputError(
            f"the repository has {len(analysis.services)} services; say which one",
            hint=f"Pass --service with one of: {', '.join(s.path for s in analysis.services)}.",
        )
    return analysis.services[0]


async def generate(
    root: Path,
    svc: ServiceAnalysis,
    *,
    user_uid: int,
    base_images: dict[str, str],
    registry_prefix: str | None,
    insecure: Callable[[str], bool],
    buildkit: bool = False,
    pin: bool = False,
    extra_system_packages: tuple[str, ...] = (),
) -> Generated:
    service_dir = root if svc.path == "." else root / svc.path
    options = RenderOptions(
        user_uid=user_uid,
        buildkit=buildkit,
        extra_system_packages=extra_system_packages,
        images=ImagePicker(base_images, registry_prefix),
    )
    rendered = render(svc, options)
    text, warnings = rendered.dockerfile, list[str]()
    if pin:
        text, warnings = await pin_from_lines(text, insecure)
    warnings += [*rendered.image_notes, *svc.warnings]
    existing_path = service_dir / "Dockerfile"
    existing = existing_path.read_text(encoding="utf-8", errors="replace") if existing_path.is_file() else None
    findings = await lint(
        existing if existing is not None else text, service_dir if existing is not None else None, svc.port
    )
    return Generated(
        service=svc,
        service_dir=service_dir,
        rendered=rendered,
        dockerfile=text,
        warnings=warnings,
        existing=existing,
        findings=findings,
    )
