"""Dockerfile generation: goldens, zero lint errors for every fixture, existing Dockerfiles kept, pinning."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from containerkit.analysis import analyze
from containerkit.dockerfile.images import ImagePicker
from containerkit.dockerfile.lint import lint
from containerkit.dockerfile.render import RenderOptions, render
from containerkit.errors import PathNotAllowedError
from tests.conftest import FIXTURE_REPOS, Harness

GOLDEN = Path(__file__).parent / "golden"
ALL_SERVICES = [(repo.name, s.path) for repo in sorted(FIXTURE_REPOS.iterdir()) for s in analyze(repo).services]


def _service(repo: str, path: str = ".") -> object:
    return next(s for s in analyze(FIXTURE_REPOS / repo).services if s.path == path)


@pytest.mark.parametrize(("repo", "path"), ALL_SERVICES)
def test_generated_dockerfile_matches_its_golden_file(repo: str, path: str, update_goldens: bool) -> None:
    rendered = render(_service(repo, path))  # type: ignore[arg-type]
    name = repo if path == "." else f"{repo}-{path.replace('/', '-')}"
    golden = GOLDEN / f"{name}.Dockerfile"
    if update_goldens:
        golden.write_text(rendered.dockerfile)
        ignore = GOLDEN / f"{name}.dockerignore"
        ignore.write_text(rendered.dockerignore)
    assert golden.exists(), f"no golden file {golden.name}: review the output, then run pytest --update-goldens"
    assert rendered.dockerfile == golden.read_text()
    assert rendered.dockerignore == (GOLDEN / f"{name}.dockerignore").read_text()


@pytest.mark.parametrize(("repo", "path"), ALL_SERVICES)
def test_generated_dockerfile_has_no_lint_errors_or_warnings(repo: str, path: str) -> None:
    svc = _service(repo, path)
    rendered = render(svc)  # type: ignore[arg-type]
    findings = anyio.run(lint, rendered.dockerfile, None, svc.port)  # type: ignore[attr-defined]
    assert [f for f in findings if f.severity in ("error", "warning")] == []


def test_generation_is_deterministic() -> None:
    svc = _service("node-nestjs")
    assert render(svc).dockerfile == render(svc).dockerfile  # type: ignore[arg-type]


def test_best_practices_in_the_python_dockerfile() -> None:
    text = render(_service("python-port-env")).dockerfile  # type: ignore[arg-type]
    assert "FROM python:3.12-slim" in text
    assert text.index("COPY requirements.txt") < text.index("RUN pip install") < text.index("COPY . .")
    assert "USER 10001" in text and "ENV PORT=8081" in text and "EXPOSE 8081" in text
    assert 'CMD ["gunicorn", "--bind", "0.0.0.0:8081"' in text and "flask run" not in text
    assert "http://127.0.0.1:8081/healthz" in text and 'CMD ["curl' not in text


def test_base_image_map_and_mirror_prefix_are_honoured() -> None:
    options = RenderOptions(
        user_uid=20000, images=ImagePicker({"python": "python:{version}-slim-bookworm"}, "registry.corp/hub")
    )
    rendered = render(_service("python-fastapi"), options)  # type: ignore[arg-type]
    assert "FROM registry.corp/hub/python:3.12-slim-bookworm" in rendered.dockerfile
    assert rendered.user_uid == 20000 and "USER 20000" in rendered.dockerfile


def test_existing_dockerfile_is_kept_and_improvements_returned(harness: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    original = "FROM python\nCOPY . .\nRUN pip install -r requirements.txt\nCMD python app.py\n"
    (repo / "Dockerfile").write_text(original)
    result = harness.call("generate_dockerfile", path=str(repo), write=True)
    assert (repo / "Dockerfile").read_text() == original and result.written == []
    assert {"CK101", "CK102", "CK105", "CK107"} <= {f.rule for f in result.findings}
    assert "FROM python:3.12-slim" in result.dockerfile
    forced = harness.call("generate_dockerfile", path=str(repo), write=True, force=True)
    assert (repo / "Dockerfile").read_text() == forced.dockerfile and (repo / ".dockerignore").exists()


def test_dockerfile_is_stored_as_a_session_artifact(harness: Harness, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_REPOS / "node-express", tmp_path / "app")
    result = harness.call("generate_dockerfile", path=str(tmp_path / "app"))
    found = harness.app.services.store.latest_artifact(result.session_id, "dockerfile")
    assert found is not None and found[1].decode() == result.dockerfile
    assert harness.app.services.store.get_session(result.session_id).state["dockerfile"]["user_uid"] == 10001


def test_port_and_app_object_overrides(harness: Harness, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_REPOS / "python-flask", tmp_path / "app")
    result = harness.call("generate_dockerfile", path=str(tmp_path / "app"), port=9090, app_object="app:application")
    assert (
        "EXPOSE 9090" in result.dockerfile
        and '"0.0.0.0:9090", ' in result.dockerfile
        and '"app:application"]' in result.dockerfile
    )


def test_monorepo_needs_a_service_choice(harness: Harness) -> None:
    from containerkit.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="2 services"):
        harness.call("generate_dockerfile", path=str(FIXTURE_REPOS / "monorepo"))
    result = harness.call("generate_dockerfile", path=str(FIXTURE_REPOS / "monorepo"), service="backend")
    assert '"uvicorn", "api:api"' in result.dockerfile


def test_pin_resolves_digests_from_a_reachable_registry(
    harness: Harness, local_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURE_REPOS / "python-flask", tmp_path / "app")
    monkeypatch.setenv("CONTAINERKIT_DOCKERFILE__REGISTRY_PREFIX", f"{local_registry}/library")
    from containerkit.app import build_app

    app = build_app()
    result = anyio.run(
        lambda: app.registry.call(app.services, "generate_dockerfile", {"path": str(tmp_path / "app"), "pin": True})
    )
    assert f"FROM {local_registry}/library/python:3.12-slim@sha256:" in result.dockerfile  # type: ignore[attr-defined]
    assert result.warnings == []  # type: ignore[attr-defined]


def test_pin_warns_and_keeps_the_tag_when_the_registry_is_unreachable(harness: Harness, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_REPOS / "python-flask", tmp_path / "app")
    result = harness.call("generate_dockerfile", path=str(tmp_path / "app"), pin=True)
    assert "FROM python:3.12-slim\n" in result.dockerfile
    assert result.warnings and "not pinned" in result.warnings[0]


def test_a_symlinked_dockerfile_is_never_written_through(harness: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    outside = tmp_path / "outside-target"
    (repo / "Dockerfile").symlink_to(outside)  # dangling: no force needed to "create" it, yet it leaves the repository
    with pytest.raises(PathNotAllowedError, match="symlink"):
        harness.call("generate_dockerfile", path=str(repo), write=True)
    assert not outside.exists() and (repo / "Dockerfile").is_symlink()


def test_replacing_a_hand_written_dockerfile_keeps_it_as_an_artifact(harness: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    mine = "FROM python\nCMD python app.py\n"
    (repo / "Dockerfile").write_text(mine)
    kept = harness.call("generate_dockerfile", path=str(repo), write=True)
    proposal = next(w for w in kept.files if w.path.endswith("Dockerfile"))
    assert (repo / "Dockerfile").read_text() == mine and proposal.action == "proposed"
    store = harness.app.services.store
    assert "+# Generated by Container Kit" in store.get_artifact(proposal.diff_artifact)[1].decode()
    forced = harness.call("generate_dockerfile", path=str(repo), write=True, force=True, session_id=kept.session_id)
    replaced = next(w for w in forced.files if w.path.endswith("Dockerfile"))
    assert replaced.action == "replaced" and store.get_artifact(replaced.previous_artifact)[1].decode() == mine
    assert any(replaced.previous_artifact in w for w in forced.warnings)


def test_no_cli_command_writes_through_a_symlink_to_an_outside_file(tmp_path: Path) -> None:
    """The probe: a Dockerfile, .dockerignore or k8s/*.yaml that is a symlink to an outside path made `dockerfile
    --write`, `containerize` and `manifests generate` create or overwrite that file while saying they wrote the
    repo's."""
    import json

    from tests.core.test_cli import ck

    outside = tmp_path / "outside"
    outside.mkdir()
    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path / "repos")])}
    cases = {
        "Dockerfile": ["containerize", "{repo}", "--until", "dockerfile", "--json"],
        ".dockerignore": [
            "dockerfile",
            "{repo}",
            "--write",
            "--force",
            "--json",
        ],  # without --force it is the user's: kept
        "k8s/deployment.yaml": ["manifests", "generate", "{repo}", "--image", "127.0.0.1:5001/app:1", "--json"],
    }
    for i, (name, args) in enumerate(cases.items()):
        repo = tmp_path / "repos" / f"app{i}"
        shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
        target = outside / f"target{i}"
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).symlink_to(target)  # dangling: "creating" it needs no --force, yet it leaves the repository
        out = ck([a.format(repo=repo) for a in args], tmp_path, env)
        assert out.returncode == 2, (name, out.stdout[-2000:], out.stderr[-2000:])
        error = json.loads(out.stdout)["error"]
        assert error["code"] == "PATH_NOT_ALLOWED" and "symlink" in error["message"], (name, error)
        assert not target.exists() and (repo / name).is_symlink(), name
