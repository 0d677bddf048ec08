"""The real-app corpus, end to end: analyze → generate → lint → build → smoke → stop → manifests validate.

    .venv/bin/python bench/corpus.py [--only ID ...] [--category go ...] [--no-build] [--results FILE]

Every step runs the `containerkit` CLI with `--json`, as a user or a CI job would, on a fresh copy of each
app extracted by bench/corpus/extract.py from its fetched snapshot (CK_CORPUS_MIRRORS, default /work/.mirror).
Per app it records whether the analysis found the language, framework
and port of the ground truth (read from the app's own files, see apps.json), whether the generated Dockerfile
lints clean, builds, answers (HTTP below 500 on the truth's path, or TCP) on the port the analysis reported,
runs as a non-root user and stops within 2 s of SIGTERM, and whether the generated manifests validate.
Results are appended to a JSON-lines file as each app finishes (so a long run can be read while it goes and
resumed with --skip-done); the table per category, the totals and the reason of every miss are printed at
the end. The figures in docs/benchmarks.md come from here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "corpus"))
import extract  # noqa: E402  (bench/corpus/extract.py)
import services  # noqa: E402  (bench/corpus/services.py: the backing services apps.json's `needs` name)

from containerkit.sandbox import smoke  # noqa: E402  (the smoke run's own readings of an image and its sockets)

MIRRORS = Path(os.environ.get("CK_CORPUS_MIRRORS", "/work/.mirror"))
APPS = HERE / "corpus" / "apps.json"
CK = [str(Path(sys.executable).with_name("containerkit"))]
STEPS = ("language", "framework", "port", "generated", "linted", "built", "answering", "non_root", "stops", "manifests")


def ck(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, dict[str, Any], str]:
    """Run one CLI command with --json; (exit code, parsed result or {"error": ...}, stderr tail)."""
    try:
        proc = subprocess.run(
            [*CK, *args, "--json"], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return 124, {"error": {"code": "BENCH_TIMEOUT", "message": f"{args[0]} took over {timeout:.0f} s"}}, ""
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {"error": {"code": "BENCH_BAD_JSON", "message": proc.stdout[-300:]}}
    return proc.returncode, data if isinstance(data, dict) else {"value": data}, proc.stderr[-500:]


def reason(data: dict[str, Any], stderr: str = "") -> str:
    err = data.get("error")
    if isinstance(err, dict):
        message = str(err.get("message", "")).splitlines()[0][:400] if err.get("message") else ""
        return f"{err.get('code')}: {message}"
    return stderr.strip().splitlines()[-1][:160] if stderr.strip() else "failed"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def listening(cid: str, port: int, deadline_s: float) -> bool:
    """The container listens on ``port`` (its own sockets, as the smoke run reads them): a connection to the published
    port proves nothing, since the engine's proxy accepts it before the app listens."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        pid = docker("inspect", "-f", "{{.State.Pid}}", cid).stdout.strip()
        if pid.isdigit() and port in smoke.listening(int(pid)):
            return True
        time.sleep(0.5)
    return False


