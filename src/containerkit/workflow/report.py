"""The containerize report: what was detected and why, files written, image, findings, manifests, deploy status."""

from __future__ import annotations

from typing import Any

from containerkit.store.runs import RunRecord

STATE_ICON = {"succeeded": "✔", "failed": "✘", "skipped": "–", "cancelled": "⊘", "pending": "…", "running": "…"}


def _out(run: RunRecord, step: str) -> dict[str, Any]:
    found = next((s for s in run.steps if s.step_id == step), None)
    return found.outputs or {} if found is not None else {}


def build_report(run: RunRecord) -> dict[str, Any]:
    analysis = _out(run, "analyze").get("analysis", {})
    dockerfile = _out(run, "dockerfile")
    build = _out(run, "build")
    smoke = _out(run, "smoke")
    scan = _out(run, "scan")
    secrets = _out(run, "secrets").get("report") or {}
    push = _out(run, "push")
    manifests = _out(run, "manifests")
    deploy = _out(run, "deploy")
    verify = _out(run, "verify")
    services = []
    for svc in analysis.get("services", []):
        why = {
            e["field"]: f"{e['file']}{':' + str(e['line']) if e.get('line') else ''} — {e['detail']}"
            for e in svc.get("evidence", [])
        }
        services.append(
            {k: svc.get(k) for k in ("path", "language", "language_version", "framework", "port", "health_path")}
            | {"why": why}
        )
    return {
        "run_id": run.id,
        "status": run.status,
        "steps": [
            {
                "id": s.step_id,
                "status": s.status,
                "attempts": s.attempts,
                "error_code": s.error_code,
                "reason": s.reason,
                "duration_s": round(s.ended_at - s.started_at, 2) if s.ended_at and s.started_at else None,
            }
            for s in run.steps
        ],
        "detected": services,
        "files_written": dockerfile.get("written", []),
        "dockerfile_findings": [f for f in dockerfile.get("findings", []) if f.get("severity") == "error"],
        "image": {
            k: build.get(k)
            for k in ("image_id", "tags", "size_bytes", "layers", "duration_s", "cache", "strategy")
            if k in build
        },
        "smoke": {
            k: smoke.get(k) for k in ("passed", "port", "status_code", "listening_ports", "duration_s") if k in smoke
        },
        "secrets": (
            {
                "summary": secrets.get("summary"),
                "found": len(secrets.get("findings") or []),
                "warnings": secrets.get("warnings") or [],
            }
            if secrets
            else {}
        ),
        "scan": {
            k: v
            for k, v in (scan.get("report") or {}).items()
            if k in ("summary", "counts", "fixable", "total", "remediation")
        },
        "push": {
            k: v
            for k, v in (push.get("transfer") or {}).items()
            if k in ("reference", "digest", "verified", "attempts")
        },
        "manifests": {k: manifests.get(k) for k in ("out_dir", "files", "format") if k in manifests},
        "deploy": _deploy_summary(deploy, verify),
    }


def _deploy_summary(deploy: dict[str, Any], verify: dict[str, Any]) -> dict[str, Any]:
    if not deploy:
        return {}
    out: dict[str, Any] = {k: deploy.get(k) for k in ("context", "namespace", "server_version") if k in deploy}
    out["applied"] = len(deploy.get("applied") or [])
    out["rollouts"] = [
        f"{r['name']}: {r['ready_replicas']}/{r['replicas']} ready, revision {r.get('revision')}"
        for r in deploy.get("rollouts") or []
    ]
    probe = verify.get("probe") or {}
    if probe:
        out["probe"] = f"GET {probe.get('proxy_path')} -> {probe.get('status_code')}"
    return out


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Containerize report — run {report['run_id']} ({report['status']})",
        "",
        "## Steps",
        "",
        "| step | state | time | note |",
        "|---|---|---|---|",
    ]
    for s in report["steps"]:
        note = s["error_code"] or s["reason"] or ""
        lines.append(
            f"| {s['id']} | {STATE_ICON.get(s['status'], '')} {s['status']} | {s['duration_s'] or ''} | {note} |"
        )
    lines += ["", "## Detected", ""]
    for svc in report["detected"]:
        lines.append(
            f"- **{svc['path']}**: {svc['language']} {svc.get('language_version') or ''} "
            f"{svc.get('framework') or ''}, port {svc.get('port') or '-'}, health {svc.get('health_path') or '-'}"
        )
        for field, why in svc["why"].items():
            lines.append(f"  - {field}: {why}")
    if report["files_written"]:
        lines += ["", "## Files written", "", *[f"- `{f}`" for f in report["files_written"]]]
    for title, key in (
        ("Secrets in the build context", "secrets"),
        ("Image", "image"),
        ("Smoke test", "smoke"),
        ("Scan", "scan"),
        ("Push", "push"),
        ("Manifests", "manifests"),
        ("Deploy", "deploy"),
    ):
        if report[key]:
            lines += ["", f"## {title}", "", *[f"- {k}: `{v}`" for k, v in report[key].items()]]
    return "\n".join(lines) + "\n"
