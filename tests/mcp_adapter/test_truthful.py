"""MCP annotations and error hints tell the truth: derived from what each tool can do, naming what exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import typer
import yaml
from mcp import Client
from typer.core import TyperGroup

from containerkit.cli.main import app as cli_app
from containerkit.hints import CLI_COMMANDS, named_tools, render_hint
from tests.conftest import ROOT, Harness
from tests.mcp_adapter.test_mcp import run_client

SRC = ROOT / "src" / "containerkit"

# What each tool can do, written from its behaviour (not from its registration):
# files = writes files on the user's disk; tags = creates or moves local image tags; push = writes to a registry;
# cluster = changes Kubernetes objects; store = changes or deletes stored data; workflow = runs steps that may do any of
# it;
# remote = reaches a registry, another host or a cluster; runs = runs containers (removed again); adds = only adds.
CAN_DO: dict[str, set[str]] = {
    "analyze_repository": {"remote"},  # git clone of a URL
    "generate_dockerfile": {"files", "remote"},  # writes Dockerfile/.dockerignore; pin=true asks the registry
    "validate_dockerfile": set(),
    "build_image": {"tags", "remote"},  # tags the result; pulls base images
    "tag_image": {"tags"},
    "inspect_image": set(),
    "push_image": {"push", "remote"},
    "pull_image": {"tags", "remote"},
    "registry_tags": {"remote"},
    "retag_image": {"push", "remote"},
    "run_sandboxed": {"runs", "remote"},  # runs a command; network=bridge reaches out
    "smoke_test_image": {"runs"},  # runs the image (its container is removed again)
    "scan_image": {"files"},  # --sarif / --sbom
    "scan_secrets": set(),
    "generate_sbom": {"files"},  # output=FILE
    "db_update": {"store", "remote"},
    "db_status": set(),
    "generate_manifests": {"files"},
    "validate_manifests": set(),
    "deploy_application": {"cluster", "remote"},
    "verify_deployment": {"remote"},
    "prepare_cluster": {"adds", "cluster", "remote"},  # a kind cluster; or an existing one: namespace, pull Secret
    "containerize": {"workflow", "remote"},
    "containerize_many": {"workflow", "remote", "files"},  # the pipeline per repository, and its report file
    "execute_workflow": {"workflow", "remote"},  # the deprecated name of containerize
    "execute_custom_workflow": {"workflow", "remote"},
    "resume_workflow": {"workflow", "remote"},
    "cancel_workflow": {"store"},
    "validate_workflow": set(),
    "list_workflow_runs": set(),
    "get_workflow_status": set(),
    "list_sessions": set(),
    "get_session": set(),
    "get_job_status": set(),
    "server_status": set(),
    "delete_session": {"store"},
    "add_session_label": {"adds"},
    "remove_session_label": {"store"},
}
CHANGES = {"files", "tags", "push", "cluster", "store", "workflow"}
# parameters that make a tool write files: a tool taking one of them must say it writes files
FILE_PARAMS = {"write", "force", "out_dir", "sarif_path", "sbom_path", "apply_fixes"}


def test_annotations_follow_from_what_each_tool_can_do(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in run_client(harness, body)}
    assert set(tools) == set(CAN_DO), "classify every new tool in CAN_DO"
    wrong = []
    for name, can in CAN_DO.items():
        a = tools[name].annotations
        assert a is not None
        expected = (not (can & (CHANGES | {"adds", "runs"})), bool(can & CHANGES), "remote" in can)
        got = (a.read_only_hint, a.destructive_hint, a.open_world_hint)
        if got != expected:
            wrong.append(f"{name}: (readOnly, destructive, openWorld) is {got}, should be {expected}")
    assert not wrong, "\n".join(wrong)


def test_a_tool_with_a_file_writing_parameter_is_destructive(harness: Harness) -> None:
    for spec in harness.app.registry.specs():
        if FILE_PARAMS & set(spec.params_model.model_fields):
            assert spec.destructive and not spec.read_only, spec.name


# --- hints -------------------------------------------------------------------------------------------


def _hint_texts() -> list[tuple[str, str]]:
    """Every hint string in the source: hint= arguments, default_hint attributes, routing rule hints, hint constants."""
    found: list[tuple[str, str]] = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.keyword) and node.arg == "hint":
                values.append(node.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "HINT" in t.id.upper() for t in node.targets
            ):
                values.append(node.value)  # HINT constants and default_hint attributes
            for value in values:
                text = "".join(
                    n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                )
                found.append((f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}", text))
    rules = yaml.safe_load((SRC / "workflow" / "routing_rules.yaml").read_text())["rules"]
    found += [(f"routing_rules.yaml:{r['id']}", r["hint"]) for r in rules if r.get("hint")]
    return found


def _cli_command_exists(words: list[str]) -> bool:
    command: Any = typer.main.get_command(cli_app)
    for word in words:
        if word.startswith("-") or word.isupper():
            return True
        if not isinstance(command, TyperGroup) or word not in command.commands:
            return False
        command = command.commands[word]
    return True


def test_hints_name_tools_by_marker_and_every_named_tool_exists(harness: Harness) -> None:
    texts = _hint_texts()
    assert len(texts) > 50
    names = set(harness.app.registry.names())
    problems = []
    for where, text in texts:
        if re.search(r"`containerkit [a-z]", text):
            problems.append(
                f"{where}: names a CLI command; use {{tool:NAME}} so each surface names its own: {text[:80]}"
            )
        problems += [f"{where}: names unknown tool {t}" for t in named_tools(text) if t not in names]
    assert not problems, "\n".join(problems)


def test_every_tool_maps_to_an_existing_cli_command(harness: Harness) -> None:
    assert set(CLI_COMMANDS) == set(harness.app.registry.names())
    missing = [
        f"{tool}: containerkit {cmd}" for tool, cmd in CLI_COMMANDS.items() if not _cli_command_exists(cmd.split())
    ]
    assert not missing, missing


def test_a_hint_renders_per_surface() -> None:
    hint = "Run {tool:db_update} again, or validate with {tool:validate_manifests DIR} and pass {param:apply_fixes}."
    assert render_hint(hint, "cli") == (
        "Run `containerkit db update` again, or validate with `containerkit manifests validate DIR` "
        "and pass `--apply-fixes`."
    )
    assert (
        render_hint(hint, "mcp")
        == "Run the `db_update` tool again, or validate with the `validate_manifests` tool and pass `apply_fixes`."
    )


def test_an_mcp_error_names_the_tool_and_the_cli_error_the_command(harness: Harness, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from containerkit.cli.runner import set_app

    async def body(client: Client) -> Any:
        return await client.call_tool("get_session", {"session_id": "nope"})

    result = run_client(harness, body)
    text = "\n".join(c.text for c in result.content)
    assert "the `list_sessions` tool" in text and "containerkit " not in text and "{tool:" not in text
    set_app(harness.app)
    try:
        out = CliRunner().invoke(cli_app, ["sessions", "show", "nope"])
    finally:
        set_app(None)
    assert out.exit_code == 1 and "`containerkit sessions list`" in out.output and "{tool:" not in out.output
