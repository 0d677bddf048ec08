"""The tool index (ADR 0098): listing tools imports no tool module; the index is the registry's own description."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from containerkit.tools import load_all
from containerkit.tools.registry import published_schema
from tests.conftest import ROOT


def _run(code: str, cache: Path) -> str:
    env = {**os.environ, "CONTAINERKIT_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    ).stdout


LIST = (
    "import sys, json\nfrom containerkit.tools import REGISTRY\ninfos = REGISTRY.infos()\n"
    "print(json.dumps({'tools': [[i.name, i.module, i.read_only, i.input_schema, i.output_schema] for i in infos],"
    " 'loaded': sorted(m for m in sys.modules if m.startswith('containerkit.tools.') and m not in"
    " ('containerkit.tools.base', 'containerkit.tools.registry'))}))"
)


def test_a_cached_index_lists_every_tool_as_the_modules_describe_them_without_importing_one(tmp_path: Path) -> None:
    first = json.loads(_run(LIST, tmp_path))  # builds the index: every tool module imported
    second = json.loads(_run(LIST, tmp_path))  # reads it
    assert first["loaded"] and second["loaded"] == []
    assert second["tools"] == first["tools"]
    specs = {s.name: s for s in load_all().specs()}
    assert [t[0] for t in second["tools"]] == sorted(specs)
    for name, module, read_only, input_schema, output_schema in second["tools"]:
        spec = specs[name]
        assert (read_only, input_schema, output_schema) == (
            spec.read_only,
            published_schema(spec.params_model.model_json_schema()),
            published_schema(spec.result_model.model_json_schema(), output=True),
        )
        assert module == spec.fn.__module__


def test_calling_a_tool_imports_its_module_only(tmp_path: Path) -> None:
    _run(LIST, tmp_path)
    code = (
        "import sys\nfrom containerkit.tools import REGISTRY\nREGISTRY.get('list_sessions')\n"
        "print(sorted(m for m in sys.modules if m.startswith('containerkit.tools.')))"
    )
    assert _run(code, tmp_path).strip() == str(
        ["containerkit.tools.base", "containerkit.tools.registry", "containerkit.tools.sessions"]
    )


def test_a_corrupt_or_stale_index_is_rebuilt(tmp_path: Path) -> None:
    _run(LIST, tmp_path)
    [index] = tmp_path.glob("tool-index-*.json")
    index.write_text("{not json")
    assert json.loads(_run(LIST, tmp_path))["loaded"]  # rebuilt from the modules
    entries = json.loads(index.read_text())
    entries[0]["module"] = "containerkit.tools.nowhere"  # an index that names a module that does not exist
    index.write_text(json.dumps(entries))
    code = f"from containerkit.tools import REGISTRY\nprint(REGISTRY.get({entries[0]['name']!r}).name)"
    try:
        out = _run(code, tmp_path)
    except subprocess.CalledProcessError as e:
        raise AssertionError(e.stderr) from e
    assert out.strip() == entries[0]["name"]


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    out = json.loads(_run(LIST, blocked / "cache"))
    assert out["tools"] and out["loaded"]
