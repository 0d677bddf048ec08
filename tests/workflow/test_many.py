"""containerize_many: every repository of a list through the pipeline, a few at a time, one report written as each
finishes; a second run skips what is finished; a file that is not our report is never overwritten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from containerkit.errors import ContainerKitError
from tests.conftest import ROOT, Harness
from tests.core.test_cli import ck

REPOS = ROOT / "tests" / "fixtures" / "repos"


def _checkouts(tmp_path: Path) -> Path:
    root = tmp_path / "checkouts"
    for name in ("go-stdlib", "static-site"):
        shutil.copytree(REPOS / name, root / name)
    (root / "empty").mkdir()  # nothing to containerize: fails at analysis
    (root / "empty" / "README.md").write_text("no code here\n")
    return root


@pytest.mark.docker
def test_a_directory_of_checkouts_is_containerized_and_a_second_run_skips_the_finished(
    harness: Harness, tmp_path: Path
) -> None:
    root = _checkouts(tmp_path)
    first = harness.call("containerize_many", source=str(root), parallel=2, until="build")
    outcomes = {Path(r.target).name: r for r in first.repos}
    assert (first.total, first.succeeded, first.failed, first.already_done) == (3, 2, 1, 0)
    assert outcomes["go-stdlib"].outcome == "succeeded" and outcomes["go-stdlib"].image == "go-stdlib:latest-build"
    assert outcomes["static-site"].size_bytes and outcomes["static-site"].run_id
    assert outcomes["empty"].outcome == "failed" and outcomes["empty"].failure
    assert "\n" not in outcomes["empty"].failure
    report = json.loads((root / "containerize-many.json").read_text())
    assert report["kind"] == "containerkit.containerize-many/v1" and len(report["repos"]) == 3
    sessions_before = {s.id for s in harness.app.services.store.list_sessions()}

    again = harness.call("containerize_many", source=str(root))
    assert (again.already_done, again.succeeded, again.failed) == (3, 2, 1)
    assert [r.run_id for r in again.repos] == [r.run_id for r in first.repos]  # nothing ran again
    # only the call itself opened a session: no repository was containerized again
    assert len({s.id for s in harness.app.services.store.list_sessions()} - sessions_before) == 1

    retried = harness.call("containerize_many", source=str(root), retry_failed=True, until="build")
    assert retried.already_done == 2
    assert {Path(r.target).name: r.run_id for r in retried.repos}["go-stdlib"] == outcomes["go-stdlib"].run_id


def test_a_list_file_names_paths_relative_to_it_and_git_urls(harness: Harness, tmp_path: Path) -> None:
    from containerkit.workflow.many import _targets

    listing = tmp_path / "repos.txt"
    listing.write_text(
        "# the services of the migration\napp-one\n  ./team/app-two   # a comment\n\nhttps://example.com/x/y.git\n"
    )
    assert _targets(listing) == [
        str(tmp_path / "app-one"),
        str(tmp_path / "team" / "app-two"),
        "https://example.com/x/y.git",
    ]


def test_a_report_path_holding_someone_elses_file_is_refused_and_left_as_it_was(
    harness: Harness, tmp_path: Path
) -> None:
    root = _checkouts(tmp_path)
    theirs = tmp_path / "notes.json"
    theirs.write_text('{"my": "notes"}\n')
    with pytest.raises(ContainerKitError) as info:
        harness.call("containerize_many", source=str(root), report=str(theirs))
    assert info.value.code == "INVALID_INPUT" and "not a containerize-many report" in info.value.message
    assert theirs.read_text() == '{"my": "notes"}\n'


@pytest.mark.docker
def test_the_cli_prints_one_row_per_repository_and_exits_1_when_one_failed(tmp_path: Path) -> None:
    root = _checkouts(tmp_path)
    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    out = ck(["containerize-many", str(root), "--until", "dockerfile"], tmp_path / "home", env)
    assert out.returncode == 1, out.stderr
    assert "2 succeeded, 1 failed of 3" in out.stdout
    for name in ("go-stdlib", "static-site", "empty"):
        assert name in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
