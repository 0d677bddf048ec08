"""`generate_manifests` and `validate_manifests`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, cast

import anyio
from pydantic import Field

from containerkit.analysis import ServiceAnalysis
from containerkit.analysis.evidence import SECRET_NAME
from containerkit.dockerfile.generate import pick_service
from containerkit.dockerfile.render import RenderOptions, render
from containerkit.dockerfile.render_node import serves_static
from containerkit.errors import ContainerKitError, InvalidInputError, JSONValue, ManifestDetails, ManifestInvalidError
from containerkit.findings import Finding
from containerkit.imageref import parse_reference
from containerkit.k8s import helm, kustomize
from containerkit.k8s.manifests import build
from containerkit.k8s.spec import DEFAULT_RESOURCES, RESOURCES, AppSpec, dns1123, secret_name
from containerkit.k8s.validate import validate_path
from containerkit.k8s.workload import PRIVILEGED_BELOW
from containerkit.k8s.yamlout import dump
from containerkit.tools import _policy
from containerkit.tools.base import ImageRef, Model, ToolContext, ToolParams, ToolResult, ValidateResult
from containerkit.tools.dockerfile import load_analysis
from containerkit.tools.files import FileWrite, is_ours, write_file
from containerkit.tools.registry import REGISTRY
from containerkit.tools.state import DockerfileState, ManifestsState

_DNS1123 = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
Format = Literal["plain", "kustomize", "helm"]


class GenerateManifestsParams(ToolParams):
    path: str = Field(description="Repository path (or git URL); its analysis is reused from the session when present.")
    service: str | None = Field(None, description="Service path in a monorepo (as reported by analyze_repository).")
    image: ImageRef = Field(
        description="Image reference the Deployment runs, e.g. 127.0.0.1:5001/shop:1.4.2 (a version tag, not latest)."
    )
    out_dir: str | None = Field(None, description="Output directory (default <service dir>/k8s).")
    namespace: str | None = Field(None, description="Namespace of every object (default settings.k8s.namespace).")
    format: Format = Field(
        "plain", description="plain (one file per object), kustomize (base + dev/prod overlays) or helm (a chart)."
    )
    ingress_host: str | None = Field(None, description="Add an Ingress for this host name.")
    replicas: int = Field(2, ge=1, le=100, description="Deployment replicas (also the autoscaler's minimum).")
    user_uid: int | None = Field(
        None,
        ge=1,
        description="runAsUser; default: the session's generate_dockerfile UID, else the UID "
        "the generated Dockerfile would create.",
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Override the port (default: the session's generate_dockerfile port, else the detected one).",
    )
    health_path: str | None = Field(
        None, pattern=r"^/[^\s]*$", description="Override the health route (HTTP probes), e.g. /healthz."
    )
    readiness_path: str | None = Field(
        None,
        pattern=r"^/[^\s]*$",
        description="A separate route for the readiness and startup probes (e.g. /readyz, which also checks what the "
        "app depends on); liveness keeps health_path.",
    )
    args: list[str] | None = Field(
        None,
        description="The container's command line in place of the image's CMD (its ENTRYPOINT stays), e.g. "
        '["containerkit", "serve", "--transport", "http"].',
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description='Known values the Deployment sets, e.g. {"LOG_LEVEL": "info"}; never a secret (use secret_env).',
    )
    secret_env: list[str] = Field(
        default_factory=list,
        description="More variables taken from the app's Secret (you create it; no value is written), beside those "
        "the analysis found.",
    )
    name: str | None = Field(None, description="Override the app name (made DNS-1123).")
    force: bool = Field(
        False,
        description="Write into a directory holding YAML that Container Kit did not write, replacing "
        "those files where names collide (their previous content is kept as artifacts).",
    )


class ObjectRef(Model):
    kind: str
    name: str


class GenerateManifestsResult(ToolResult):
    out_dir: str = Field(description="Absolute path of the output directory.")
    files: list[str] = Field(description="Absolute paths of the files written.")
    writes: list[FileWrite] = Field(
        default_factory=list,
        description="Per file: created, replaced or unchanged, and the artifact "
        "keeping your previous content when one of your files was replaced (force).",
    )
    removed: list[str] = Field(
        default_factory=list,
        description="Files of ours no longer generated (another format or fewer "
        "objects than last time), removed so no stale manifest is left behind.",
    )
    format: str
    app_name: str = Field(description="Name of the Deployment and Service.")
    namespace: str
    image: str
    objects: list[ObjectRef] = Field(
        description="The objects, in apply order (for kustomize/helm: the base/default objects)."
    )
    user_uid: int = Field(description="runAsUser/runAsGroup/fsGroup of the pod.")
    port: int | None
    health_path: str | None
    probes: Literal["http", "tcp", "none"]
    secret_name: str | None = Field(
        description="The Secret the pods reference (you create it), or null when none is needed."
    )
    secret_keys: list[str]
    config_keys: list[str] = Field(
        description="Config-like variables the ConfigMap lists (as comments, unset) for you to fill."
    )
    warnings: list[str]
    notes: list[str]


def serves_with_nginx(svc: ServiceAnalysis) -> bool:
    """The Dockerfile serves static files with nginx (which answers /healthz): mirrors dockerfile.render's choice."""
    return serves_static(svc)


