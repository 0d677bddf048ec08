"""YAML enters with limits everywhere: an alias bomb is refused fast by `workflow validate`, `workflow run`, MCP
`execute_custom_workflow`, `manifests validate` and the config file; a non-UTF-8 workflow is an input error."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from containerkit import yamlsafe
from tests.conftest import Harness
from tests.core.test_cli import ck
from tests.mcp_adapter.test_mcp import run_client

LEVELS = "abcdefghi"


def bomb(indent: str = "") -> str:
    """The probe's 700-byte bomb: nine levels of nine aliases, 9**9 (387 million) strings once expanded."""
    lines = [f'{indent}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise(LEVELS):
        lines.append(f"{indent}{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def cli(args: list[str], home: Path, **env: str) -> Any:
    return ck(args, home, env={"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(home)]), **env})


WORKFLOW = "name: bomb\ninputs:\n" + bomb("  ") + "steps:\n  - id: status\n    tool: server_status\n"


def test_the_bomb_is_small_and_anchors_used_normally_still_load() -> None:
    assert len(WORKFLOW) < 800
    assert yamlsafe.load("base: &d {a: 1}\nx:\n  <<: *d\n  b: 2\n") == {"base": {"a": 1}, "x": {"a": 1, "b": 2}}
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 900))
    assert len(yamlsafe.load(chain)) == 900  # a long alias chain is measured without recursion
    for hostile, problem in [
        (bomb(), "alias bomb"),
        ("a: &a [*a]\n", "recursive alias"),
        ("[" * 300 + "]" * 300, "deeper than"),
        ("k: &k 1\nl: [" + ",".join(["*k"] * 1500) + "]\n", "aliases"),
    ]:
        with pytest.raises(yamlsafe.YAMLLimitError, match=problem):
            yamlsafe.load(hostile)


@pytest.mark.parametrize("command", [["workflow", "validate"], ["workflow", "run"]])
def test_the_cli_refuses_the_bomb_at_once(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(WORKFLOW)
    started = time.monotonic()
    out = cli([*command, str(path)], tmp_path)
    assert time.monotonic() - started < 30
    assert out.returncode == 2, out.stderr
    assert "INVALID_INPUT" in out.stderr and "alias" in out.stderr and "Traceback" not in out.stderr


def test_a_non_utf8_workflow_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\nsteps: []\n")
    out = cli(["workflow", "validate", str(path)], tmp_path)
    assert out.returncode == 2 and "INVALID_INPUT" in out.stderr and "UTF-8" in out.stderr, out.stderr
    assert "INTERNAL" not in out.stderr


def test_mcp_execute_custom_workflow_refuses_the_bomb_and_the_server_stays_up(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        refused = await client.call_tool("execute_custom_workflow", {"spec": WORKFLOW})
        status = await client.call_tool("server_status", {"check_engine": False})
        return refused, status

    refused, status = run_client(harness, body)
    assert refused.is_error
    error = json.loads(refused.content[1].text)
    assert error["code"] == "INVALID_INPUT" and "alias" in error["message"]
    assert not status.is_error


def test_manifests_and_config_refuse_the_bomb(tmp_path: Path) -> None:
    manifests = tmp_path / "k8s"
    manifests.mkdir()
    (manifests / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" + bomb("  "))
    out = cli(["manifests", "validate", str(manifests)], tmp_path)
    assert out.returncode == 2 and "alias" in out.stderr, out.stderr
    config = tmp_path / "config.yaml"
    config.write_text(bomb())
    out = cli(["status", "--no-engine"], tmp_path, CONTAINERKIT_CONFIG=str(config))
    assert out.returncode == 2 and "CONFIG_ERROR" in out.stderr and "alias" in out.stderr, out.stderr
