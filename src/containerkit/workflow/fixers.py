"""Failure fixers: deterministic repairs first, then the MCP client's model (sampling), else a precise hint.

A fixer repairs the cause (regenerates the Dockerfile with a system package or the right port, rebuilds) through
the same tool registry, and tells the runner to retry the failed step with updated params.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
from pydantic import JsonValue

from containerkit.errors import BuildError, RolloutFailedError, SmokeTestError
from containerkit.tools.analysis import AnalyzeResult
from containerkit.tools.base import Services
from containerkit.tools.dockerfile import GenerateResult
from containerkit.tools.engine import BuildImageResult
from containerkit.tools.files import FileWrite, is_ours, write_file
from containerkit.tools.registry import REGISTRY
from containerkit.workflow.rules import FIXERS, RoutingRule, fixer
from containerkit.workflow.runner import FailureContext, RouteDecision

#: every fixer, these included: the routing takes them from here, so importing it registers them
__all__ = ["FIXERS"]

# log text -> Debian packages that fix it
SYSTEM_PACKAGES: list[tuple[re.Pattern[str], list[str]]] = [
    (re.compile(r"pg_config executable not found|libpq-fe\.h", re.I), ["gcc", "libpq-dev"]),
    (
        re.compile(r"mysql_config not found|mysql\.h: No such file", re.I),
        ["default-libmysqlclient-dev", "gcc", "pkg-config"],
    ),
    (re.compile(r"ffi\.h: No such file", re.I), ["gcc", "libffi-dev"]),
    (re.compile(r"openssl/\w+\.h: No such file", re.I), ["gcc", "libssl-dev"]),
    (re.compile(r"libxml/\w+\.h: No such file|xslt-config", re.I), ["gcc", "libxml2-dev", "libxslt1-dev"]),
    (re.compile(r"jpeglib\.h|zlib\.h: No such file", re.I), ["gcc", "libjpeg-dev", "zlib1g-dev"]),
    (re.compile(r"Python\.h: No such file", re.I), ["gcc", "python3-dev"]),
    (
        re.compile(
            r"(?:gcc|cc|g\+\+|make)['\"]?: (?:not found|No such file)|command '(?:gcc|x86_64-linux-gnu-gcc)' failed"
            r"|unable to execute '(?:gcc|x86_64-linux-gnu-gcc)'|No such file or directory: "
            r"'(?:gcc|cc|x86_64-linux-gnu-gcc)'"
            r"|gyp ERR! stack Error: not found: (?:make|g\+\+|cc)",
            re.I,
        ),
        ["build-essential"],
    ),
    (re.compile(r"gyp ERR! find Python|Could not find any Python installation to use", re.I), ["python3"]),
    (re.compile(r"git: not found|Cannot find command 'git'", re.I), ["git"]),
]


def _service_dir(failure: FailureContext) -> str | None:
    """The service directory the run's generate_dockerfile step wrote into (the build context)."""
    generated = failure.step_result("dockerfile", GenerateResult)
    return generated.service_dir if generated is not None else None


async def _call(services: Services, failure: FailureContext, tool: str, params: dict[str, Any]) -> Any:
    registry = failure.registry or REGISTRY  # the run's own registry; the global one for a fixer called alone
    return await registry.call(services, tool, {**params, "session_id": failure.session_id}, progress=failure.progress)


APPLY_HINT = (
    "review the diff, then resume the run with {param:apply_fixes} ({tool:resume_workflow RUN_ID --apply-fixes}) to "
    "write it (your file is kept as an artifact), or edit the file yourself and resume"
)


def _apply_hint(failure: FailureContext) -> str:
    return APPLY_HINT.replace("RUN_ID", failure.run_id)


async def _regenerate(services: Services, failure: FailureContext, **overrides: Any) -> str:
    """The Dockerfile generated with ``overrides`` (not written: :func:`_write_dockerfile` decides that)."""
    params = {"path": _service_dir(failure) or failure.input("path"), "write": False, **overrides}
    result = await _call(services, failure, "generate_dockerfile", params)
    return str(result.dockerfile)


