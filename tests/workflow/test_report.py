"""The containerize report is a typed model built from the steps' typed results (issue 17): a field the pipeline
stores is the field the report, the CLI and an MCP client read."""

from __future__ import annotations

from typing import Any

from containerkit.engine.models import CacheInfo, StrategyChoice
from containerkit.registry.transfer import TransferReport
from containerkit.store.runs import RunRecord, StepState
from containerkit.tools.engine import BuildImageResult
from containerkit.tools.images import TransferResult
from containerkit.workflow.report import ContainerizeReport, build_report, render_markdown


def _step(step_id: str, outputs: dict[str, Any] | None, status: str = "succeeded") -> StepState:
    return StepState(
        step_id=step_id,
        status=status,
        attempts=1,
        started_at=10.0,
        ended_at=12.5,
        job_id=None,  # type: ignore[arg-type]
        outputs=outputs,
        error_code=None,
        error_message=None,
        reason=None,
    )


def _run(*steps: StepState) -> RunRecord:
    return RunRecord(
        id="r1",
        session_id="s1",
        name="containerize",
        spec={},
        inputs={},
        status="succeeded",
        created_at=1.0,
        updated_at=2.0,
        pid=None,
        error_code=None,
        error_message=None,
        steps=list(steps),
    )


def _build() -> dict[str, Any]:
    return BuildImageResult(
        session_id="s1",
        job_id="j1",
        image_id="sha256:" + "a" * 64,
        tags=["app:t1"],
        size_bytes=123,
        layers=4,
        duration_s=3.2,
        cache=CacheInfo(steps=9, cached=7),
        steps=[],
        strategy=StrategyChoice(name="docker", reason="engine API", endpoint="unix:///var/run/docker.sock"),
        context_size_bytes=10,
        context_files=2,
        labels={},
        log_artifact_id="a1",
    ).model_dump(mode="json")


def _push() -> dict[str, Any]:
    transfer = TransferReport(
        reference="127.0.0.1:5001/e2e/app:t1",
        digest="sha256:" + "b" * 64,
        verified=True,
        attempts=2,
        layers=4,
        layers_existing=1,
        credentials="none",
        duration_s=0.8,
    )
    return TransferResult(session_id="s1", job_id="j2", transfer=transfer).model_dump(mode="json")


def test_the_report_reads_each_steps_result_through_its_model() -> None:
    report = build_report(_run(_step("build", _build()), _step("push", _push()), _step("deploy", None, "skipped")))
    assert isinstance(report, ContainerizeReport)
    assert report.image is not None and report.image.cache.cached == 7 and report.image.strategy.name == "docker"
    assert report.push is not None and report.push.verified and report.push.attempts == 2
    assert report.deploy is None and report.smoke is None  # a step that did not run is null, not {}
    assert [s.duration_s for s in report.steps] == [2.5, 2.5, 2.5]
    markdown = render_markdown(report)
    assert "## Image" in markdown and "## Push" in markdown and "## Deploy" not in markdown
    assert "- verified: `True`" in markdown


def test_outputs_of_another_shape_leave_the_section_out_instead_of_failing() -> None:
    """A run stored by an older version: its build outputs lack fields this version's result has."""
    report = build_report(_run(_step("build", {"image_id": "sha256:1"})))
    assert report.image is None and report.steps[0].id == "build"


def test_a_redacted_analysis_still_reads_as_its_model() -> None:
    """The run store masks values under secret-looking keys; `env_vars.secret` (a list of names) became the string
    '***', so the analysis no longer validated and the report lost every detected service."""
    from containerkit.analysis import analyze
    from containerkit.redaction import redact_data
    from containerkit.tools.analysis import AnalyzeResult
    from tests.conftest import FIXTURE_REPOS

    analysis = analyze(FIXTURE_REPOS / "python-flask")
    service = analysis.services[0]
    env = service.env_vars.model_copy(update={"secret": ["DB_PASSWORD"]})
    analysis = analysis.model_copy(update={"services": [service.model_copy(update={"env_vars": env})]})
    stored = redact_data(AnalyzeResult(analysis=analysis, source="/src").model_dump(mode="json"))
    assert stored["analysis"]["services"][0]["env_vars"]["secret"] == ["***"]
    report = build_report(_run(_step("analyze", stored)))
    assert [d.path for d in report.detected] == [service.path]