def _user_uid(ctx: ToolContext, svc: ServiceAnalysis, explicit: int | None) -> tuple[int, str]:
    if explicit is not None:
        return explicit, "given"
    generated = ctx.stored("dockerfile", DockerfileState)
    if generated is not None and generated.service == svc.path:
        return generated.user_uid, "the session's generate_dockerfile"
    try:
        return render(svc, RenderOptions(user_uid=ctx.settings.dockerfile.user_uid)).user_uid, "the Dockerfile template"
    except ContainerKitError:
        return ctx.settings.dockerfile.user_uid, "settings.dockerfile.user_uid"


def _dockerfile_port(ctx: ToolContext, svc: ServiceAnalysis) -> int | None:
    """The port the session's generate_dockerfile used for this service (it may have been repaired, e.g. a wrong
    port)."""
    generated = ctx.stored("dockerfile", DockerfileState)
    if generated is not None and generated.service == svc.path:
        return generated.port
    return None


def _check_image(image: str) -> tuple[str | None, list[str]]:
    if image.startswith("-"):
        raise InvalidInputError(
            f"image {image!r} starts with '-'", hint="Pass an image reference such as registry/app:1.0."
        )
    ref = parse_reference(image, default_tag=False)
    warnings = []
    if ref.digest is None and ref.tag in (None, "latest"):
        warnings.append(
            f"image {image!r} has {'no tag' if ref.tag is None else 'the latest tag'}: rollouts and rollbacks are not "
            "reproducible (validation warns, CK212); use a version tag"
        )
    return ref.tag, warnings


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _given_env(params: GenerateManifestsParams) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The env and secret_env parameters, checked: names a shell and Kubernetes accept, no secret-like value written
    into a manifest, no name in both."""
    bad = [k for k in [*params.env, *params.secret_env] if not _ENV_NAME.match(k)]
    if bad:
        raise InvalidInputError(
            f"{bad[0]!r} is not an environment variable name",
            hint="Use letters, digits and '_' (not starting with a digit), e.g. LOG_LEVEL.",
        )
    if "PORT" in params.env:
        raise InvalidInputError(
            "PORT is set from the port (the container port and the probes follow it)",
            hint="Pass {param:port --port} instead.",
        )
    secret_like = [k for k in params.env if SECRET_NAME.search(k)]
    if secret_like:
        raise InvalidInputError(
            f"{secret_like[0]} looks like a secret: its value is not written into a manifest",
            hint=f"Pass {{param:secret_env --secret-env}} {secret_like[0]} instead: the pods read it from the app's "
            "Secret, which you create.",
        )
    both = sorted(set(params.env) & set(params.secret_env))
    if both:
        raise InvalidInputError(
            f"{both[0]} is given both as a value (env) and from the Secret (secret_env)",
            hint="Keep one of the two.",
        )
    return tuple(params.env.items()), list(params.secret_env)


def _spec(
    ctx: ToolContext, svc: ServiceAnalysis, params: GenerateManifestsParams, namespace: str
) -> tuple[AppSpec, list[str], list[str]]:
    version, warnings = _check_image(params.image)
    notes: list[str] = []
    name = dns1123(params.name) if params.name is not None else svc.name
    if not name:
        raise InvalidInputError(
            f"name {params.name!r} has no letters or digits left as a DNS-1123 name", hint="Pass e.g. --name shop-api."
        )
    port = params.port or _dockerfile_port(ctx, svc) or svc.port
    nginx = serves_with_nginx(svc)
    health = params.health_path or svc.health_path or ("/healthz" if nginx else None)
    uid, uid_from = _user_uid(ctx, svc, params.user_uid)
    notes.append(f"runAsUser {uid} from {uid_from}")
    if params.ingress_host and not _HOST.match(params.ingress_host):
        raise InvalidInputError(
            f"ingress host {params.ingress_host!r} is not a DNS name",
            hint="Use a lower-case host such as shop.example.com.",
        )
    # a health route given for an app the analysis took for a worker (a CLI whose server is a subcommand) says it
    # serves HTTP
    serves_http = svc.serves_http or params.health_path is not None
    if params.ingress_host and (port is None or not serves_http):
        warnings.append("no Ingress: the app serves no HTTP port")
    if port is not None and port < PRIVILEGED_BELOW:
        notes.append(
            f"port {port} is privileged: the pod sets net.ipv4.ip_unprivileged_port_start={port} so the non-root user "
            "can bind it (an unprivileged port the app is told about avoids this)"
        )
    if port is None:
        notes.append("no port detected: no Service, no network probes; the NetworkPolicy denies all incoming traffic")
    elif params.readiness_path and health is None:
        warnings.append(
            f"readiness_path {params.readiness_path} is not used: the probes are TCP connects without a health route "
            "for liveness (pass health_path too)"
        )
    elif serves_http and health is None:
        warnings.append("no health route detected: probes are TCP connects (pass health_path for HTTP probes)")
    env, secrets = _given_env(params)
    config = [k for k in svc.env_vars.config if k not in params.env and k not in secrets]
    if config:
        notes.append(
            f"ConfigMap {name}-config lists {', '.join(config)} as comments and sets none (the app keeps "
            "its "
            "defaults): add the values you need"
        )
    if params.replicas == 1:
        notes.append("one replica: no PodDisruptionBudget (it would block node drains)")
    spec = AppSpec(
        name=name,
        namespace=namespace,
        image=params.image,
        version=version,
        user_uid=uid,
        port=port,
        serves_http=serves_http,
        health_path=health if port is not None else None,
        readiness_path=params.readiness_path if port is not None and health is not None else None,
        reads_port_env=svc.reads_port_env,
        config_env=tuple(config),
        secret_env=tuple(dict.fromkeys([*svc.env_vars.secret, *secrets])),
        env=env,
        args=tuple(params.args or ()),
        writable_paths=svc.writable_paths(),
        replicas=params.replicas,
        ingress_host=params.ingress_host if port is not None and serves_http else None,
        resources=RESOURCES.get(svc.language, DEFAULT_RESOURCES),
        slow_start=svc.language in ("java", "dotnet"),
        description=f"{name} ({svc.language}{', ' + svc.framework if svc.framework else ''})",
    )
    if spec.secret_env:
        warnings.append(
            f"pods wait for the Secret {secret_name(spec)} (keys {', '.join(spec.secret_env)}), which you create "
            f"with kubectl create secret generic {secret_name(spec)} -n {namespace} --from-literal=KEY=VALUE ..."
        )
    return spec, warnings, notes


def _render_files(spec: AppSpec, fmt: Format) -> tuple[dict[str, str], list[ObjectRef]]:
    manifests = build(spec)
    header = (
        f"Generated by Container Kit (generate_manifests, format {fmt}) for {spec.description}.\n"
        "Regenerate with `containerkit manifests`; remove this header to keep your edits from being overwritten."
    )
    if fmt == "kustomize":
        files = kustomize.layout(spec, manifests, header)
    elif fmt == "helm":
        files = helm.chart(spec, manifests, header)
    else:
        files = {m.filename: dump(m.obj, m.comments, header) for m in manifests}
    return files, [ObjectRef(kind=m.kind, name=m.name) for m in manifests]


_MANIFEST_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")


def _existing(out_dir: Path) -> tuple[list[Path], list[Path]]:
    """Manifest-like files already in ``out_dir`` (recursively): (ours by header, the user's)."""
    ours: list[Path] = []
    theirs: list[Path] = []
    if not out_dir.is_dir():
        return ours, theirs
    for path in sorted(out_dir.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix not in _MANIFEST_SUFFIXES:
            continue
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
        (ours if is_ours(head) else theirs).append(path)
    return ours, theirs


def _remove_stale(out_dir: Path, stale: list[Path]) -> list[str]:
    removed = []
    for path in stale:
        path.unlink()
        removed.append(str(path))
        parent = path.parent
        while parent != out_dir and parent.is_relative_to(out_dir) and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


@REGISTRY.tool(
    "generate_manifests",
    effects=("writes_files",),
    title="Generate Kubernetes manifests",
    group="k8s",
    store_result=True,
    description="Deterministic, commented Kubernetes manifests from the analysis and an image: Deployment (rolling "
    "update, requests "
    "and limits, startup/readiness/liveness probes, non-root security context matching the Dockerfile UID, read-only "
    "root "
    "filesystem with emptyDir scratch space), Service, optional Ingress, ConfigMap, Secret references, "
    "HorizontalPodAutoscaler, "
    "PodDisruptionBudget, NetworkPolicy and ServiceAccount. Formats: plain, kustomize (base + dev/prod overlays) or a "
    "Helm chart. "
    "Files not written by Container Kit are never overwritten without force.",
    params=GenerateManifestsParams,
    result=GenerateManifestsResult,
)
async def generate_manifests(ctx: ToolContext, params: GenerateManifestsParams) -> GenerateManifestsResult:
    namespace = params.namespace or ctx.settings.k8s.namespace
    if not _DNS1123.match(namespace):
        raise InvalidInputError(
            f"namespace {namespace!r} is not a DNS-1123 label", hint="Use lower-case letters, digits and '-'."
        )
    root, analysis = await load_analysis(ctx, params.path)
    if not analysis.services:
        raise InvalidInputError(f"no service found in {root}", hint="Run analyze_repository to see what was detected.")
    svc = pick_service(analysis, params.service)
    spec, warnings, notes = _spec(ctx, svc, params, namespace)
    service_dir = root if svc.path == "." else root / svc.path
    out_dir = ctx.resolve_path(params.out_dir if params.out_dir is not None else service_dir / "k8s", must_exist=False)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"out_dir {out_dir} is a file", hint="Pass a directory (it is created when missing).")
    files, objects = _render_files(spec, params.format)
    targets = {rel: out_dir / rel for rel in files}
    ours, theirs = _existing(out_dir)
    if theirs and not params.force:
        names = [str(p.relative_to(out_dir)) for p in theirs]
        raise InvalidInputError(
            f"{out_dir} already holds {len(theirs)} file(s) Container Kit did not write ({', '.join(names[:5])}"
            f"{', …' if len(names) > 5 else ''}): refusing to mix generated manifests into them",
            hint="Choose another directory ({param:out_dir --out}, e.g. k8s/containerkit), or pass {param:force} to "
            "write beside them "
            "(a file of yours with the same name is replaced and kept as an artifact).",
            details={"out_dir": str(out_dir), "files": cast(JSONValue, names)},
        )
    writes = [
        write_file(ctx, out_dir, target, files[rel], replace=params.force, kind="manifest")
        for rel, target in targets.items()
    ]
    for rel in targets:
        ctx.artifact("manifest", f"{spec.name}/{params.format}/{rel}", files[rel], media_type="application/yaml")
    removed = _remove_stale(out_dir, [p for p in ours if p not in set(targets.values())])
    ctx.put_state(
        "manifests", ManifestsState(app_name=spec.name, namespace=namespace, out_dir=str(out_dir), format=params.format)
    )
    return GenerateManifestsResult(
        out_dir=str(out_dir),
        files=[str(p) for p in targets.values()],
        writes=writes,
        removed=removed,
        format=params.format,
        app_name=spec.name,
        namespace=namespace,
        image=params.image,
        objects=objects,
        user_uid=spec.user_uid,
        port=spec.port,
        health_path=spec.health_path,
        probes="none" if spec.port is None else ("http" if spec.http_probes else "tcp"),
        secret_name=secret_name(spec) if spec.secret_env else None,
        secret_keys=list(spec.secret_env),
        config_keys=list(spec.config_env),
        warnings=warnings,
        notes=notes,
    )


class ValidateManifestsParams(ToolParams):
    path: str = Field(
        description="A YAML file, a directory of rendered manifests, a kustomize output or a Helm chart generated "
        "by Container Kit."
    )
    kubernetes_version: str | None = Field(
        None, description="Schemas of this version, e.g. 1.30 (default settings.k8s.kubernetes_version)."
    )
    strict: bool = Field(False, description="Warnings fail too (raise MANIFEST_INVALID).")
    policy: str | None = Field(
        None, description=_policy.PARAM_DESCRIPTION + " Each object is one input, as conftest gives it."
    )


class ValidateManifestsResult(ValidateResult):
    """``valid``: no error findings (and, when strict, no warnings: a failure is raised then)."""

    path: str
    kubernetes_version: str = Field(description="The schema version used (major.minor).")
    objects: int = Field(description="Objects checked.")
    sources: list[str] = Field(description="What was read: the path, or each rendered kustomize base/overlay or chart.")


@REGISTRY.tool(
    "validate_manifests",
    effects=(),
    title="Validate Kubernetes manifests",
    group="k8s",
    idempotent=True,
    store_result=True,
    description="Check every object offline against the Kubernetes OpenAPI schemas of a chosen version (unknown "
    "fields, wrong "
    "types, missing required fields) plus best-practice rules (probes, requests/limits, latest tag, privileged, "
    "hostPath, root, "
    "privilege escalation, host namespaces). Error findings raise MANIFEST_INVALID with the findings in details.",
    params=ValidateManifestsParams,
    result=ValidateManifestsResult,
)
async def validate_manifests(ctx: ToolContext, params: ValidateManifestsParams) -> ValidateManifestsResult:
    target = ctx.resolve_path(params.path)
    policies = _policy.load(ctx, params.policy)
    extra = _policy.manifest_rules(policies) if policies is not None else None
    report = await anyio.to_thread.run_sync(
        validate_path, target, params.kubernetes_version or ctx.settings.k8s.kubernetes_version, extra
    )
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    failing = [f for f in report.findings if f.severity == "error" or (params.strict and f.severity == "warning")]
    version = report.schema_version.rsplit(".", 1)[0]
    if failing:
        first = failing[0]
        raise ManifestInvalidError(
            f"{len(failing)} {'finding' if params.strict else 'error'}(s) in {target}: {first.kind}/{first.name} "
            f"{first.rule} {first.message}",
            details=ManifestDetails(
                findings=[cast(JSONValue, f.model_dump(mode="json")) for f in report.findings],
                errors=errors,
                warnings=warnings,
                objects=report.objects,
                kubernetes_version=version,
            ),
        )
    return ValidateManifestsResult.of(
        report.findings, path=str(target), kubernetes_version=version, objects=report.objects, sources=report.sources
    )


def findings_from(error: ContainerKitError) -> list[Finding]:
    """The findings a MANIFEST_INVALID error carries (for adapters that print them)."""
    if not isinstance(error, ManifestInvalidError):
        return []
    return [Finding.model_validate(f) for f in error.typed_details.get("findings", [])]
