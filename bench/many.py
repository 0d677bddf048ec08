"""Many repositories: ``containerize-many`` over generated small apps on one engine and on a pool of two, and the
store's cost per workflow step on SQLite and on PostgreSQL.

    .venv/bin/python bench/many.py [--repos 50] [--until build] [--store-runs 200]

(a) ``--repos`` small apps (a static site, a Go stdlib server and a Python stdlib server, in turn; each with a marker
    of its own, so nothing comes from the build cache but the base images and toolchain layers), containerized up to
    ``--until`` with ``parallel`` 2 on the default engine, then a second set of the same size with ``parallel`` 4 on a
    pool of the default engine and the second one scripts/testenv runs. Both engines are warmed first (base images
    pulled). Prints repositories per minute for each and the speed-up. Both engines share this machine's cores.
(b) the store operations of one workflow step (step running, job begun, job ended, step succeeded with outputs, an
    event), timed over ``--store-runs`` runs of 12 steps on SQLite and on PostgreSQL (scripts/testenv's), alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE1 = "unix:///var/run/docker.sock"
ENGINE2_FILE = Path("/var/lib/containerkit-testenv/engine2")
PG_FILE = Path("/var/lib/containerkit-testenv/postgres.url")

PY_APP = """from http.server import BaseHTTPRequestHandler, HTTPServer
import os

MARKER = "{marker}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(MARKER.encode())


HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
"""
GO_APP = """package main

import "net/http"

const marker = "{marker}"

func main() {{
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {{ w.Write([]byte(marker)) }})
	http.ListenAndServe(":8080", nil)
}}
"""


def generate(root: Path, count: int, prefix: str) -> Path:
    """``count`` small apps under ``root/prefix``, each with its own marker."""
    base = root / prefix
    for i in range(count):
        marker = uuid.uuid4().hex
        app = base / f"{prefix}-{i:02d}"
        app.mkdir(parents=True)
        kind = i % 3
        if kind == 0:
            (app / "index.html").write_text(f"<!doctype html><title>{marker}</title><p>{marker}</p>\n")
        elif kind == 1:
            (app / "go.mod").write_text(f"module example.com/app{i}\n\ngo 1.22\n")
            (app / "main.go").write_text(GO_APP.format(marker=marker))
        else:
            (app / "app.py").write_text(PY_APP.format(marker=marker))
            (app / "requirements.txt").write_text("")
    return base


def containerize_many(source: Path, home: Path, pool: list[str], parallel: int, until: str) -> tuple[float, dict]:
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(home),
        "CONTAINERKIT_CONFIG": str(home / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(source.parent)]),
        "CONTAINERKIT_ENGINE__POOL": json.dumps(pool),
    }
    cmd = [sys.executable, "-m", "containerkit", "containerize-many", str(source), "--parallel", str(parallel)]
    cmd += ["--until", until, "--json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=7200)
    elapsed = time.perf_counter() - t0
    try:
        return elapsed, json.loads(out.stdout)
    except ValueError:
        sys.exit(f"containerize-many printed no report (exit {out.returncode}):\n{out.stderr[-2000:]}")


def bench_engines(repos: int, until: str, tmp: Path) -> None:
    if not ENGINE2_FILE.exists():
        print("(a) skipped: no second engine (run scripts/testenv)")
        return
    engine2 = ENGINE2_FILE.read_text().strip()
    for engine in (ENGINE1, engine2):  # base images and toolchain layers onto both engines, untimed
        containerize_many(generate(tmp, 3, f"warm{abs(hash(engine)) % 1000}"), tmp / "home-warm", [engine], 3, until)
    rows = []
    for label, pool, parallel, prefix in (
        ("one engine, parallel 2", [ENGINE1], 2, "one"),
        ("pool of two engines, parallel 4", [ENGINE1, engine2], 4, "two"),
    ):
        elapsed, report = containerize_many(generate(tmp, repos, prefix), tmp / f"home-{prefix}", pool, parallel, until)
        per_min = report["succeeded"] / elapsed * 60
        rows.append((label, elapsed, report, per_min))
        failures = [f"{Path(r['target']).name}: {r['failure']}" for r in report["repos"] if r["outcome"] == "failed"]
        print(
            f"(a) {label:<34} {report['succeeded']}/{report['total']} succeeded in {elapsed:6.1f} s: "
            f"{per_min:5.1f} repositories/min"
        )
        for line in failures[:5]:
            print(f"      failed: {line[:200]}")
    print(f"(a) speed-up of the pool of two: {rows[1][3] / rows[0][3]:.2f}x (repositories per minute)")


def bench_store(runs: int, tmp: Path) -> None:
    from containerkit.store import SessionStore

    backends = [("SQLite", str(tmp / "bench.db"))]
    if PG_FILE.exists():
        import psycopg

        base = PG_FILE.read_text().strip()
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        backends.append(("PostgreSQL", f"{base}?options=-csearch_path%3D{schema}"))
    else:
        schema = ""
        print("(b) PostgreSQL skipped: no /var/lib/containerkit-testenv/postgres.url")
    stores = {name: SessionStore(location, tmp / f"ws-{name}") for name, location in backends}
    sessions = {name: store.create_session().id for name, store in stores.items()}
    steps = [f"s{i}" for i in range(12)]
    samples: dict[str, list[float]] = {name: [] for name in stores}
    outputs = {"image_id": "sha256:" + "0" * 64, "tags": ["app:1"], "size_bytes": 123456, "notes": ["x" * 200]}
    for _ in range(runs):
        for name, store in stores.items():  # alternating: both see the same machine
            run_id = store.runs.create(sessions[name], "bench", {"steps": steps}, {}, steps, os.getpid(), lease_s=30)
            for step in steps:
                t0 = time.perf_counter()
                store.runs.set_step(run_id, step, "running", attempt=True)
                _, job = store.begin_job(sessions[name], "build_image", {"path": "/srv/app"})
                store.end_job(job, "succeeded", tool="build_image")
                store.runs.set_step(run_id, step, "succeeded", outputs=outputs, job_id=job)
                store.runs.add_event(run_id, "route", {"step": step})
                samples[name].append(time.perf_counter() - t0)
    for name, values in samples.items():
        ordered = sorted(values)
        p95 = ordered[int(0.95 * len(ordered))]
        print(
            f"(b) store cost per workflow step on {name:<10} n={len(values)}  "
            f"median {statistics.median(values) * 1e3:6.2f} ms  p95 {p95 * 1e3:6.2f} ms"
        )
    if len(samples) == 2:
        ratio = statistics.median(samples["PostgreSQL"]) / statistics.median(samples["SQLite"])
        print(f"(b) PostgreSQL / SQLite (median): {ratio:.2f}x")
    for store in stores.values():
        store.close()
    if schema:
        import psycopg

        with psycopg.connect(PG_FILE.read_text().strip(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--until", default="build")
    parser.add_argument("--store-runs", type=int, default=200)
    parser.add_argument("--skip-engines", action="store_true", help="only the store part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ck-bench-many-", dir="/var/tmp") as tmp:
        bench_store(args.store_runs, Path(tmp))
        if not args.skip_engines:
            bench_engines(args.repos, args.until, Path(tmp))


if __name__ == "__main__":
    main()
