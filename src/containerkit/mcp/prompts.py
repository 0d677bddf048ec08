"""MCP prompts, defined as data: name, description, arguments, and a render function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptArg:
    name: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class PromptSpec:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArg, ...]
    render: Callable[[Mapping[str, str]], str]


def _containerize(args: Mapping[str, str]) -> str:
    path = args.get("path", ".")
    registry = args.get("registry")
    push = f"and push it to `{registry}`" if registry else "(no registry given: stop after the scan)"
    registry_arg = f', "registry": "{registry}"' if registry else ""
    return f"""Containerize the application at `{path}` {push} with the Container Kit tools.

The quickest way is one call: `containerize` with `{{"path": "{path}"{registry_arg}}}`.
It runs analyze → Dockerfile → lint → build → smoke test → scan → tag → push → manifests and reports each step.

To drive the steps yourself, keep passing the same `session_id` (from the first result) so later tools see earlier
results:
1. `analyze_repository` {{"path": "{path}"}} — check the detected language, framework, port and health path.
2. `generate_dockerfile` {{"path": "{path}", "write": true}} — review the Dockerfile; if one existed, read the
   suggested improvements.
3. `validate_dockerfile` — fix every error-severity finding.
4. `build_image` — on failure read the error code and the log tail; `fix_failed_build` helps.
5. `smoke_test_image` — the image must answer on its port before it is handed over.
6. `scan_image` — report fixable findings and the remediation lines.
7. `tag_image` / `push_image` when a registry is given.
8. `generate_manifests` then `validate_manifests`; `deploy_application` only when the user asked to deploy.
Report what was detected and why, the files written, the image digest and the scan summary."""


def _fix_failed_build(args: Mapping[str, str]) -> str:
    session = args.get("session_id", "")
    return f"""A container build failed in Container Kit session `{session}`.

1. Call `get_session` {{"session_id": "{session}"}} and read the newest error: its code, the failing Dockerfile line
   and the log tail.
2. By code:
   - DOCKERFILE_SYNTAX: fix the instruction on the reported line.
   - COPY_SOURCE_MISSING: the COPY source is absent from the build context or excluded by .dockerignore.
   - DEPENDENCY_INSTALL_FAILED: a package install failed; look for a missing system package (e.g. libpq-dev, gcc)
     or a bad version pin.
   - BASE_IMAGE_NOT_FOUND: the FROM image/tag does not exist; choose an existing tag.
   - REGISTRY_AUTH: log in to the registry; do not retry without credentials.
   - NETWORK / TIMEOUT: retry once; check proxies and mirrors.
3. Write the corrected Dockerfile (`generate_dockerfile` with `force: true`, or edit it), run `validate_dockerfile`,
   then `build_image` again with the same session_id. If the run was a workflow, call `resume_workflow` with its
   run id."""


PROMPTS: tuple[PromptSpec, ...] = (
    PromptSpec(
        name="containerize_app",
        title="Containerize an application",
        description="Guide through analyze → Dockerfile → build → smoke test → scan → push → manifests with Container "
        "Kit tools.",
        arguments=(
            PromptArg("path", "Repository path or git URL."),
            PromptArg("registry", "Registry to push to (optional).", False),
        ),
        render=_containerize,
    ),
    PromptSpec(
        name="fix_failed_build",
        title="Fix a failed build",
        description="Read the failed build's error code, Dockerfile line and log tail, fix the cause and rebuild.",
        arguments=(PromptArg("session_id", "The session whose build failed."),),
        render=_fix_failed_build,
    ),
)