async def _write_dockerfile(failure: FailureContext, content: str) -> FileWrite | None:
    """Write a fixed Dockerfile by the repository-file rules: ours is replaced, the user's only with apply_fixes or
    when the user agrees through the client (a proposal otherwise). None when the run has no service directory or no
    owning tool context."""
    service_dir = _service_dir(failure)
    ctx = failure.owner
    if not service_dir or ctx is None:
        return None
    target = Path(service_dir) / "Dockerfile"
    replace = failure.apply_fixes
    if not replace and target.is_file() and not is_ours(target.read_text(encoding="utf-8", errors="replace")):
        replace = await ctx.decide(
            "apply_fixes",
            f"The build failed ({failure.error.code}) and Container Kit has a fixed "
            f"Dockerfile. Write it over your {target}? Your file is kept as a session artifact.",
        )
    return write_file(ctx, Path(service_dir), target, content, replace=replace, kind="fix_dockerfile")


def _proposed(failure: FailureContext, write: FileWrite, what: str) -> RouteDecision:
    return RouteDecision(
        "give_up",
        f"{what}, but {write.path} is your file, so the fix was not written: the proposed Dockerfile is "
        f"artifact {write.proposal_artifact} (diff {write.diff_artifact}); {_apply_hint(failure)}",
        detail={"proposal": write.model_dump(mode="json")},
    )


def _applied(write: FileWrite) -> dict[str, JsonValue]:
    return {"file": write.model_dump(mode="json")} | (
        {"previous_artifact": write.previous_artifact} if write.previous_artifact else {}
    )


@fixer("missing_system_packages")
async def missing_system_packages(
    failure: FailureContext, services: Services, rule: RoutingRule
) -> RouteDecision | None:
    """A native build needs OS packages the Dockerfile lacks: regenerate with them and rebuild."""
    error = failure.error
    if not isinstance(error, BuildError):
        return None
    text = f"{error.message}\n{error.typed_details.get('log_tail', '')}"
    needed = sorted({pkg for pattern, pkgs in SYSTEM_PACKAGES if pattern.search(text) for pkg in pkgs})
    if not needed:
        return await dockerfile_by_model(failure, services, rule)
    content = await _regenerate(services, failure, extra_system_packages=needed)
    write = await _write_dockerfile(failure, content)
    what = f"the build needs the system packages {', '.join(needed)}"
    if write is None:
        return RouteDecision(
            "give_up",
            f"{what}: add them to the Dockerfile (apt-get install) and rebuild",
            detail={"packages": list[JsonValue](needed)},
        )
    if write.action == "proposed":
        return _proposed(failure, write, what)
    return RouteDecision(
        "retry",
        f"added system packages {', '.join(needed)} to the Dockerfile and rebuilt",
        detail={"packages": list[JsonValue](needed), **_applied(write)},
    )


