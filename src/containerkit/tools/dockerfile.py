"""`generate_dockerfile` and `validate_dockerfile`."""

from __future__ import annotations

from pathlib import Path

import anyio
from pydantic import Field

from containerkit.analysis import RepoAnalysis, ServiceAnalysis, analyze
from containerkit.dockerfile.generate import generate, pick_service
from containerkit.dockerfile.lint import lint
from containerkit.errors import InvalidInputError
from containerkit.findings import Finding
from containerkit.imageref import is_insecure
from containerkit.tools import _policy
from containerkit.tools.analysis import resolve_source
from containerkit.tools.base import ToolContext, ToolParams, ToolResult, ValidateResult
from containerkit.tools.files import FileWrite, describe, is_ours, propose, write_file, written_paths
from containerkit.tools.registry import REGISTRY
from containerkit.tools.state import DockerfileState


class GenerateParams(ToolParams):
    path: str = Field(description="Repository path (or git URL); its analysis is reused from the session when present.")
    service: str | None = Field(None, description="Service path in a monorepo (as reported by analyze_repository).")
    write: bool = Field(False, description="Write Dockerfile and .dockerignore into the service directory.")
    force: bool = Field(
        False,
        description="Replace an existing Dockerfile and .dockerignore (your previous files are kept as "
        "artifacts). Otherwise an existing Dockerfile is validated, improvements returned and the generated one "
        "stored as a proposal with a diff.",
    )
    pin: bool = Field(False, description="Pin base images by digest when the registry is reachable.")
    buildkit: bool = Field(False, description="Use BuildKit cache mounts (only when building with BuildKit).")
    port: int | None = Field(None, ge=1, le=65535, description="Override the detected port.")
    app_object: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(\))?$",
        description="Override the WSGI/ASGI target, e.g. 'app.main:app'.",
    )
    extra_system_packages: list[str] = Field(
        default_factory=list, description="Additional OS packages to install (Debian names)."
    )


class GenerateResult(ToolResult):
    service_path: str
    service_dir: str = Field(description="Absolute path of the service directory (the build context).")
    health_path: str | None = Field(description="The app's health route, if it has one.")
    dockerfile: str = Field(description="The generated Dockerfile (suggested one when an existing Dockerfile is kept).")
    dockerignore: str
    base_image: str
    build_image: str | None
    user_uid: int = Field(description="Numeric UID the image runs as (manifests use it for runAsUser).")
    port: int | None
    healthcheck: bool
    written: list[str] = Field(description="Files written (empty unless write=true).")
    files: list[FileWrite] = Field(
        default_factory=list,
        description="Per file: created, replaced (with the id of the artifact "
        "keeping your previous content), unchanged, or proposed (not written: proposal and diff artifacts).",
    )
    existing_dockerfile: bool = Field(description="The service already had a Dockerfile.")
    findings: list[Finding] = Field(
        description="Lint findings of the existing Dockerfile (improvements), or of the generated one."
    )
    warnings: list[str]
    notes: list[str]


async def load_analysis(ctx: ToolContext, path: str) -> tuple[Path, RepoAnalysis]:
    """The repository root and its analysis: from the session state when it is the same repository, else analyzed
    now."""
    root = await resolve_source(ctx, path)
    cached = ctx.stored("analysis", RepoAnalysis)
    if cached is not None and ctx.state().get("repo_path") == str(root):
        return root, cached
    analysis = await anyio.to_thread.run_sync(analyze, root)
    ctx.put_state("analysis", analysis)
    ctx.put_state("repo_path", str(root))
    return root, analysis


