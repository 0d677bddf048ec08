"""The containerize pipeline end to end on the real engine and the local registry, through the CLI runner and MCP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client

from containerkit.analysis import analyze
from containerkit.dockerfile.render import render
from containerkit.errors import InvalidInputError
from containerkit.mcp.server import build_server
from tests.conftest import FIXTURE_REPOS, ROOT, Harness

pytestmark = pytest.mark.e2e


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURE_REPOS / name, target)
    return target


def use_test_osv_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in scanner runs against the small OSV database kept in the test data (real advisory records)."""
    monkeypatch.setenv("CONTAINERKIT_SCAN__DB_PATH", str(ROOT / "tests" / "data" / "scan" / "osv"))
    monkeypatch.setenv("CONTAINERKIT_SCAN__DB_MAX_AGE_DAYS", "100000")


def steps(result: Any) -> dict[str, str]:
    return {s.id: s.status for s in result.steps}


@pytest.mark.parametrize("fixture", ["python-fastapi", "node-express"])
def test_containerize_builds_smokes_scans_pushes_and_validates_manifests(
    fixture: str,
    ck_home: Path,
    docker_client: Any,
    local_registry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_test_osv_database(monkeypatch)
    from containerkit.app import build_app

    harness = Harness(build_app(), ck_home)
    repo = copy_fixture(fixture, tmp_path)
    result = harness.call("containerize", path=str(repo), registry=f"{local_registry}/e2e", tag="t1")
    state = steps(result)
    assert {
        k: state[k] for k in ("analyze", "dockerfile", "lint", "build", "smoke", "tag", "push", "manifests", "validate")
    } == dict.fromkeys(
        ("analyze", "dockerfile", "lint", "build", "smoke", "tag", "push", "manifests", "validate"), "succeeded"
    )
    assert state["scan"] == "succeeded"
    assert result.report.scan is not None and result.report.scan.summary and result.report.scan.total >= 0
    assert state["deploy"] == "skipped" and state["verify"] == "skipped"
    assert any("--deploy" in (s.reason or "") for s in result.skipped)
    assert (repo / "Dockerfile").exists() and (repo / ".dockerignore").exists()
    name = repo.name
    tags = httpx.get(f"http://{local_registry}/v2/e2e/{name}/tags/list", timeout=10).json()["tags"]
    assert "t1" in tags
    assert result.report.push is not None and result.report.push.verified is True
    artifacts = {a.name for a in harness.app.services.store.list_artifacts(result.session_id, "report")}
    assert {"containerize-report.md", "containerize-report.json"} <= artifacts
    # the steps' outputs are stored once, in the run; the session keeps the run by id (issue 17)
    kept = harness.app.services.store.get_session(result.session_id).state["results.containerize"]
    assert kept == {"run_id": result.run_id, "name": result.name, "status": "succeeded"}
    assert "## Detected" in result.report_markdown


def test_without_registry_push_is_skipped_with_the_reason(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = copy_fixture("python-health", tmp_path)
    result = harness.call("containerize", path=str(repo), until="smoke")
    assert steps(result) == {
        "analyze": "succeeded",
        "dockerfile": "succeeded",
        "lint": "succeeded",
        "secrets": "succeeded",
        "build": "succeeded",
        "smoke": "succeeded",
    }


def test_deploy_without_registry_is_refused_up_front(harness: Harness) -> None:
    with pytest.raises(InvalidInputError, match="--deploy needs --registry"):
        harness.call("containerize", path=str(FIXTURE_REPOS / "python-flask"), deploy=True)


def test_execute_workflow_is_the_deprecated_name_of_containerize(harness: Harness) -> None:
    """Renamed in issue 17: the old name stays for one release, the same tool, its description saying so."""
    from containerkit.tools.registry import REGISTRY

    new, old = REGISTRY.get("containerize"), REGISTRY.get("execute_workflow")
    assert old.fn is new.fn and old.params_model is new.params_model and old.effects == new.effects
    assert old.description.startswith("Deprecated: the old name of `containerize`, removed in the next release")
    assert not new.description.startswith("Deprecated")
    with pytest.raises(InvalidInputError, match="--deploy needs --registry"):  # and it runs the same code
        harness.call("execute_workflow", path=str(FIXTURE_REPOS / "python-flask"), deploy=True)


def test_an_invalid_registry_is_refused_before_the_first_step(tmp_path: Path) -> None:
    """`--registry` was checked only at the tag step, after the whole build and smoke test."""
    from tests.core.test_cli import ck

    repo = copy_fixture("static-site", tmp_path)
    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    out = ck(["containerize", str(repo), "--registry", "127.0.0.1:5001/Bad Team", "--json"], tmp_path, env)
    assert out.returncode == 2, out.stdout + out.stderr
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "INVALID_INPUT" and error["message"].startswith("registry '127.0.0.1:5001/Bad Team'")
    assert "`--registry` as HOST[:PORT][/NAMESPACE]" in error["hint"]
    assert not (repo / "Dockerfile").exists()  # nothing ran: no Dockerfile written, nothing built


def test_a_workflow_parameter_from_inputs_is_checked_before_the_first_step(tmp_path: Path) -> None:
    from tests.core.test_cli import ck

    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "name: retag\ninputs: {target: ok/app:1}\nsteps:\n  - id: look\n    tool: analyze_repository\n"
        f"    params: {{path: {tmp_path}}}\n  - id: tag\n    tool: tag_image\n    depends_on: [look]\n"
        "    params: {source: app:1, target: '${{ inputs.target }}'}\n"
    )
    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    out = ck(["workflow", "run", str(flow), "-i", "target=-rf/app:1", "--json"], tmp_path, env)
    assert out.returncode != 0
    error = json.loads(out.stdout)["error"]
    assert "step 'tag' (tag_image): parameter 'target'" in error["message"] and "starts with '-'" in error["message"]
    listed = json.loads(ck(["workflow", "list", "--json"], tmp_path, env).stdout)
    assert listed["runs"] == []  # refused before a run was even created


def test_wrong_port_is_repaired_by_the_routing_rules(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = copy_fixture("python-wrong-port", tmp_path)
    result = harness.call("containerize", path=str(repo), until="smoke")
    assert steps(result)["smoke"] == "succeeded"
    routes = [e for e in result.events if e.kind == "route"]
    assert routes and routes[0].detail["rule"] == "wrong-port" and routes[0].detail["port"] == 7000
    assert "EXPOSE 7000" in (repo / "Dockerfile").read_text()


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("2026-07-28", id="2026-07-28")])
def test_broken_dockerfile_is_fixed_through_mcp_sampling(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path, mode: str
) -> None:
    """On 2026-07-28 the question goes out in an input-required round: the workflow stops, the client answers, and the
    repeated call runs the workflow again with the answer (asked once)."""
    repo = copy_fixture("python-health", tmp_path)
    good = render(analyze(repo).services[0]).dockerfile
    (repo / "Dockerfile").write_text(
        good.replace("COPY requirements.txt ./", "COPY requirements-missing.txt ./requirements.txt")
    )
    asked: list[str] = []

    async def sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        asked.append(params.messages[0].content.text)  # type: ignore[union-attr]
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=good), model="test-model"
        )

    progress: list[str] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def main() -> Any:
        async with Client(build_server(harness.app), sampling_callback=sampling, mode=mode) as client:
            return await client.call_tool(
                "containerize", {"path": str(repo), "until": "smoke"}, progress_callback=on_progress
            )

    result = anyio.run(main)
    assert not result.is_error, result.content[0].text
    assert len(asked) == 1 and "COPY_SOURCE_MISSING" in asked[0]
    data = result.structured_content
    assert {s["id"]: s["status"] for s in data["steps"]}["smoke"] == "succeeded"
    assert any(e["kind"] == "route" and e["detail"].get("sampling") == "accepted" for e in data["events"])
    assert any(m.startswith("step build:") for m in progress) and any(m.startswith("[build]") for m in progress)


