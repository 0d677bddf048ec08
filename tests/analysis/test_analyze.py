"""Repository analysis over the fixture repos, hostile trees, .gitignore, monorepos and git URLs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from containerkit.analysis import analyze
from containerkit.errors import InvalidInputError, PathNotAllowedError
from tests.conftest import FIXTURE_REPOS, ROOT, Harness

# fixture: (path, language, version, framework, package manager, port, reads PORT, health path, start command head)
EXPECTED = [
    ("python-flask", ".", "python", None, "flask", "pip", 5000, False, None, "gunicorn"),
    ("python-fastapi", ".", "python", "3.12", "fastapi", "pip", 8000, False, "/health", "uvicorn"),
    ("python-django", ".", "python", "3.11", "django", "pip", 8000, False, "/healthz", "gunicorn"),
    ("python-port-env", ".", "python", None, "flask", "pip", 8081, True, "/healthz", "gunicorn"),
    ("python-health", ".", "python", None, "flask", "pip", 5000, False, "/health", "gunicorn"),
    ("python-worker", ".", "python", None, None, "pip", None, False, None, "python"),
    ("node-express", ".", "node", "18", "express", "npm", 3000, True, "/health", "node"),
    ("node-nestjs", ".", "node", None, "nestjs", "npm", 3000, True, "/health", "node"),
    ("node-nextjs", ".", "node", "20", "nextjs", "npm", 3000, False, None, "node_modules/.bin/next"),
    ("react-vite", ".", "node", None, "react", "npm", 8080, False, None, None),
    ("angular", ".", "node", None, "angular", "npm", 8080, False, None, None),
    ("vue", ".", "node", None, "vue", "npm", 8080, False, None, None),
    ("java-spring-boot", ".", "java", "17", "spring-boot", "maven", 8081, False, "/actuator/health", "java"),
    ("java-quarkus", ".", "java", "21", "quarkus", "gradle", 8082, False, "/q/health", "java"),
    ("dotnet-aspnetcore", ".", "dotnet", "8.0", "aspnetcore", "nuget", 8080, False, "/healthz", "dotnet"),
    ("ruby-rails", ".", "ruby", "3.2", "rails", "bundler", 3000, False, "/health", "bundle"),
    ("ruby-sinatra", ".", "ruby", None, "sinatra", "bundler", 4567, False, "/ping", "bundle"),
    ("php-laravel", ".", "php", "8.2", "laravel", "composer", 8080, False, "/health", "apache2-foreground"),
    ("go-gin", ".", "go", "1.22", "gin", "go", 8080, False, "/health", "/app/server"),
    ("go-echo", ".", "go", "1.21", "echo", "go", 1323, False, None, "/app/server"),
    ("go-fiber", ".", "go", "1.22", "fiber", "go", 3000, False, "/healthz", "/app/server"),
    ("go-stdlib", ".", "go", "1.22", None, "go", 8080, True, "/health", "/app/server"),
    ("rust-axum", ".", "rust", "1.78", "axum", "cargo", 3000, False, "/health", "/app/axum-api"),
    ("rust-actix", ".", "rust", None, "actix", "cargo", 8080, False, None, "/app/actix-api"),
    ("rust-rocket", ".", "rust", None, "rocket", "cargo", 8000, False, None, "/app/rocket-api"),
    ("static-site", ".", "static", None, None, None, 8080, False, None, "nginx"),
]


@pytest.mark.parametrize(
    ("repo", "path", "language", "version", "framework", "manager", "port", "reads_port", "health", "start"), EXPECTED
)
def test_fixture_is_analyzed_as_expected(
    repo: str,
    path: str,
    language: str,
    version: str | None,
    framework: str | None,
    manager: str | None,
    port: int | None,
    reads_port: bool,
    health: str | None,
    start: str | None,
) -> None:
    result = analyze(FIXTURE_REPOS / repo)
    assert len(result.services) == 1, result.services
    s = result.services[0]
    assert (s.path, s.language, s.language_version, s.framework, s.package_manager) == (
        path,
        language,
        version,
        framework,
        manager,
    )
    assert (s.port, s.reads_port_env, s.health_path) == (port, reads_port, health)
    assert (s.start_command[0] if s.start_command else None) == start
    fields = {e.field for e in s.evidence}
    if framework:
        assert "framework" in fields
    if port:
        assert "port" in fields


def test_every_conclusion_points_at_a_real_file_and_line() -> None:
    for repo in sorted(FIXTURE_REPOS.iterdir()):
        for service in analyze(repo).services:
            for ev in service.evidence:
                target = repo / ev.file
                assert target.exists(), (repo.name, ev)
                if ev.line is not None:
                    assert ev.line <= len(target.read_text().splitlines())


def test_monorepo_has_two_services_and_skips_docs_and_workspace_root() -> None:
    result = analyze(FIXTURE_REPOS / "monorepo")
    by_path = {s.path: s for s in result.services}
    assert set(by_path) == {"backend", "frontend"}
    backend = by_path["backend"]
    assert (backend.framework, backend.app_object, backend.health_path) == ("fastapi", "api:api", "/ready")
    assert backend.env_vars.config == ["REDIS_URL"] and backend.env_vars.secret == ["DB_PASSWORD"]
    assert backend.backing_services == ["postgres"]
    assert by_path["frontend"].framework == "react" and by_path["frontend"].build_command == ["npm", "run", "build"]


def test_env_vars_are_split_into_config_and_secrets() -> None:
    django = analyze(FIXTURE_REPOS / "python-django").services[0]
    assert django.env_vars.secret == ["DJANGO_SECRET_KEY"] and django.env_vars.config == ["DJANGO_DEBUG"]
    assert django.system_packages == ["gcc", "libpq-dev"] and django.backing_services == ["postgres"]
    assert django.app_object == "mysite.wsgi:application"


def test_json_output_has_exactly_the_documented_fields(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "containerkit", "analyze", str(FIXTURE_REPOS / "python-fastapi"), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "CONTAINERKIT_HOME": str(tmp_path), "CONTAINERKIT_ALLOWED_ROOTS": f'["{ROOT}"]'},
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"path", "services"} <= set(data)
    assert set(data["services"][0]) >= {
        "path",
        "language",
        "language_version",
        "framework",
        "package_manager",
        "lockfile",
        "port",
        "start_command",
        "build_command",
        "health_path",
        "env_vars",
        "backing_services",
        "evidence",
    }


def test_gitignored_and_vendored_files_are_not_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "node_modules" / "express").mkdir(parents=True)
    (repo / "node_modules" / "express" / "package.json").write_text('{"name": "express"}')
    (repo / "generated").mkdir()
    (repo / "generated" / "go.mod").write_text("module x\n")
    (repo / ".gitignore").write_text("generated/\n")
    (repo / "requirements.txt").write_text("flask\n")
    (repo / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    result = analyze(repo)
    assert [s.language for s in result.services] == ["python"]
    assert result.files_scanned == 3


def test_hostile_tree_symlink_loop_escape_huge_binary_and_bad_names(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("fastapi\n")
    (repo / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (repo / "loop").symlink_to(repo, target_is_directory=True)
    (repo / "escape").symlink_to("/etc", target_is_directory=True)
    (repo / "huge.py").write_bytes(b"# x\n" * (4 * 1024 * 1024 // 4))
    (repo / "junk.bin").write_bytes(bytes(range(256)) * 1000)
    os.makedirs(repo / "na\xefve".encode("latin-1").decode("utf-8", "surrogateescape"), exist_ok=True)
    bad = os.path.join(os.fsencode(repo), b"caf\xe9.py")
    with open(bad, "wb") as f:
        f.write(b"x = '\xff\xfe'\n")
    started = time.monotonic()
    result = analyze(repo)
    assert time.monotonic() - started < 10
    assert result.services[0].framework == "fastapi"
    skipped = "\n".join(result.skipped)
    assert "escape: symlink escapes the repository" in skipped
    assert "loop: symlink to a directory already walked" in skipped
    assert "huge.py" in skipped
    assert len(result.services) == 1


def test_a_symlink_to_a_walked_directory_makes_no_phantom_service(tmp_path: Path) -> None:
    """``dot -> .`` and ``alias -> api`` used to walk the same files twice and report a second service."""
    repo = tmp_path / "repo"
    (repo / "api").mkdir(parents=True)
    (repo / "api" / "requirements.txt").write_text("flask\n")
    (repo / "api" / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (repo / "dot").symlink_to(".", target_is_directory=True)
    (repo / "a-alias").symlink_to("api", target_is_directory=True)
    (repo / "shared-real").mkdir()
    (repo / "shared-real" / "notes.md").write_text("x")
    (repo / "z-link").symlink_to("/nonexistent-dir", target_is_directory=True)
    result = analyze(repo)
    assert [s.path for s in result.services] == ["api"]
    skipped = "\n".join(result.skipped)
    assert "dot: symlink to a directory already walked" in skipped
    assert "a-alias: symlink to a directory already walked" in skipped


def test_directory_without_any_service_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InvalidInputError, match="no service found"):
        analyze(tmp_path)


def test_tool_stores_the_analysis_in_the_session(harness: Harness) -> None:
    sid = harness.app.services.store.create_session().id
    result = harness.call("analyze_repository", path=str(FIXTURE_REPOS / "node-express"), session_id=sid)
    state = harness.app.services.store.get_session(result.session_id).state
    assert state["analysis"]["services"][0]["framework"] == "express"
    assert state["results.analyze_repository"]["analysis"]["services"][0]["port"] == 3000


def test_path_outside_allowed_roots_is_refused(harness: Harness) -> None:
    with pytest.raises(PathNotAllowedError):
        harness.call("analyze_repository", path="/usr/share")


def test_git_url_is_cloned_shallow_into_the_workspace(harness: Harness, tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    subprocess.run(["cp", "-r", str(FIXTURE_REPOS / "go-stdlib"), str(origin)], check=True)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(origin)]
    subprocess.run([*git[:5], "init", "-q", "-b", "main", str(origin)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    result = harness.call("analyze_repository", path=origin.as_uri(), branch="main")
    assert result.analysis.services[0].language == "go"
    assert Path(result.source).is_relative_to(harness.home)
    with pytest.raises(InvalidInputError):
        harness.call("analyze_repository", path="--upload-pack=evil")
