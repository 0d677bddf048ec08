"""OpenTelemetry traces (issue 18): a containerize run exported to a real OpenTelemetry collector (built from the
collector's Go modules by scripts/testenv, testenv.d/otelcol) is one trace whose span tree, read back from the
collector's debug output, has the expected parents; a client's traceparent is continued (an in-process receiver that
decodes the OTLP protobuf with opentelemetry-proto); without the OTEL variables nothing is exported or imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from containerkit import tracing
from tests.conftest import FIXTURE_REPOS, ROOT, TESTENV_STATE, Harness, free_port, unavailable


class Receiver:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                        for scope in resource_spans.scope_spans:
                            for span in scope.spans:
                                receiver.spans.append(
                                    {
                                        "name": span.name,
                                        "trace": span.trace_id.hex(),
                                        "id": span.span_id.hex(),
                                        "parent": span.parent_span_id.hex(),
                                        "service": service.get("service.name"),
                                        "attributes": {
                                            a.key: a.value.string_value or a.value.int_value for a in span.attributes
                                        },
                                    }
                                )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def named(self, name: str) -> dict[str, Any]:
        found = [s for s in self.spans if s["name"] == name]
        assert len(found) == 1, (name, [s["name"] for s in self.spans])
        return found[0]


class Collector:
    """The test collector: OTLP/HTTP in, the debug exporter's detailed output (one block per span) in a file."""

    def __init__(self, binary: Path, tmp_path: Path) -> None:
        port = free_port()
        config = tmp_path / "otelcol.yml"
        config.write_text(
            f"receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:{port}\n"
            "exporters:\n  debug:\n    verbosity: detailed\n"
            "service:\n  telemetry:\n    metrics:\n      level: none\n"
            "  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n"
        )
        self.output = tmp_path / "otelcol.out"
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(binary), "--config", f"file:{config}"], stdout=self.output.open("w"), stderr=subprocess.STDOUT
        )
        import time

        deadline = time.monotonic() + 30
        while "Everything is ready" not in self.output.read_text():
            assert self.proc.poll() is None, self.output.read_text()[-2000:]
            assert time.monotonic() < deadline, self.output.read_text()[-2000:]
            time.sleep(0.2)

    def spans(self) -> list[dict[str, Any]]:
        import re

        text = self.output.read_text()
        service = re.findall(r"service\.name: Str\(([^)]*)\)", text)
        out = []
        for block in text.split("Span #")[1:]:
            field = dict(re.findall(r"^\s+(Trace ID|Parent ID|ID|Name)\s+: ?(.*)$", block, re.M))
            attributes = dict(re.findall(r"-> ([\w.]+): \w+\((.*)\)$", block, re.M))
            out.append(
                {
                    "name": field.get("Name", ""),
                    "trace": field.get("Trace ID", ""),
                    "id": field.get("ID", ""),
                    "parent": field.get("Parent ID", "").strip(),
                    "attributes": attributes,
                    "service": service[0] if service else None,
                }
            )
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def collector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Collector]:
    binary = TESTENV_STATE / "otelcol"
    if not binary.exists():
        unavailable(request, "the test OpenTelemetry collector (scripts/testenv builds it)")
    c = Collector(binary, tmp_path)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()


def test_a_containerize_run_is_one_trace_with_the_expected_parents(
    collector: Collector, tmp_path: Path, docker_client: Any
) -> None:
    import shutil

    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(tmp_path / "home"),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)]),
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_SERVICE_NAME": "ck-test",
    }
    out = subprocess.run(
        [sys.executable, "-m", "containerkit", "containerize", str(repo), "--until", "build"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    import time

    time.sleep(1.5)  # the debug exporter writes as it receives
    spans = collector.spans()

    def named(name: str) -> dict[str, Any]:
        found = [s for s in spans if s["name"] == name]
        assert len(found) == 1, (name, [s["name"] for s in spans])
        return found[0]

    assert {s["trace"] for s in spans} and len({s["trace"] for s in spans}) == 1, "one trace"
    root = named("tool containerize")
    assert root["parent"] == "" and root["service"] == "ck-test"
    run = named("workflow run")
    assert run["parent"] == root["id"]
    run_id = run["attributes"]["containerkit.run"]
    for step in ("analyze", "dockerfile", "lint", "secrets", "build"):
        assert named(f"step {step}")["parent"] == run["id"], step
    build_tool = named("tool build_image")
    assert build_tool["parent"] == named("step build")["id"]
    assert named("engine build")["parent"] == build_tool["id"]
    hadolint = [s for s in spans if s["name"] == "exec hadolint"]  # the lint step's, and generate_dockerfile's own
    assert named("tool validate_dockerfile")["id"] in {s["parent"] for s in hadolint}
    under_run = [s for s in spans if s["name"] not in ("tool containerize",)]
    assert all(s["attributes"].get("containerkit.run") == run_id for s in under_run), "the run id on every span"
    assert all("password" not in json.dumps(s["attributes"]).lower() for s in spans)


def test_a_clients_traceparent_is_continued(
    receiver: Receiver, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    tracing.reset()
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    try:
        with tracing.remote_parent({"traceparent": f"00-{trace_id}-{parent_id}-01"}):
            harness.call("analyze_repository", path=str(FIXTURE_REPOS / "python-flask"))
    finally:
        tracing.reset()  # exports what is pending, and the next test reads the environment again
    span = receiver.named("tool analyze_repository")
    assert (span["trace"], span["parent"]) == (trace_id, parent_id)


def test_without_the_otel_variables_nothing_is_imported(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom containerkit import tracing\nwith tracing.span('x'):\n    pass\n"
        "print(tracing.enabled(), 'opentelemetry' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"