def test_containerize_through_mcp_reports_progress_and_pushes(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = copy_fixture("node-express", tmp_path)
    progress: list[tuple[float, str]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message or ""))

    async def main() -> Any:
        async with Client(build_server(harness.app), mode="legacy") as client:
            return await client.call_tool(
                "containerize",
                {"path": str(repo), "registry": f"{local_registry}/mcp", "tag": "m1"},
                progress_callback=on_progress,
            )

    result = anyio.run(main)
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    state = {s["id"]: s["status"] for s in data["steps"]}
    assert {k: state[k] for k in ("build", "smoke", "push", "manifests", "validate")} == dict.fromkeys(
        ("build", "smoke", "push", "manifests", "validate"), "succeeded"
    )
    messages = [m for _, m in progress]
    for step in ("analyze", "build", "smoke", "push", "manifests", "validate"):
        assert f"step {step}: succeeded" in messages, messages
    values = [v for v, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)  # MCP progress must strictly increase
    assert data["report"]["push"]["verified"] is True
    tags = httpx.get(f"http://{local_registry}/v2/mcp/node-express/tags/list", timeout=10).json()["tags"]
    assert "m1" in tags


def _hand_written(repo: Path) -> tuple[str, str]:
    """A hand-written (no Container Kit header) Dockerfile with a broken COPY, and the good generated one."""
    good = render(analyze(repo).services[0]).dockerfile
    body = "\n".join(line for line in good.splitlines() if "Generated by Container Kit" not in line) + "\n"
    broken = "# my own Dockerfile\n" + body.replace(
        "COPY requirements.txt ./", "COPY requirements-missing.txt ./requirements.txt"
    )
    (repo / "Dockerfile").write_text(broken)
    return broken, good


