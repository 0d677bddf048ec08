"""Read Kubernetes manifests from a file or a directory of YAML files (multi-document files included).

Validation and deploy both read manifests through :func:`load_manifests`, so they see the same objects in the
same order. Kustomize and Helm sources are recognised and refused with a hint (deploy and validate take the
rendered objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from containerkit import yamlsafe
from containerkit.errors import InvalidInputError

YAML_SUFFIXES = (".yaml", ".yml")
#: files that describe how to render manifests rather than being manifests themselves
NON_MANIFESTS = {"kustomization.yaml", "kustomization.yml", "Kustomization", "Chart.yaml", "values.yaml"}


@dataclass(frozen=True)
class LoadedObject:
    file: Path
    """The file the object came from."""
    index: int
    """0-based position of the document in its file."""
    line: int
    """1-based line where the document starts."""
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str | None:
        meta = self.obj.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return str(ns) if ns else None

    @property
    def where(self) -> str:
        return f"{self.file.name}:{self.line}"


def manifest_files(path: Path) -> list[Path]:
    """The YAML files of ``path`` (itself when it is a file), sorted, renderer inputs excluded.

    Raises:
        InvalidInputError: the path is missing, holds no YAML, or is a Kustomize/Helm source.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InvalidInputError(f"no manifests at {path}", hint="Pass a YAML file or a directory of YAML files.")
    if (path / "Chart.yaml").is_file():
        raise InvalidInputError(
            f"{path} is a Helm chart, not rendered manifests",
            hint="Render it first (`helm template NAME DIR > out.yaml`) or generate with --format plain.",
        )
    if any((path / k).is_file() for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
        raise InvalidInputError(
            f"{path} is a Kustomize directory, not rendered manifests",
            hint="Render it first (`kubectl kustomize DIR > out.yaml`) or generate with --format plain.",
        )
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES and p.name not in NON_MANIFESTS
    )
    if not files:
        raise InvalidInputError(
            f"no .yaml/.yml files in {path}", hint="Generate manifests with {tool:generate_manifests PATH --image REF}."
        )
    return files


def load_manifests(path: Path) -> list[LoadedObject]:
    """Every object in ``path``: files in sorted order, documents in file order; empty documents skipped.

    Raises:
        InvalidInputError: unreadable YAML (with file and line), or a document that is not a mapping.
    """
    out: list[LoadedObject] = []
    for file in manifest_files(path):
        try:
            documents = yamlsafe.load_all_with_nodes(yamlsafe.read(file))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            at = f" line {mark.line + 1}" if mark is not None else ""
            raise InvalidInputError(
                f"{file}:{at.strip()} is not valid YAML: {getattr(e, 'problem', e)}",
                hint="Fix the YAML syntax at the line named.",
            ) from e
        for index, (node, doc) in enumerate(documents):
            if doc is None:
                continue
            line = node.start_mark.line + 1 if node is not None else 1
            if not isinstance(doc, dict):
                raise InvalidInputError(
                    f"{file}:{line}: document {index + 1} is a {type(doc).__name__}, not a Kubernetes object",
                    hint="Each YAML document must be a mapping with apiVersion, kind and metadata.",
                )
            out.append(LoadedObject(file=file, index=index, line=line, obj=doc))
    return out
