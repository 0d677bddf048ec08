"""Hints that name the caller's own surface.

A hint names a next step as ``{tool:NAME}`` or ``{tool:NAME ARGS}``, never as a CLI command: the CLI renders it as
the command (```containerkit db update```), the MCP server as the tool (```db_update``` tool). ``{param:NAME}``
names a parameter: ``--name`` on the CLI (``{param:NAME --flag}`` when the flag differs), ``name`` over MCP.
:data:`CLI_COMMANDS` is the one map from tool to
command; a test checks that every tool a hint names is registered and that every command here exists.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Surface = Literal["cli", "mcp"]

#: tool name -> the CLI command that calls it (words after ``containerkit``).
CLI_COMMANDS: dict[str, str] = {
    "add_session_label": "sessions label",
    "analyze_repository": "analyze",
    "build_image": "build",
    "cancel_workflow": "workflow cancel",
    "containerize": "containerize",
    "containerize_many": "containerize-many",
    "db_status": "db status",
    "db_update": "db update",
    "delete_session": "sessions delete",
    "deploy_application": "deploy",
    "execute_custom_workflow": "workflow run",
    "execute_workflow": "containerize",
    "generate_dockerfile": "dockerfile",
    "generate_manifests": "manifests generate",
    "generate_sbom": "sbom",
    "get_job_status": "jobs show",
    "get_session": "sessions show",
    "get_workflow_status": "workflow status",
    "inspect_image": "inspect",
    "list_sessions": "sessions list",
    "list_workflow_runs": "workflow list",
    "prepare_cluster": "cluster create",
    "pull_image": "pull",
    "push_image": "push",
    "registry_tags": "registry tags",
    "remove_session_label": "sessions label --remove",
    "resume_workflow": "workflow resume",
    "retag_image": "registry retag",
    "run_sandboxed": "sandbox run",
    "scan_image": "scan",
    "scan_secrets": "scan-secrets",
    "server_status": "status",
    "smoke_test_image": "smoke",
    "tag_image": "tag",
    "validate_dockerfile": "lint",
    "validate_manifests": "manifests validate",
    "validate_workflow": "workflow validate",
    "verify_deployment": "verify",
}

MARKER = re.compile(r"\{(tool|param):([a-z_]+)((?: [^{}]+)?)\}")


def render_hint(text: str, surface: Surface) -> str:
    """Replace the markers of ``text`` with the names the caller on ``surface`` can use."""

    def one(m: re.Match[str]) -> str:
        kind, name, args = m.group(1), m.group(2), m.group(3).strip()
        if kind == "param":
            return f"`{args or '--' + name.replace('_', '-')}`" if surface == "cli" else f"`{name}`"
        if surface == "cli":
            command = CLI_COMMANDS.get(name)
            if command is not None:
                return f"`containerkit {command}{' ' + args if args else ''}`"
        return f"the `{name}` tool"

    return MARKER.sub(one, text)


def render_data(value: Any, surface: Surface) -> Any:
    """:func:`render_hint` on every string of JSON-like data (warnings, routing reasons and step errors of a result)."""
    if isinstance(value, str):
        return render_hint(value, surface) if "{" in value else value
    if isinstance(value, dict):
        return {k: render_data(v, surface) for k, v in value.items()}
    if isinstance(value, list):
        return [render_data(v, surface) for v in value]
    return value


def named_tools(text: str) -> list[str]:
    """Tool names ``text`` refers to by marker (for the test that they exist)."""
    return [m.group(2) for m in MARKER.finditer(text) if m.group(1) == "tool"]
