"""The generator emits only tags that exist (the dated snapshot of the official images' tags), resolves version
bounds to the newest maintained release and says when an app pins an unmaintained runtime."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from containerkit.analysis import analyze
from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile import tags
from containerkit.dockerfile.images import DEFAULT_IMAGES, DEFAULT_VERSIONS
from containerkit.dockerfile.render import render
from tests.conftest import FIXTURE_REPOS, Harness

SERVICES = [s for repo in sorted(FIXTURE_REPOS.iterdir()) for s in analyze(repo).services]
#: versions apps name, old and new, exact and as lower bounds
VERSIONS = {
    "python": ["2.7", "3.6", "3.8", "3.10", "3.12", "3.14", "3.15"],
    "node": ["10", "14", "16", "18", "19", "20", "22", "24", "27"],
    "go": ["1.13", "1.18", "1.20", "1.21", "1.22", "1.24", "1.26", "1.30"],
    "java": ["8", "11", "17", "21", "25"],
    "ruby": ["2.7", "3.1", "3.3", "3.4"],
    "php": ["7.4", "8.1", "8.3", "8.5"],
    "rust": ["1.60", "1.70", "1.79", "1.85", "1.98"],
}
IMAGE_REF = re.compile(r"^(?:FROM(?:\s+--\S+)*\s+(\S+)|COPY\s+--from=(\S+:\S+)\s)", re.M)


def emitted(svc: ServiceAnalysis) -> list[str]:
    return [a or b for a, b in IMAGE_REF.findall(render(svc).dockerfile)]


def variants() -> list[ServiceAnalysis]:
    out = list(SERVICES)
    java = next(s for s in SERVICES if s.language == "java")
    # the project's Gradle wrapper builds on eclipse-temurin:{v}-jdk; the Gradle image serves projects without one
    extra = [
        java.model_copy(update={"package_manager": "gradle", "build_command": [tool, "build"]})
        for tool in ("./gradlew", "gradle")
    ]
    for svc in [*SERVICES, *extra]:
        for version in VERSIONS.get(svc.language, []):
            for minimum in (False, True):
                out.append(svc.model_copy(update={"language_version": version, "language_version_minimum": minimum}))
                if svc.language == "python":  # the newest CPython a lock's compiled packages have wheels for
                    out += [
                        svc.model_copy(
                            update={
                                "language_version": version,
                                "language_version_minimum": minimum,
                                "language_version_maximum": ceiling,
                            }
                        )
                        for ceiling in ("3.10", "3.11", "3.12")
                    ]
    return out


def test_every_emitted_image_names_a_published_tag() -> None:
    snap = tags.snapshot()
    checked, missing = 0, set()
    for svc in variants():
        for image in emitted(svc):
            repository, tag = tags.split(image)
            if not snap.knows(repository):
                continue  # stage names (FROM build), mcr.microsoft.com/dotnet (not in the snapshot)
            checked += 1
            if tag not in snap.published[repository]:
                missing.add(f"{image} ({svc.language} {svc.language_version}, minimum={svc.language_version_minimum})")
    assert checked > 500 and not missing, sorted(missing)


def test_the_defaults_are_maintained_releases() -> None:
    snap = tags.snapshot()
    for key, template in DEFAULT_IMAGES.items():
        language = key.split("-")[0] if key != "composer" else "php"
        image = template.format(version=DEFAULT_VERSIONS.get(language, "latest"))
        repository, tag = tags.split(image)
        if snap.knows(repository):
            assert tag in snap.current[repository], f"{key}: {image} is not maintained in the {snap.date} snapshot"


def _svc(language: str, version: str, minimum: bool) -> ServiceAnalysis:
    base = next(s for s in SERVICES if s.language == language)
    return base.model_copy(update={"language_version": version, "language_version_minimum": minimum})


def test_a_lower_bound_becomes_the_newest_maintained_release() -> None:
    go = render(_svc("go", "1.18", True))  # go.mod's `go 1.18`: golang:1.18-bookworm was never published
    newest_go = tags.versions_for("golang:{version}-bookworm")[-1]
    assert f"FROM golang:{newest_go}-bookworm AS build" in go.dockerfile
    assert any("oldest release the app supports" in n for n in go.image_notes)
    node = render(_svc("node", "10", True))  # engines.node ">=10": Node 10 is long dead
    newest_node = [v for v in tags.versions_for("node:{version}-slim") if "." not in v][-1]
    assert f"node:{newest_node}-slim" in node.dockerfile


def test_an_exact_pin_of_an_unmaintained_runtime_is_kept_with_a_warning() -> None:
    pinned = render(_svc("python", "3.8", False))  # .python-version 3.8
    assert "FROM python:3.8-slim" in pinned.dockerfile
    assert any("no longer maintained upstream" in n for n in pinned.image_notes)
    never = render(_svc("go", "1.13", False))  # golang:1.13-bookworm never existed (bookworm came later)
    assert "golang:1.13-bookworm" not in never.dockerfile
    assert any("was never published" in n for n in never.image_notes)


def test_bounds_and_pins_are_read_from_the_apps_files(tmp_path: Path) -> None:
    cases = {
        "go.mod": ("module x\n\ngo 1.18\n", "go", True),
        "package.json": ('{"name": "x", "engines": {"node": ">=10"}, "dependencies": {"express": "4"}}', "node", True),
        ".nvmrc": ("16\n", "node", False),
    }
    for name, (text, language, minimum) in cases.items():
        repo = tmp_path / name.strip(".")
        repo.mkdir()
        if name == ".nvmrc":
            (repo / "package.json").write_text(
                '{"name": "x", "engines": {"node": ">=10"}, "dependencies": {"express": "4"}}'
            )
        if language == "go":
            (repo / "main.go").write_text(
                'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":8080", nil) }\n'
            )
        (repo / name).write_text(text)
        (svc,) = analyze(repo).services
        assert (svc.language, svc.language_version_minimum) == (language, minimum), name


def test_generate_reports_the_unmaintained_runtime_in_its_warnings(harness: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    (repo / ".python-version").write_text("3.8\n")
    result = harness.call("generate_dockerfile", path=str(repo))
    assert "FROM python:3.8-slim" in result.dockerfile
    assert any("python 3.8 is no longer maintained upstream" in w for w in result.warnings)


@pytest.mark.parametrize("field", ["commit", "date"])
def test_the_snapshot_says_where_and_when_it_was_taken(field: str) -> None:
    value = getattr(tags.snapshot(), field)
    assert re.fullmatch(r"[0-9a-f]{40}" if field == "commit" else r"\d{4}-\d{2}-\d{2}", value)
