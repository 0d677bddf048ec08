"""Commands derive their options from their tool's published parameters (cli/params.py): a field is one edit, not
two."""

from __future__ import annotations

import functools
from typing import Any, Literal

import pytest
import typer
import typer.main
from pydantic import BaseModel, Field, SecretStr
from typer.testing import CliRunner

from containerkit.cli.main import build
from containerkit.cli.params import ToolOptions, options_from
from containerkit.errors import JSONValue
from containerkit.hints import CLI_COMMANDS
from containerkit.tools import REGISTRY, ToolParams
from containerkit.tools.registry import published_schema


@functools.cache
def _tree() -> Any:
    return typer.main.get_command(build())


def _command(words: str) -> Any:
    """The (typer-vendored) click command ``containerkit WORDS`` runs."""
    command = _tree()
    for word in (w for w in words.split() if not w.startswith("-")):
        command = command.commands[word]
    return command


@pytest.mark.parametrize("tool", sorted(CLI_COMMANDS))
def test_every_field_of_a_tool_is_an_option_of_its_command_or_left_out_with_a_reason(tool: str) -> None:
    """Before, nine commands silently lacked fields their tool takes (dockerfile --app-object, deploy --no-wait,
    verify --no-probe, smoke's memory, sandbox --max-output-bytes, --session on most)."""
    command = _command(CLI_COMMANDS[tool])
    recorded = getattr(command.callback, "__tool_options__", None)
    assert isinstance(recorded, ToolOptions), f"`containerkit {CLI_COMMANDS[tool]}` is not built with tool_options"
    names = {p.name for p in command.params}
    model = REGISTRY.get(tool).params_model
    assert set(recorded.fields) == set(model.model_fields)  # the command's tool (or its twin), as MCP publishes it
    for field in model.model_fields:
        supplied = field in names or recorded.given.get(field) in names or bool(recorded.without.get(field))
        assert supplied, f"{tool}.{field} has no option in `containerkit {CLI_COMMANDS[tool]}`"


def _schema(model: type[BaseModel]) -> dict[str, JSONValue]:
    schema = published_schema(model.model_json_schema())
    assert isinstance(schema, dict)
    return schema


class _Nested(BaseModel):
    x: int = 0


class _Params(ToolParams):
    name: str = Field(description="Given by hand.")
    count: int | None = Field(None, description="How many.")
    mode: Literal["fast", "slow"] = Field("fast", description="Speed.")
    verbose: bool = Field(False, description="Say more.")
    keep: bool = Field(True, description="Keep it.")
    extra_tags: list[str] = Field(default_factory=list, description="Tags.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")


def _app(seen: list[dict[str, object]]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @options_from(_schema(_Params))
    def run(name: str, derived: dict[str, object] | None = None) -> None:
        seen.append({"name": name, **(derived or {})})

    return app


def test_a_new_field_is_an_option_with_the_fields_type_and_only_given_values_reach_the_tool() -> None:
    seen: list[dict[str, object]] = []
    runner = CliRunner()
    args = ["n", "--count", "3", "--mode", "slow", "--verbose", "--no-keep", "--extra-tag", "a", "--extra-tag", "b"]
    out = runner.invoke(_app(seen), [*args, "--label", "k=v", "--session", "s1"])
    assert out.exit_code == 0, out.output
    assert seen[-1] == {
        "name": "n",
        "count": 3,
        "mode": "slow",
        "verbose": True,
        "keep": False,
        "extra_tags": ["a", "b"],
        "labels": {"k": "v"},
        "session_id": "s1",
    }
    assert runner.invoke(_app(seen), ["n"]).exit_code == 0
    assert seen[-1] == {"name": "n"}  # the tool's own defaults apply to what was not given
    bad = runner.invoke(_app(seen), ["n", "--mode", "medium"])
    assert bad.exit_code == 2 and "medium" in bad.output
    help_text = runner.invoke(_app(seen), ["--help"]).output
    assert "How many." in help_text and "--no-keep" in help_text


def test_a_field_without_a_command_line_form_must_be_given_by_hand_or_left_out_with_a_reason() -> None:
    """A nested structure has no option form, and a secret never goes on the command line (it would show in `ps` and
    the shell's history): both must be written by hand (read from stdin or a file) or left out with a reason."""

    class WithNested(ToolParams):
        nested: _Nested = Field(default_factory=_Nested)
        token: SecretStr | None = None

    def run(derived: dict[str, object] | None = None) -> None:
        pass

    with pytest.raises(TypeError, match=r"nested has no command-line form.*given=.*without="):
        options_from(_schema(WithNested), without={"token": "from stdin"})(run)
    with pytest.raises(TypeError, match=r"token has no command-line form"):
        options_from(_schema(WithNested), without={"nested": "a structure: MCP only"})(run)
    options_from(_schema(WithNested), without={"nested": "a structure: MCP only", "token": "from stdin"})(run)
    with pytest.raises(TypeError, match="names no field"):
        options_from(_schema(_Params), given={"nmae": "name"})(run)
