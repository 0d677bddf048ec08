"""Secrets in image layers (an image exported by `docker save`), including files a later layer deletes."""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containerkit.errors import EngineError
from containerkit.redaction import redact
from containerkit.scan.models import SecretFinding, SecretScanReport
from containerkit.scan.secrets.patterns import ASSIGNMENT, RULES, looks_binary, scan_text

MAX_FILE_BYTES = 1024 * 1024
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_THIRD_PARTY_PREFIXES = (
    "/usr/lib/",
    "/usr/share/",
    "/usr/include/",
    "/lib/",
    "/usr/libexec/",
    "/var/lib/dpkg/",
    "/lib64/",
)
_THIRD_PARTY_PARTS = (
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "/go/pkg/mod/",
    "/.cargo/registry/",
    "/gems/",
)


@dataclass
class _LayerIndex:
    files: dict[str, int]  # path -> last layer index that wrote it
    removed: list[tuple[int, str, bool]]  # (layer index, path, opaque dir)


def scan_saved_image(path: Path, image: str) -> SecretScanReport:
    """Scan every layer's files, and the configuration, of ``image`` exported by ``docker save`` to ``path``."""
    findings: list[SecretFinding] = []
    index = _LayerIndex(files={}, removed=[])
    scanned = 0
    with tarfile.open(path) as outer:
        manifest = json.load(_member(outer, "manifest.json"))[0]
        config = json.load(_member(outer, manifest["Config"]))
        diff_ids: list[str] = config.get("rootfs", {}).get("diff_ids", [])
        created_by = [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]
        findings.extend(scan_config(config))
        for i, layer_path in enumerate(manifest["Layers"]):
            with tarfile.open(fileobj=_member(outer, layer_path)) as layer:
                for member in layer:
                    scanned += _scan_member(layer, member, i, index, findings, diff_ids, created_by)
    marked = [f.model_copy(update={"deleted_in_later_layer": _removed_later(f, index)}) for f in findings]
    return SecretScanReport(
        target=image, kind="image", files_scanned=scanned, findings=marked, summary=_summary(image, marked)
    )


def scan_config(config: dict[str, Any]) -> list[SecretFinding]:
    """Secrets in the image configuration, which `docker inspect` and `docker history` show to anyone with the image:
    environment variables, labels, and the created-by line of every history entry (ENV/ARG values, build arguments)."""
    cfg = config.get("config") or {}
    places: list[tuple[str, list[str]]] = [
        ("image config: Env", [str(e) for e in cfg.get("Env") or []]),
        ("image config: Labels", [f"{k}={v}" for k, v in (cfg.get("Labels") or {}).items()]),
        ("image history: created_by", [str(h.get("created_by", "")) for h in config.get("history", [])]),
    ]
    out = []
    for where, entries in places:
        for number, entry in enumerate(entries, start=1):
            for m in scan_text(entry.replace("\n", " "), rules=(*RULES, ASSIGNMENT)):
                out.append(
                    SecretFinding(
                        rule=m.rule.id,
                        description=m.rule.description,
                        file=where,
                        line=number,
                        masked=m.masked,
                        created_by=redact(entry[:200]) if where.startswith("image history") else None,
                    )
                )
    return out


def _member(archive: tarfile.TarFile, name: str) -> Any:
    handle = archive.extractfile(name)
    if handle is None:
        raise EngineError(f"the saved image has no {name}")
    return handle


def _scan_member(
    layer: tarfile.TarFile,
    member: tarfile.TarInfo,
    i: int,
    index: _LayerIndex,
    findings: list[SecretFinding],
    diff_ids: list[str],
    created_by: list[str],
) -> int:
    path = "/" + member.name.lstrip("./")
    base = posixpath.basename(path)
    if base == _OPAQUE:
        index.removed.append((i, posixpath.dirname(path), True))
        return 0
    if base.startswith(_WHITEOUT):
        index.removed.append((i, posixpath.join(posixpath.dirname(path), base[len(_WHITEOUT) :]), False))
        return 0
    if not member.isfile() or member.size > MAX_FILE_BYTES:
        return 0
    index.files[path] = i
    handle = layer.extractfile(member)
    data = handle.read() if handle else b""
    if looks_binary(data):
        return 0
    for m in scan_text(data.decode("utf-8", errors="replace"), generic=not is_third_party(path)):
        findings.append(
            SecretFinding(
                rule=m.rule.id,
                description=m.rule.description,
                file=path,
                line=m.line,
                masked=m.masked,
                layer=diff_ids[i] if i < len(diff_ids) else None,
                layer_index=i,
                created_by=created_by[i] if i < len(created_by) else None,
            )
        )
    return 1


def is_third_party(path: str) -> bool:
    """Distro and package-manager files: token rules apply, the generic password rule does not (too many doc
    examples)."""
    return path.startswith(_THIRD_PARTY_PREFIXES) or any(part in path for part in _THIRD_PARTY_PARTS)


def _removed_later(f: SecretFinding, index: _LayerIndex) -> bool:
    layer = f.layer_index or 0
    if index.files.get(f.file, layer) > layer:  # replaced by a later layer
        return True
    for i, removed, opaque in index.removed:
        if i <= layer:
            continue
        if f.file == removed or f.file.startswith(removed.rstrip("/") + "/"):
            return not opaque or f.file != removed
    return False


def _summary(image: str, findings: list[SecretFinding]) -> str:
    if not findings:
        return f"{image}: no secrets found in its layers."
    hidden = sum(1 for f in findings if f.deleted_in_later_layer)
    text = f"{image}: {len(findings)} secret(s) in {len({f.file for f in findings})} file(s) of its layers"
    if hidden:
        text += f"; {hidden} in files a later layer deletes — still readable from the image (a real leak)"
    return text + ". Rotate them and rebuild without copying them in (use build secrets, multi-stage builds)."
