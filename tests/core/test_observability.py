"""The shipped dashboard and alert rules against a real Prometheus (Debian's, installed by scripts/testenv): promtool
accepts the rules and parses every dashboard query, and after a containerize run Prometheus has scraped the series
the dashboard reads (issue 18)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from containerkit import metrics
from tests.conftest import ROOT, Harness, free_port, unavailable

DOCS = ROOT / "docs" / "observability"


def _tool(request: pytest.FixtureRequest, name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(request, f"{name} (Debian's prometheus package)")
    assert found is not None
    return found


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]]


def test_promtool_accepts_the_alert_rules(request: pytest.FixtureRequest) -> None:
    out = subprocess.run(
        [_tool(request, "promtool"), "check", "rules", str(DOCS / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 3 rules found" in out.stdout


def test_every_dashboard_query_parses(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 15
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"containerkit:dashboard_query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    out = subprocess.run(
        [_tool(request, "promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


class Prom:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return list(answer["data"]["result"])

    def number(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


@pytest.fixture
def prometheus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Prom]:
    binary = _tool(request, "prometheus")
    metrics.enable(tools=["containerize", "build_image", "analyze_repository", "scan_image", "push_image"])
    try:
        registry_port = metrics.serve("127.0.0.1", 0)
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {"job_name": "containerkit", "static_configs": [{"targets": [f"127.0.0.1:{registry_port}"]}]}
                    ],
                }
            )
        )
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        prom = Prom(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:  # until the target has been scraped: the series start from zero before the run
            try:
                if prom.query('up{job="containerkit"} == 1'):
                    break
            except (httpx.TransportError, ValueError, AssertionError):
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "prometheus exited"
            assert time.monotonic() < deadline, "prometheus never scraped the metrics endpoint"
            time.sleep(0.5)
        time.sleep(2.5)
        yield prom
    finally:
        metrics.disable()
        if "proc" in locals():
            proc.terminate()
            proc.wait(timeout=30)


def test_after_a_containerize_run_prometheus_has_the_dashboards_series(
    prometheus: Prom,
    ck_home: Path,
    docker_client: Any,
    local_registry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from containerkit.app import build_app
    from tests.workflow.test_containerize import copy_fixture, use_test_osv_database

    use_test_osv_database(monkeypatch)
    harness = Harness(build_app(), ck_home)
    repo = copy_fixture("python-fastapi", tmp_path)
    result = harness.call("containerize", path=str(repo), registry=f"{local_registry}/metrics", tag="m1")
    assert result.status == "succeeded"
    time.sleep(3.5)  # three more scrapes

    for _title, expr in dashboard_queries():  # every panel's query runs
        prometheus.query(expr)
    window = "[10m]"
    assert (
        prometheus.number(f'sum(increase(containerkit_tool_calls_total{{tool="build_image",outcome="ok"}}{window}))')
        > 0
    )
    runs = prometheus.query(f"sum by (kind, status) (increase(containerkit_workflow_runs_total{window}))")
    assert any(
        r["metric"] == {"kind": "containerize", "status": "succeeded"} and float(r["value"][1]) > 0 for r in runs
    )
    ratio = prometheus.number(
        f'sum(increase(containerkit_build_steps_total{{cached="true"}}{window})) '
        f"/ sum(increase(containerkit_build_steps_total{window}))"
    )
    assert 0.0 <= ratio <= 1.0
    p95 = prometheus.number(
        "histogram_quantile(0.95, sum by (le) (rate(containerkit_tool_call_duration_seconds_bucket"
        f'{{tool="build_image"}}{window})))'
    )
    assert math.isfinite(p95) and p95 > 0
    assert prometheus.number(f"sum(increase(containerkit_scan_findings_total{window}))") > 0
    assert prometheus.number(f"sum(increase(containerkit_push_duration_seconds_count{window}))") > 0
    assert prometheus.number(f"sum(increase(containerkit_push_bytes_total{window}))") >= 0  # small layers: no progress