@REGISTRY.tool(
    "generate_dockerfile",
    effects=("writes_files", "reads_registry"),
    title="Generate a Dockerfile",
    group="dockerfile",
    store_result=True,
    description="Write a best-practice Dockerfile and .dockerignore from the analysis (explicit base tags, multi-stage "
    "builds, "
    "dependency layers first, production server, fixed non-root UID, exec-form CMD, working HEALTHCHECK). An existing "
    "Dockerfile is never overwritten without force: it is validated and improvements returned.",
    params=GenerateParams,
    result=GenerateResult,
)
async def generate_dockerfile(ctx: ToolContext, params: GenerateParams) -> GenerateResult:
    root, analysis = await load_analysis(ctx, params.path)
    svc = pick_service(analysis, params.service)
    if params.port is not None or params.app_object is not None:
        svc = _override(svc, params.port, params.app_object)
    settings = ctx.settings
    result = await generate(
        root,
        svc,
        user_uid=settings.dockerfile.user_uid,
        base_images=settings.dockerfile.base_images,
        registry_prefix=settings.dockerfile.registry_prefix,
        insecure=lambda host: is_insecure(host, settings.registry.insecure_registries),
        buildkit=params.buildkit,
        pin=params.pin,
        extra_system_packages=tuple(params.extra_system_packages),
    )
    force = params.force
    if params.write and not force and result.existing is not None and not is_ours(result.existing):
        force = await ctx.decide(
            "force",
            f"There is a Dockerfile you wrote in {result.service_dir}. Replace it with the "
            "generated one? Your file is kept as a session artifact.",
        )
    keep_existing = result.existing is not None and not force
    writes: list[FileWrite] = []
    if params.write:
        target = ctx.resolve_path(result.service_dir)
        if keep_existing:
            writes.append(propose(ctx, root, target / "Dockerfile", result.dockerfile, kind="dockerfile"))
        else:
            writes.append(
                write_file(ctx, root, target / "Dockerfile", result.dockerfile, replace=True, kind="dockerfile")
            )
            ignore = target / ".dockerignore"
            if force or not (ignore.exists() or ignore.is_symlink()):
                writes.append(
                    write_file(ctx, root, ignore, result.rendered.dockerignore, replace=True, kind="dockerignore")
                )
    written = written_paths(writes)
    ctx.artifact("dockerfile", f"{svc.path}/Dockerfile", result.dockerfile)
    ctx.artifact("dockerignore", f"{svc.path}/.dockerignore", result.rendered.dockerignore)
    ctx.put_state(
        "dockerfile",
        DockerfileState(
            service=svc.path,
            user_uid=result.rendered.user_uid,
            port=svc.port,
            path=written[0] if written else None,
            kept_existing=keep_existing,
        ),
    )
    warnings = list(result.warnings)
    if keep_existing:
        warnings.insert(
            0,
            "an existing Dockerfile was kept (pass force=true (--force) to replace it; your file is then kept as an "
            "artifact); findings list its improvements",
        )
    warnings[:0] = describe(writes, "pass force=true (--force) to apply it")
    return GenerateResult(
        service_path=svc.path,
        service_dir=str(result.service_dir),
        health_path=svc.health_path,
        dockerfile=result.dockerfile,
        dockerignore=result.rendered.dockerignore,
        base_image=result.rendered.base_image,
        build_image=result.rendered.build_image,
        user_uid=result.rendered.user_uid,
        port=svc.port,
        healthcheck=result.rendered.healthcheck,
        written=written,
        files=writes,
        existing_dockerfile=result.existing is not None,
        findings=result.findings,
        warnings=warnings,
        notes=list(result.rendered.notes),
    )


def _override(svc: ServiceAnalysis, port: int | None, app_object: str | None) -> ServiceAnalysis:
    update: dict[str, object] = {}
    cmd = list(svc.start_command or [])
    if port is not None:
        update["port"] = port
        cmd = [
            a.replace(f":{svc.port}", f":{port}")
            if svc.port and a.endswith(f":{svc.port}")
            else (str(port) if a == str(svc.port) else a)
            for a in cmd
        ]
    if app_object is not None:
        update["app_object"] = app_object
        cmd = [
            app_object if a == svc.app_object or (svc.app_object and a == svc.app_object.removesuffix("()")) else a
            for a in cmd
        ]
    update["start_command"] = cmd or None
    return svc.model_copy(update=update)


class ValidateParams(ToolParams):
    path: str = Field(description="A Dockerfile, or a directory containing one.")
    port: int | None = Field(
        None, ge=1, le=65535, description="The port the app listens on (defaults to the session's analysis)."
    )
    policy: str | None = Field(None, description=_policy.PARAM_DESCRIPTION)


class ValidateDockerfileResult(ValidateResult):
    dockerfile: str = Field(description="Path of the validated Dockerfile.")


@REGISTRY.tool(
    "validate_dockerfile",
    effects=(),
    title="Lint a Dockerfile",
    group="dockerfile",
    idempotent=True,
    store_result=True,
    description="hadolint plus Container Kit rules (root user, latest/missing tags, secrets in ENV/ARG, EXPOSE vs the "
    "app's port, "
    "COPY . . before dependency install, missing .dockerignore, shell-form CMD, HEALTHCHECK tools absent from the base "
    "image).",
    params=ValidateParams,
    result=ValidateDockerfileResult,
)
async def validate_dockerfile(ctx: ToolContext, params: ValidateParams) -> ValidateDockerfileResult:
    target = ctx.resolve_path(params.path)
    dockerfile = target / "Dockerfile" if target.is_dir() else target
    if not dockerfile.is_file():
        raise InvalidInputError(
            f"no Dockerfile at {dockerfile}", hint="Generate one with {tool:generate_dockerfile PATH --write}."
        )
    port = params.port
    if port is None:
        generated = ctx.stored("dockerfile", DockerfileState)
        port = generated.port if generated is not None else None
    text = await anyio.Path(dockerfile).read_text(encoding="utf-8", errors="replace")
    policies = _policy.load(ctx, params.policy)
    findings = await lint(text, dockerfile.parent, port)
    if policies is not None:
        findings += _policy.dockerfile_findings(policies, text)
    return ValidateDockerfileResult.of(findings, dockerfile=str(dockerfile))