@fixer("wrong_port")
async def wrong_port(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    """The app listens on another port than expected: regenerate the Dockerfile for that port, rebuild, smoke-test
    again."""
    error = failure.error
    if not isinstance(error, SmokeTestError):
        return None
    ports = error.typed_details.get("listening_ports", [])
    if not ports:
        return RouteDecision("give_up", "the app listens on no TCP port; check its start command and logs")
    port = ports[0]
    write = await _write_dockerfile(failure, await _regenerate(services, failure, port=port))
    if write is None:
        return RouteDecision(
            "give_up", f"the app listens on {port}: set EXPOSE and the start command's port to {port}, and rebuild"
        )
    if write.action == "proposed":
        return _proposed(failure, write, f"the app listens on {port}")
    built = failure.step_result("build", BuildImageResult)
    tags = built.tags if built is not None else []
    rebuilt = await _call(services, failure, "build_image", {"path": _service_dir(failure), "tags": tags[:1]})
    image = rebuilt.image_id if isinstance(rebuilt, BuildImageResult) else None
    return RouteDecision(
        "retry",
        f"the app listens on {port}: regenerated the Dockerfile for port {port} and rebuilt",
        params={"port": port, "image": image},
        detail={"port": port, "image": image, **_applied(write)},
    )


DOCKERFILE_PROMPT = """A container build failed. Return a corrected, complete Dockerfile and nothing else (no prose,
no code fences).

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
    error = failure.error
    if not isinstance(error, BuildError):
        return None
    details = error.typed_details
    generated = failure.step_result("dockerfile", GenerateResult)
    service_dir = generated.service_dir if generated is not None else None
    hint = (
        f"{error.code} at Dockerfile line {details.get('line')}: fix the Dockerfile in {service_dir} (see the error's "
        f"log tail), check it with {{tool:validate_dockerfile}}, then resume the run ({{tool:resume_workflow "
        f"{failure.run_id}}})"
    )
    if failure.sampler is None or not service_dir:
        return RouteDecision("give_up", hint)
    path = anyio.Path(service_dir) / "Dockerfile"
    current = await path.read_text()
    analyzed = failure.step_result("analyze", AnalyzeResult)
    analysis = analyzed.analysis.model_dump(mode="json") if analyzed is not None else {}
    prompt = DOCKERFILE_PROMPT.format(
        code=error.code,
        message=error.message,
        line=details.get("line"),
        tail=details.get("log_tail", "")[-3000:],
        analysis=str(analysis)[:4000],
        dockerfile=current,
    )
    answer = await failure.sampler.complete(
        prompt, system="You fix Dockerfiles. Answer with the Dockerfile only.", max_tokens=3000
    )
    candidate = re.sub(r"^```\w*\n|\n```\s*$", "", answer.strip()) + "\n"
    from containerkit.dockerfile.lint import lint

    findings = await lint(candidate, None, generated.port if generated is not None else None)
    errors = [f"{f.rule} line {f.line}: {f.message}" for f in findings if f.severity == "error"]
    if not candidate.lstrip().upper().startswith(("FROM", "ARG", "#")) or errors:
        return RouteDecision(
            "give_up",
            f"the model's Dockerfile was rejected ({'; '.join(errors[:3]) or 'not a Dockerfile'}); " + hint,
            detail={"sampling": "rejected", "errors": list[JsonValue](errors[:10])},
        )
    write = await _write_dockerfile(failure, candidate)
    if write is None:
        return RouteDecision("give_up", hint)
    if write.action == "proposed":
        decision = _proposed(failure, write, "the client's model corrected the Dockerfile (it lints without errors)")
        return RouteDecision(decision.action, decision.reason, detail={**decision.detail, "sampling": "proposed"})
    return RouteDecision(
        "retry",
        "the client's model corrected the Dockerfile (it lints without errors); rebuilding",
        detail={"sampling": "accepted", **_applied(write)},
    )


@fixer("explain_rollout")
async def explain_rollout(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision | None:
    error = failure.error
    if not isinstance(error, RolloutFailedError):
        return None
    diagnostics = error.typed_details.get("diagnostics") or error.details
    reasons = sorted(
        set(re.findall(r"CrashLoopBackOff|ImagePullBackOff|ErrImagePull|OOMKilled|Unschedulable", str(diagnostics)))
    )
    advice = {
        "ImagePullBackOff": "push the image to a registry the cluster can reach (or load it into kind)",
        "ErrImagePull": "push the image to a registry the cluster can reach (or load it into kind)",
        "OOMKilled": "raise the memory limit in the Deployment",
        "CrashLoopBackOff": (
            "read the container's last log lines in the error details and fix the app or its env/config"
        ),
        "Unschedulable": "lower the resource requests or add nodes",
    }
    what = "; ".join(f"{r}: {advice[r]}" for r in reasons) or "see the diagnostics in the error details"
    return RouteDecision(
        "give_up",
        f"the rollout failed ({', '.join(reasons) or 'unknown reason'}): {what}; "
        f"then resume the run ({{tool:resume_workflow {failure.run_id}}})",
        detail={"reasons": reasons},
    )