def stop_seconds(image: str, port: int | None, app_env: dict[str, str]) -> tuple[float | None, str]:
    """Start the image, let it come up (accept connections on its port, or run 4 s when it has none), and time
    `docker stop` (SIGTERM, then SIGKILL after 10 s): a JVM still starting up takes longer to stop."""
    # as the cluster runs it (and the smoke run): read-only root, the paths the image labels writable on tmpfs
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image).stdout or "{}")
    mounts = [arg for path, options in smoke.writable_tmpfs(config).items() for arg in ("--tmpfs", f"{path}:{options}")]
    env_args = [arg for key, value in app_env.items() for arg in ("-e", f"{key}={value}")]
    run = docker("run", "-d", "--read-only", "--tmpfs", "/tmp", *mounts, *env_args, image)
    if run.returncode != 0:
        return None, run.stderr.strip()[-160:]
    cid = run.stdout.strip()
    try:
        if port:
            up = listening(cid, port, 90)
        else:
            time.sleep(4)
        state = docker("inspect", "-f", "{{.State.Running}}", cid).stdout.strip()
        if state != "true":
            return None, "not running after start"
        if port and not up:
            return None, f"not accepting connections on {port} within 90 s"
        t0 = time.perf_counter()
        docker("stop", "-t", "10", cid, timeout=30)
        seconds = time.perf_counter() - t0
        code = docker("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip()
        # 137: SIGKILL after the 10 s; anything else: the app ended on SIGTERM (an app may drain on purpose first)
        return seconds, "" if seconds <= 2.0 else f"took {seconds:.1f} s after SIGTERM (exit code {code}: " + (
            "killed, it ignored SIGTERM)" if code == "137" else "it ended on SIGTERM, after its own shutdown delay)"
        )
    finally:
        docker("rm", "-f", cid)


def image_user(image: str) -> str:
    return docker("image", "inspect", "-f", "{{.Config.User}}", image).stdout.strip()


def run_app(app: dict[str, Any], root: Path, home: Path, build: bool) -> dict[str, Any]:
    app_dir = extract.extract(app, MIRRORS, root, fresh=True)  # a clean copy: no Dockerfile of an earlier run
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(home),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(root), str(home)]),
        "NO_COLOR": "1",
    }
    out: dict[str, Any] = {"id": app["id"], "category": app["category"], "needs": app["needs"], "misses": {}}
    miss = out["misses"]
    service = app.get("service") or "."
    started = time.perf_counter()
    _, analysis, err = ck(["analyze", str(app_dir)], env, 120)
    found = next((s for s in analysis.get("services", []) if s.get("path") == service), None)
    if found is None:
        paths = [s.get("path") for s in analysis.get("services", [])]
        why = reason(analysis, err) if "error" in analysis else f"no service at {service} (found {paths})"
        for step in ("language", "framework", "port"):
            miss[step] = why
    else:
        out["language"] = found["language"] == app["language"]
        out["framework"] = found.get("framework") == app["framework"]
        if app["port"] is None:
            out["port"] = bool(found.get("serves_http")) and found.get("port") is not None
        else:
            out["port"] = found.get("port") == app.get("container_port", app["port"])
        for step, got in (
            ("language", found["language"]),
            ("framework", found.get("framework")),
            ("port", found.get("port")),
        ):
            if not out[step]:
                want = app[step] if step != "port" or app["port"] is not None else "a served port"
                miss[step] = f"found {got!r}, truth {want!r}"
    # a user names the service when the repository has several (the CLI's error says so); the truth names it here
    several = len(analysis.get("services", [])) > 1
    svc_args = ["--service", service] if service != "." or several else []
    code, generated, err = ck(["dockerfile", str(app_dir), "--write", "--force", *svc_args], env, 120)
    out["generated"] = code == 0 and "error" not in generated
    if not out["generated"]:
        miss["generated"] = reason(generated, err)
        return finish(out, started)
    service_dir = Path(generated.get("service_dir") or app_dir)
    code, lint, err = ck(["lint", str(service_dir / "Dockerfile")], env, 120)
    out["linted"] = code == 0
    if not out["linted"]:
        errors = [
            f"{f.get('code')}: {f.get('message')}" for f in lint.get("findings", []) if f.get("severity") == "error"
        ]
        miss["linted"] = "; ".join(errors)[:200] or reason(lint, err)
    port = (found or {}).get("port")
    image = f"ck-corpus/{app['id']}:bench"
    with tempfile.TemporaryDirectory(dir=home) as tmp:
        code, manifests, err = ck(
            ["manifests", "generate", str(app_dir), *svc_args, "--image", image, "--out", tmp], env, 120
        )
        if code == 0:
            code, checked, err = ck(["manifests", "validate", tmp], env, 120)
            out["manifests"] = code == 0
            if code:
                miss["manifests"] = "; ".join(
                    f"{f.get('code')}: {f.get('message')}"
                    for f in checked.get("findings", [])
                    if f.get("severity") == "error"
                )[:200] or reason(checked, err)
        else:
            out["manifests"] = False
            miss["manifests"] = reason(manifests, err)
    if not build:
        return finish(out, started)
    t0 = time.perf_counter()
    code, built, err = ck(["build", str(service_dir), "--tag", image, "--timeout", "1500"], env, 1600)
    out["build_s"] = round(time.perf_counter() - t0, 1)
    out["built"] = code == 0 and "error" not in built
    if not out["built"]:
        details = (built.get("error") or {}).get("details") or {}
        tail = details.get("log_tail") or details.get("tail") or ""
        last = [line for line in str(tail).splitlines() if line.strip()][-1:] if tail else []
        miss["built"] = reason(built, err) + (f" | {last[0][:200]}" if last else "")
        return finish(out, started)
    user = image_user(image)
    out["non_root"] = bool(user) and user.split(":")[0] not in ("root", "0")
    if not out["non_root"]:
        miss["non_root"] = f"USER is {user or 'unset'}"
    with services.running(app["needs"]) as addresses:
        # the configuration the app's own deployment gives it (apps.json `env`, from its files), with the services'
        # addresses; then what its own entrypoint runs before the server (apps.json `setup`: migrations)
        app_env = services.render(app.get("env", {}), addresses)
        out["services"] = sorted(name for name in app["needs"] if name in services.SERVICES)
        for command in app.get("setup", []):
            done = docker(
                "run",
                "--rm",
                *[a for k, v in app_env.items() for a in ("-e", f"{k}={v}")],
                image,
                *command,
                timeout=300,
            )
            if done.returncode != 0:
                miss["answering"] = f"setup {' '.join(command)} failed: {(done.stderr or done.stdout).strip()[-200:]}"
                out["answering"] = False
                return finish(out, started)
        return smoke_and_stop(app, image, port, app_env, env, out, started)


