"""Validate manifests offline: OpenAPI schemas of a chosen Kubernetes version plus best-practice rules.

Sources: a YAML file or a directory of them (read with the shared :func:`containerkit.k8s.load.load_manifests`),
a kustomization directory or Container Kit's kustomize output (base and every overlay rendered), or a Helm chart
within Container Kit's template subset (rendered with its values.yaml).

| rule  | severity | finds |
|-------|----------|-------|
| CK200 | error    | a document without apiVersion, kind or metadata.name |
| CK201 | error    | a schema violation (wrong type, unknown field, missing required field) |
| CK202 | warning  | no schema for the kind/apiVersion in this Kubernetes version (CRD or removed API) |
| CK210-CK218 | see :mod:`containerkit.k8s.rules` | |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from containerkit import yamlsafe
from containerkit.findings import Finding
from containerkit.findings import Source as Source_
from containerkit.k8s import helm, kustomize, rules, schema
from containerkit.k8s.load import LoadedObject, load_manifests
from containerkit.k8s.rules import Severity


@dataclass(frozen=True)
class Source:
    label: str
    objects: list[LoadedObject]
    lines: dict[tuple[str, int, tuple[str | int, ...]], int]
    """(file, document index, field path) -> line, for plain files."""


@dataclass(frozen=True)
class Report:
    schema_version: str
    objects: int
    findings: list[Finding]
    sources: list[str]


def _node_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out[(*path, key.value)] = key.start_mark.line + 1
                _node_lines(value, (*path, key.value), out)
                out[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), out)


def _file_lines(file: Path) -> dict[tuple[str, int, tuple[str | int, ...]], int]:
    out: dict[tuple[str, int, tuple[str | int, ...]], int] = {}
    try:
        nodes = yamlsafe.compose_all(file.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return out
    for index, node in enumerate(nodes):
        if node is not None:
            per: dict[tuple[str | int, ...], int] = {}
            _node_lines(node, (), per)
            out.update({(str(file), index, p): line for p, line in per.items()})
    return out


def _plain(path: Path, root: Path) -> Source:
    objects = load_manifests(path)
    lines: dict[tuple[str, int, tuple[str | int, ...]], int] = {}
    for file in sorted({o.file for o in objects}):
        lines.update(_file_lines(file))
    return Source(label=str(path.relative_to(root)) if path != root else str(path), objects=objects, lines=lines)


def _rendered(label: str, file: Path, objects: list[dict[str, Any]]) -> Source:
    return Source(
        label=label, objects=[LoadedObject(file=file, index=i, line=1, obj=o) for i, o in enumerate(objects)], lines={}
    )


def sources(path: Path) -> list[Source]:
    """What to validate under ``path`` (see the module doc).

    Raises:
        InvalidInputError: missing path, no YAML, unreadable YAML, or a renderer input beyond the supported subset.
    """
    if helm.is_chart(path):
        rendered = helm.render_chart(path)
        return [
            Source(
                label=f"{path.name} (helm chart)",
                objects=[
                    LoadedObject(file=path / "templates" / t, index=i, line=1, obj=o)
                    for i, (t, o) in enumerate(rendered)
                ],
                lines={},
            )
        ]
    if kustomize.is_kustomization(path):
        return [_rendered(f"{path.name} (kustomize)", path / kustomize.KUSTOMIZATION, kustomize.render(path))]
    if path.is_dir() and kustomize.is_kustomization(path / "base"):
        out = [_rendered("base (kustomize)", path / "base" / kustomize.KUSTOMIZATION, kustomize.render(path / "base"))]
        overlays = path / "overlays"
        for overlay in (
            sorted(p for p in overlays.iterdir() if kustomize.is_kustomization(p)) if overlays.is_dir() else []
        ):
            out.append(
                _rendered(
                    f"overlays/{overlay.name} (kustomize)", overlay / kustomize.KUSTOMIZATION, kustomize.render(overlay)
                )
            )
        return out
    return [_plain(path, path)]


def _finding(
    src: Source,
    loaded: LoadedObject,
    rule: str,
    severity: Severity,
    path: tuple[str | int, ...],
    message: str,
    fix: str,
    source: Source_ = "containerkit",
) -> Finding:
    line = loaded.line
    if src.lines:
        for cut in range(len(path), -1, -1):
            found = src.lines.get((str(loaded.file), loaded.index, path[:cut]))
            if found is not None:
                line = found
                break
    file = str(loaded.file) if not src.label.endswith(")") else f"{loaded.file} [{src.label}]"
    return Finding(
        file=file,
        line=line,
        kind=loaded.kind,
        name=loaded.name,
        rule=rule,
        severity=severity,
        message=message,
        fix=fix,
        source=source,
    )


#: rules beside the built-in ones (the user's Rego policies, given by the tools layer): every object in, each
#: object's hits out (one run of the policy engine for them all)
ExtraRules = Callable[[list[dict[str, Any]]], list[list[rules.RuleHit]]]


def check_object(
    src: Source, loaded: LoadedObject, version: str, extra: list[rules.RuleHit] | None = None
) -> list[Finding]:
    obj = loaded.obj
    missing = [f for f in ("apiVersion", "kind") if not isinstance(obj.get(f), str) or not obj.get(f)]
    if not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
        missing.append("metadata.name")
    if missing:
        return [
            _finding(
                src,
                loaded,
                "CK200",
                "error",
                (),
                f"document has no {', '.join(missing)}",
                "Every object needs apiVersion, kind and metadata.name (e.g. apiVersion: apps/v1, kind: Deployment).",
            )
        ]
    out: list[Finding] = []
    try:
        for err in schema.check(obj, version):
            where = ".".join(str(p) for p in err.path) or "(object)"
            out.append(
                _finding(
                    src,
                    loaded,
                    "CK201",
                    "error",
                    err.path,
                    f"{where}: {err.message}",
                    f"Fix {where} to match the {loaded.kind} schema of Kubernetes {version.rsplit('.', 1)[0]} "
                    "(`kubectl explain` shows the fields).",
                )
            )
    except schema.NoSchemaError as e:
        out.append(
            _finding(
                src,
                loaded,
                "CK202",
                "warning",
                (),
                str(e),
                "Check the apiVersion (removed APIs move, e.g. to autoscaling/v2); CRD objects cannot be checked "
                "offline.",
            )
        )
    for hit in rules.check(obj):
        out.append(_finding(src, loaded, hit.rule, hit.severity, hit.path, hit.message, hit.fix))
    for hit in extra or []:  # the user's policies
        out.append(_finding(src, loaded, hit.rule, hit.severity, hit.path, hit.message, hit.fix, "policy"))
    return out


def validate_path(path: Path, kubernetes_version: str, extra: ExtraRules | None = None) -> Report:
    """Every finding for the manifests under ``path``.

    Raises:
        InvalidInputError: an unknown Kubernetes version (supported ones listed), or an unreadable source.
    """
    version = schema.resolve_version(kubernetes_version)
    findings: list[Finding] = []
    count = 0
    srcs = sources(path)
    every = [(src, loaded) for src in srcs for loaded in src.objects]
    extra_hits = extra([loaded.obj for _, loaded in every]) if extra else [[] for _ in every]
    for (src, loaded), hits in zip(every, extra_hits, strict=True):
        count += 1
        findings += check_object(src, loaded, version, hits)
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (order[f.severity], f.file, f.line or 0, f.rule))
    return Report(schema_version=version, objects=count, findings=findings, sources=[s.label for s in srcs])
