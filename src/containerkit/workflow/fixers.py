"""Failure fixers: deterministic repairs first, then the MCP client's model (sampling), else a precise hint.

A fixer repairs the cause (regenerates the Dockerfile with a system package or the right port, rebuilds) through
the same tool registry, and tells the runner to retry the failed step with updated params.
"""

from __future__ import annotations

import re
from typing import Any

import anyio

from containerkit.tools.base import Services
from containerkit.tools.registry import REGISTRY
from containerkit.workflow.routing import RoutingRule, fixer
from containerkit.workflow.runner import FailureContext, RouteDecision

# log text -> Debian packages that fix it
SYSTEM_PACKAGES: list[tuple[re.Pattern[str], list[str]]] = [
    (re.compile(r"pg_config executable not found|libpq-fe\.h", re.I), ["gcc", "libpq-dev"]),
    (re.compile(r"mysql_config not found|mysql\.h: No such file", re.I), ["default-libmysqlclient-dev", "gcc", "pkg-config"]),
    (re.compile(r"ffi\.h: No such file", re.I), ["gcc", "libffi-dev"]),
    (re.compile(r"openssl/\w+\.h: No such file", re.I), ["gcc", "libssl-dev"]),
    (re.compile(r"libxml/\w+\.h: No such file|xslt-config", re.I), ["gcc", "libxml2-dev", "libxslt1-dev"]),
    (re.compile(r"jpeglib\.h|zlib\.h: No such file", re.I), ["gcc", "libjpeg-dev", "zlib1g-dev"]),
    (re.compile(r"Python\.h: No such file", re.I), ["gcc", "python3-dev"]),
    (re.compile(r"(?:gcc|cc|g\+\+|make)['\"]?: (?:not found|No such file)|command '(?:gcc|x86_64-linux-gnu-gcc)' failed"
                r"|unable to execute '(?:gcc|x86_64-linux-gnu-gcc)'", re.I), ["build-essential"]),
    (re.compile(r"git: not found|Cannot find command 'git'", re.I), ["git"]),
]


def _outputs(failure: FailureContext, step: str) -> dict[str, Any]:
    found = failure.context.get("steps", {}).get(step) or {}
    return found.get("outputs") or {}


async def _call(services: Services, failure: FailureContext, tool: str, params: dict[str, Any]) -> Any:
    return await REGISTRY.call(services, tool, {**params, "session_id": failure.session_id}, progress=failure.progress)


async def _regenerate(services: Services, failure: FailureContext, **overrides: Any) -> dict[str, Any]:
    dockerfile = _outputs(failure, "dockerfile")
    params = {"path": dockerfile.get("service_dir") or failure.context.get("inputs", {}).get("path"), "write": True, "force": True,
              **overrides}
    result = await _call(services, failure, "generate_dockerfile", params)
    return dict(result.model_dump(mode="json"))


