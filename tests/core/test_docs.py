"""Docs cover every MCP tool and every CLI command; the README keeps its two-command Quick start."""

from __future__ import annotations

import re

import typer

from containerkit.app import build_app
from containerkit.cli.main import app as cli_app
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def _all_docs(sub: str) -> str:
    return "\n".join(p.read_text() for p in sorted((DOCS / sub).glob("*.md")))


def _commands(app: typer.Typer, prefix: str = "") -> list[str]:
    out = []
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        out.append(f"{prefix}{name}")
    for group in app.registered_groups:
        assert group.typer_instance is not None
        out += _commands(group.typer_instance, f"{prefix}{group.name} ")
    return out


def test_every_mcp_tool_is_documented(ck_home: object) -> None:
    text = _all_docs("tools")
    missing = [
        name
        for name in build_app().registry.names()
        if f"`{name}`" not in text and not re.search(rf"^#+ `?{name}`?\b", text, re.M)
    ]
    assert missing == [], f"tools without a section in docs/tools/: {missing}"


def test_every_cli_command_is_documented() -> None:
    text = _all_docs("cli")
    missing = [cmd for cmd in _commands(cli_app) if f"containerkit {cmd}" not in text and f"`{cmd}" not in text]
    assert missing == [], f"commands not in docs/cli/: {missing}"


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(commands) == 2
    assert "containerkit containerize examples/" in commands[0]
    assert commands[1].strip() == "bash scripts/test"
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_documented_annotations_are_the_derived_ones(ck_home: object) -> None:
    import re

    from containerkit.app import build_app
    from containerkit.settings import load_settings

    app = build_app(load_settings())
    specs = {s.name: s for s in app.registry.specs()}
    wrong = []
    for doc in (ROOT / "docs" / "tools").glob("*.md"):
        for name, cell in re.findall(r"^\| `([a-z_]+)` \| ([a-z, —-]+) \|", doc.read_text(), flags=re.M):
            if name not in specs:
                continue
            s = specs[name]
            expected = [
                n
                for n, on in (
                    ("read-only", s.read_only),
                    ("destructive", s.destructive),
                    ("idempotent", s.idempotent),
                    ("open-world", s.open_world),
                )
                if on
            ]
            if [w.strip() for w in cell.split(",") if w.strip() not in ("", "—")] != expected:
                wrong.append(f"{doc.name}: {name} says {cell.strip()!r}, is {', '.join(expected) or '—'}")
    app.services.store.close()
    assert not wrong, wrong


def test_the_tools_list_sizes_in_the_mcp_doc_are_current() -> None:
    """docs/mcp.md's table is what bench/mcp_listing.py measures now (within 5 %: a reworded description is fine)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mcp_listing", ROOT / "bench" / "mcp_listing.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    doc = (ROOT / "docs" / "mcp.md").read_text()
    table = doc.split("<!-- listing-sizes -->")[1].split("<!-- /listing-sizes -->")[0]
    documented = {
        cells[0]: (int(cells[1]), float(cells[2].removesuffix(" KB")) * 1000)
        for line in table.strip().splitlines()[2:]
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    measured = {name: (count, size) for name, count, size in bench.sizes()}
    assert documented.keys() == measured.keys()
    for name, (count, size) in measured.items():
        assert documented[name][0] == count, f"{name}: the doc says {documented[name][0]} tools, there are {count}"
        assert abs(documented[name][1] - size) <= 0.05 * size, (
            f"{name}: the doc says {documented[name][1]:.0f} bytes, tools/list is {size}: run bench/mcp_listing.py "
            "--markdown"
        )