def smoke_and_stop(
    app: dict[str, Any],
    image: str,
    port: int | None,
    app_env: dict[str, str],
    env: dict[str, str],
    out: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    miss = out["misses"]
    protocol = app["answer"]["protocol"]
    smoke_args = ["smoke", image, "--timeout", "90", *[a for k, v in app_env.items() for a in ("--env", f"{k}={v}")]]
    if port is not None and protocol != "none":
        smoke_args += ["--port", str(port), "--protocol", protocol]
        if protocol == "http":
            smoke_args += ["--path", app["answer"].get("path", "/")]
    else:
        smoke_args += ["--protocol", "none"]
    code, smoke, err = ck(smoke_args, env, 200)
    out["answering"] = code == 0 and "error" not in smoke
    if not out["answering"]:
        details = (smoke.get("error") or {}).get("details") or {}
        tail = [line for line in str(details.get("tail") or "").splitlines() if line.strip()][-1:]
        miss["answering"] = reason(smoke, err) + (f" | {tail[0][:200]}" if tail else "")
    seconds, why = stop_seconds(image, port if protocol != "none" else None, app_env)
    out["stop_s"] = None if seconds is None else round(seconds, 2)
    out["stops"] = seconds is not None and seconds <= 2.0
    if not out["stops"]:
        miss["stops"] = why
    return finish(out, started)


def finish(out: dict[str, Any], started: float) -> dict[str, Any]:
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def table(results: list[dict[str, Any]]) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups[r["category"]].append(r)
    head = f"| category | apps | {' | '.join(STEPS)} |"
    lines = [head, "|" + "---|" * (len(STEPS) + 2)]

    def row(name: str, rs: list[dict[str, Any]]) -> str:
        cells = []
        for step in STEPS:
            tried = [r for r in rs if step in r]
            ok = sum(1 for r in tried if r[step])
            cells.append(f"{ok}/{len(tried)}" if tried else "-")
        return f"| {name} | {len(rs)} | {' | '.join(cells)} |"

    for name in sorted(groups):
        lines.append(row(name, groups[name]))
    lines.append(row("**total**", results))
    standalone = [r for r in results if not unmet(r) and "answering" in r]
    lines.append("")
    lines.append(
        "answering, apps whose backing services run here: "
        f"{sum(1 for r in standalone if r['answering'])}/{len(standalone)}"
    )
    return "\n".join(lines)


def unmet(result: dict[str, Any]) -> list[str]:
    """The backing services the app needs that bench/corpus/services.py cannot run here."""
    return [name for name in result["needs"] if name not in services.SERVICES]


def misses(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        for step, why in r["misses"].items():
            needs = f" (needs {', '.join(unmet(r))}, not run here)" if unmet(r) and step == "answering" else ""
            lines.append(f"- {r['id']} · {step}{needs}: {why}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/var/tmp/containerkit-corpus"))
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--category", nargs="*", default=[])
    parser.add_argument("--no-build", action="store_true", help="analysis, generation, lint and manifests only")
    parser.add_argument("--results", type=Path, default=Path("/var/tmp/containerkit-corpus/results.jsonl"))
    parser.add_argument("--skip-done", action="store_true", help="keep the results already in --results")
    parser.add_argument("--report", action="store_true", help="print the table of --results and exit")
    args = parser.parse_args()
    apps = json.loads(APPS.read_text())["apps"]
    apps = [
        a
        for a in apps
        if (not args.only or a["id"] in args.only) and (not args.category or a["category"] in args.category)
    ]
    done: dict[str, dict[str, Any]] = {}
    if (args.skip_done or args.report) and args.results.is_file():
        for line in args.results.read_text().splitlines():
            item = json.loads(line)
            done[item["id"]] = item
    if not args.report:
        missing = [a["repo"] for a in apps if not (MIRRORS / a["repo"].replace("/", "+") / "repo").is_dir()]
        if missing:
            raise SystemExit(
                f"no snapshot of {', '.join(sorted(set(missing)))} under {MIRRORS}: fetch them first "
                "(github:OWNER/NAME)"
            )
        if not args.skip_done:
            args.results.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as home:
            for app in apps:
                if app["id"] in done:
                    continue
                result = run_app(app, args.root, Path(home), build=not args.no_build)
                done[app["id"]] = result
                with args.results.open("a") as fh:
                    fh.write(json.dumps(result) + "\n")
                flags = " ".join(f"{s}={'ok' if result[s] else 'MISS'}" for s in STEPS if s in result)
                print(f"{app['id']}: {flags} ({result['seconds']} s)", flush=True)
    # the ground truth's backing services as apps.json says now (a corrected truth applies to earlier results too)
    results = [{**done[a["id"]], "needs": a["needs"]} for a in apps if a["id"] in done]
    print()
    print(table(results))
    print()
    print(misses(results))


if __name__ == "__main__":
    main()