@fixer("missing_system_packages")
async def missing_system_packages(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    """A native build needs OS packages the Dockerfile lacks: regenerate with them and rebuild."""
    text = f"{failure.error.message}\n{failure.error.details.get('tail', '')}"
    needed = sorted({pkg for pattern, pkgs in SYSTEM_PACKAGES if pattern.search(text) for pkg in pkgs})
    if not needed:
        return await dockerfile_by_model(failure, services, rule)
    regenerated = await _regenerate(services, failure, extra_system_packages=needed)
    return RouteDecision("retry", f"added system packages {', '.join(needed)} to the Dockerfile and rebuilt",
                         detail={"packages": needed, "dockerfile": regenerated.get("written")})


@fixer("wrong_port")
async def wrong_port(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    """The app listens on another port than expected: regenerate the Dockerfile for that port, rebuild, smoke-test again."""
    listed = failure.error.details.get("listening_ports")
    ports = [int(str(p)) for p in (listed if isinstance(listed, list) else []) if str(p).isdigit()]
    if not ports:
        return RouteDecision("give_up", "the app listens on no TCP port; check its start command and logs")
    port = ports[0]
    await _regenerate(services, failure, port=port)
    build = _outputs(failure, "build")
    dockerfile = _outputs(failure, "dockerfile")
    tags = build.get("tags") or []
    rebuilt = await _call(services, failure, "build_image", {"path": dockerfile.get("service_dir"), "tags": tags[:1]})
    image = rebuilt.model_dump().get("image_id")
    return RouteDecision("retry", f"the app listens on {port}: regenerated the Dockerfile for port {port} and rebuilt",
                         params={"port": port, "image": image}, detail={"port": port, "image": image})


DOCKERFILE_PROMPT = """A container build failed. Return a corrected, complete Dockerfile and nothing else (no prose, no code fences).

Error code: {code}
Error: {message}
Failing Dockerfile line: {line}
Build log (last lines):
{tail}

Application analysis (JSON):
{analysis}

Current Dockerfile:
{dockerfile}
"""


@fixer("dockerfile_by_model")
async def dockerfile_by_model(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    """Ask the MCP client's model for a corrected Dockerfile; use it only if it lints without errors."""
    dockerfile_out = _outputs(failure, "dockerfile")
    service_dir = dockerfile_out.get("service_dir")
    hint = (f"{failure.error.code} at Dockerfile line {failure.error.details.get('line')}: fix the Dockerfile in {service_dir} "
            "(see the error's log tail), check it with validate_dockerfile, then call resume_workflow with this run id")
    if failure.sampler is None or not service_dir:
        return RouteDecision("give_up", hint)
    path = anyio.Path(service_dir) / "Dockerfile"
    current = await path.read_text()
    analysis = failure.context.get("steps", {}).get("analyze", {}).get("outputs", {}).get("analysis", {})
    prompt = DOCKERFILE_PROMPT.format(code=failure.error.code, message=failure.error.message, line=failure.error.details.get("line"),
                                      tail=str(failure.error.details.get("tail", ""))[-3000:], analysis=str(analysis)[:4000],
                                      dockerfile=current)
    answer = await failure.sampler.complete(prompt, system="You fix Dockerfiles. Answer with the Dockerfile only.", max_tokens=3000)
    candidate = re.sub(r"^```\w*\n|\n```\s*$", "", answer.strip()) + "\n"
    from containerkit.dockerfile.lint import lint

    findings = await lint(candidate, None, dockerfile_out.get("port"))
    errors = [f"{f.rule} line {f.line}: {f.message}" for f in findings if f.severity == "error"]
    if not candidate.lstrip().upper().startswith(("FROM", "ARG", "#")) or errors:
        return RouteDecision("give_up", f"the model's Dockerfile was rejected ({'; '.join(errors[:3]) or 'not a Dockerfile'}); " + hint,
                             detail={"sampling": "rejected", "errors": errors[:10]})
    await path.write_text(candidate)
    return RouteDecision("retry", "the client's model corrected the Dockerfile (it lints without errors); rebuilding",
                         detail={"sampling": "accepted"})


@fixer("explain_rollout")
async def explain_rollout(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    diagnostics = failure.error.details.get("diagnostics") or failure.error.details
    reasons = sorted(set(re.findall(r"CrashLoopBackOff|ImagePullBackOff|ErrImagePull|OOMKilled|Unschedulable", str(diagnostics))))
    advice = {
        "ImagePullBackOff": "push the image to a registry the cluster can reach (or load it into kind)",
        "ErrImagePull": "push the image to a registry the cluster can reach (or load it into kind)",
        "OOMKilled": "raise the memory limit in the Deployment",
        "CrashLoopBackOff": "read the container's last log lines in the error details and fix the app or its env/config",
        "Unschedulable": "lower the resource requests or add nodes",
    }
    what = "; ".join(f"{r}: {advice[r]}" for r in reasons) or "see the diagnostics in the error details"
    return RouteDecision("give_up", f"the rollout failed ({', '.join(reasons) or 'unknown reason'}): {what}; then resume_workflow",
                         detail={"reasons": reasons})