def _sampling_with(answer: str) -> Any:
    async def sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=answer), model="test-model"
        )

    return sampling


def test_a_fix_for_a_hand_written_dockerfile_is_a_proposal_until_applied(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = copy_fixture("python-health", tmp_path)
    broken, good = _hand_written(repo)

    async def main(tool: str, args: dict[str, Any]) -> Any:
        async with Client(build_server(harness.app), sampling_callback=_sampling_with(good), mode="legacy") as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            return listed, await client.call_tool(tool, args)

    listed, result = anyio.run(main, "containerize", {"path": str(repo), "until": "smoke"})
    assert listed["containerize"].annotations.destructive_hint is True
    assert result.is_error
    assert (repo / "Dockerfile").read_text() == broken  # the user's file is untouched
    text = result.content[0].text
    assert "resume_workflow" in text and "apply_fixes" in text and "containerkit " not in text
    data = json.loads(result.content[1].text)
    run_id, session_id = data["details"]["run_id"], data["details"]["session_id"]
    arts = {a.kind: a for a in harness.app.services.store.list_artifacts(session_id)}
    proposal = harness.app.services.store.get_artifact(arts["fix_dockerfile_proposal"].id)[1].decode()
    diff = harness.app.services.store.get_artifact(arts["fix_dockerfile_diff"].id)[1].decode()
    assert proposal.strip() == good.strip() and "-COPY requirements-missing.txt" in diff

    _, resumed = anyio.run(main, "resume_workflow", {"run_id": run_id, "apply_fixes": True, "session_id": session_id})
    assert not resumed.is_error, resumed.content[0].text
    assert (repo / "Dockerfile").read_text().strip() == good.strip()
    previous = [a for a in harness.app.services.store.list_artifacts(session_id) if a.kind == "fix_dockerfile_previous"]
    assert previous and harness.app.services.store.get_artifact(previous[0].id)[1].decode() == broken
    applied = [e for e in resumed.structured_content["events"] if e["kind"] == "fix_applied"]
    assert applied and applied[0]["detail"]["previous_artifact"] == previous[0].id


def test_apply_fixes_writes_the_fix_and_keeps_the_users_file(
    harness: Harness, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = copy_fixture("python-health", tmp_path)
    broken, good = _hand_written(repo)

    async def main() -> Any:
        async with Client(build_server(harness.app), sampling_callback=_sampling_with(good), mode="legacy") as client:
            return await client.call_tool("containerize", {"path": str(repo), "until": "smoke", "apply_fixes": True})

    result = anyio.run(main)
    assert not result.is_error, result.content[0].text
    assert (repo / "Dockerfile").read_text().strip() == good.strip()
    routes = [
        e
        for e in result.structured_content["events"]
        if e["kind"] == "route" and e["detail"].get("sampling") == "accepted"
    ]
    previous_id = routes[0]["detail"]["previous_artifact"]
    assert harness.app.services.store.get_artifact(previous_id)[1].decode() == broken


def test_parallel_runs_of_same_named_services_each_push_their_own_image(
    ck_home: Path, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    """The probe's six parallel `containerize` runs of different repositories whose services share a name, to one
    registry and tag: each run must push its own image (three of six pushed another run's image, verified=True)."""
    import os
    import subprocess
    import sys
    import uuid

    registry = f"{local_registry}/par{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CONTAINERKIT_HOME": str(ck_home), "CONTAINERKIT_ALLOWED_ROOTS": f'["{tmp_path}"]'}
    procs = []
    for i in range(6):
        repo = tmp_path / f"r{i}" / "web"
        shutil.copytree(FIXTURE_REPOS / "static-site", repo)
        (repo / "index.html").write_text(f"<html><body>run {i}</body></html>\n")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "containerkit",
                    "containerize",
                    str(repo),
                    "--registry",
                    registry,
                    "--tag",
                    "same",
                    "--until",
                    "push",
                    "--json",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        run = json.loads(out)
        results.append((run["outputs"]["build"]["image_id"], run["outputs"]["push"]["transfer"]))
    accept = {
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
    }
    # what the registry holds under the digest each run reports is that run's image, not another run's
    mixed = [
        httpx.get(
            f"http://{registry}/web/manifests/{transfer['digest']}".replace(local_registry, f"{local_registry}/v2", 1),
            headers=accept,
            timeout=10,
        ).json()["config"]["digest"]
        != built
        for built, transfer in results
    ]
    assert not any(mixed), f"{sum(mixed)} of 6 runs pushed another run's image"
    for built, transfer in results:
        assert transfer["image"] == built and transfer["verified"], transfer


def test_the_pipeline_scans_the_build_context_for_secrets_before_building(tmp_path: Path) -> None:
    """A `.env` ended up in the image without a warning: the context is scanned before the build, the generated
    .dockerignore keeps .env files out, a hand-written one that lets them in is a warning, or with the gate a
    failure."""
    from tests.core.test_cli import ck

    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    secret = "DATABASE_PASSWORD=Zq8rT2vLp9XwK3\n"
    generated = copy_fixture("static-site", tmp_path / "a")
    (generated / ".env").write_text(secret)
    out = ck(["containerize", str(generated), "--until", "secrets", "--json"], tmp_path, env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    run = json.loads(out.stdout)
    (finding,) = run["outputs"]["secrets"]["report"]["findings"]
    assert finding["file"] == ".env" and finding["rule"] == "secret-assignment" and finding["in_build_context"] is False
    assert (
        run["report"]["secrets"]["warnings"] == [] and ".env" in (generated / ".dockerignore").read_text().splitlines()
    )
    assert "Zq8rT2vLp9XwK3" not in out.stdout + out.stderr

    hand_written = copy_fixture("static-site", tmp_path / "b")
    (hand_written / ".env").write_text(secret)
    (hand_written / ".dockerignore").write_text(".git\n")
    warned = ck(["containerize", str(hand_written), "--until", "secrets"], tmp_path, env)
    assert warned.returncode == 0 and "warning: .dockerignore does not exclude .env" in " ".join(warned.stdout.split())
    gated = ck(["containerize", str(hand_written), "--fail-on-secrets", "shipped", "--json"], tmp_path, env)
    assert gated.returncode == 3, gated.stdout[-3000:]
    error = json.loads(gated.stdout)["error"]
    assert error["code"] == "POLICY_VIOLATION" and "step secrets" in error["message"]
    assert "Zq8rT2vLp9XwK3" not in gated.stdout + gated.stderr
