"""Policies users write in Rego, with conftest's conventions, run by regopy (the rego-cpp engine, from PyPI).

A policy directory holds ``*.rego`` files (``*_test.rego`` are the policies' own unit tests and are not loaded,
as conftest does). Every package is evaluated (conftest's ``--all-namespaces``): its ``deny``, ``violation`` and
``warn`` rules, and the ``deny_*``, ``violation_*`` and ``warn_*`` ones, each a set of messages or of objects with a
``msg`` (and optionally ``id`` and ``severity``, as conftest and Trivy policies return them). ``deny`` and
``violation`` fail the gate; ``warn`` is reported.

Inputs, as conftest gives them: a Dockerfile is the list of its instructions (``Cmd`` in lower case, ``Value`` the
words, ``Flags``, ``Stage``, ``Original``, and ``Line``, which conftest lacks); a manifest is one Kubernetes object;
a scan is the scan report. The engine reads Rego v1 (OPA 1.0 and conftest 0.56 onwards); a v0 rule head
(``deny[msg] {``) would mean something else in v1, so it is refused with the rewrite to make.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from containerkit.errors import InvalidInputError

RULE_KINDS = ("deny", "violation", "warn")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.M)
_RULE = re.compile(r"^((?:deny|violation|warn)(?:_\w+)?)\s*(?:contains\b|if\b|:=|=|\{)", re.M)
_V0_HEAD = re.compile(r"^((?:deny|violation|warn)(?:_\w+)?)\s*\[\s*(\w+)\s*\]\s*\{", re.M)


@dataclass(frozen=True)
class RuleResult:
    """One message of one rule: a finding like the built-in ones."""

    rule: str
    """``<package>.<rule>``, e.g. ``main.deny``; or the ``id`` the policy returned."""
    severity: Literal["error", "warning"]
    message: str
    policy: str
    """The file that defines the rule."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Module:
    path: str
    package: str
    rules: tuple[str, ...]
    text: str


class PolicySet:
    """The policies of one directory, parsed once, evaluated against any number of inputs."""

    def __init__(self, directory: Path, modules: list[_Module]) -> None:
        self.directory = directory
        self.modules = modules

    @property
    def files(self) -> list[str]:
        return [m.path for m in self.modules]

    @classmethod
    def load(cls, directory: Path) -> PolicySet:
        """Raises: InvalidInputError naming the file (and line) of a missing directory, an empty one, or a policy
        that does not compile."""
        if not directory.is_dir():
            raise InvalidInputError(
                f"policy directory {directory} does not exist",
                hint="Pass --policy with a directory of .rego files (conftest's layout: policy/).",
            )
        modules = []
        for path in sorted(directory.rglob("*.rego")):
            if path.name.endswith("_test.rego"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            rel = str(path.relative_to(directory))
            v0 = _V0_HEAD.search(text)
            if v0:
                line = text[: v0.start()].count("\n") + 1
                raise InvalidInputError(
                    f"policy {rel}, line {line}: `{v0.group(0)}` is Rego v0 syntax, which Rego v1 reads as a different "
                    "rule",
                    hint=f"Write `{v0.group(1)} contains {v0.group(2)} if {{` (Rego v1, as OPA 1.0 and conftest 0.56 "
                    "onwards read it); `opa fmt --v0-v1 -w DIR` rewrites a whole directory.",
                    details={"policy": rel, "line": line},
                )
            package = _PACKAGE.search(text)
            if package is None:
                raise InvalidInputError(
                    f"policy {rel} has no package line", hint="Start it with `package main`.", details={"policy": rel}
                )
            modules.append(_Module(rel, package.group(1), tuple(dict.fromkeys(_RULE.findall(text))), text))
        if not modules:
            raise InvalidInputError(
                f"no .rego policies in {directory}",
                hint="Put .rego files there (conftest's layout), or leave --policy out.",
            )
        policies = cls(directory, modules)
        policies.evaluate_many([])  # compile now: a broken policy is an input error before any other work
        return policies

    def evaluate(self, value: Any) -> list[RuleResult]:
        """Every message the rules give for ``value`` (JSON-compatible)."""
        return self.evaluate_many([value])[0]

    def evaluate_many(self, values: list[Any]) -> list[list[RuleResult]]:
        """The messages for each of ``values``, in one run of the engine.

        The engine runs in a child process: rego-cpp prints its errors on the process's standard output, which is
        the CLI's JSON and the MCP server's protocol channel here, and a crash in it must not take the server down.

        Raises:
            InvalidInputError: a policy does not compile or fails (the engine's message, file and line).
        """
        request = {
            "modules": [
                {"path": m.path, "text": m.text, "queries": [f"data.{m.package}.{r}" for r in m.rules]}
                for m in self.modules
            ],
            "inputs": values,
        }
        with tempfile.TemporaryDirectory(prefix="containerkit-rego-") as tmp:
            out = Path(tmp) / "out.json"
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", "containerkit.policy.worker", str(out)],
                    input=json.dumps(request),
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
            except subprocess.TimeoutExpired as e:
                raise InvalidInputError(
                    f"the policies in {self.directory} took over 300 s",
                    hint="Look for a rule that iterates without bound.",
                ) from e
            answer = json.loads(out.read_text()) if out.is_file() else None
        if not isinstance(answer, dict) or "error" in answer:
            module = (answer or {}).get("module") if isinstance(answer, dict) else None
            raise InvalidInputError(
                f"policy {module or self.directory}: {engine_error(proc.stdout + proc.stderr)}",
                hint="Fix the policy: `opa check` shows the same error. The engine (rego-cpp) does "
                "not take `_` inside a call's arguments (`contains(x, list[_])`): write "
                "`some item in list` and `contains(x, item)`.",
                details={"policy": module or str(self.directory)},
            )
        by_module = {m.path: m for m in self.modules}
        return [
            [_result(by_module[path], rule, item) for path, rule, item in per_input] for per_input in answer["results"]
        ]


def engine_error(text: str) -> str:
    """The engine's message and location from its error dump (``Errors:`` / message / ``-- file:line:col``)."""
    lines = [line.rstrip() for line in text.splitlines()]
    if "Errors:" in lines:
        rest = [line for line in lines[lines.index("Errors:") + 1 :] if line.strip()]
        message = rest[0].strip() if rest else "the policy failed"
        where = next((line[3:].strip() for line in rest if line.startswith("-- ") and ":" in line), "")
        return f"{message} ({where})" if where else message
    useful = [line for line in lines if line.strip() and not line.startswith("Traceback")]
    return useful[-1][:300] if useful else "the policy engine failed"


def _result(module: _Module, rule: str, item: Any) -> RuleResult:
    severity: Literal["error", "warning"] = "warning" if rule.startswith("warn") else "error"
    name = f"{module.package}.{rule}"
    if isinstance(item, dict):
        message = str(item.get("msg") or item.get("message") or json.dumps(item, sort_keys=True))
        rule_id = str(item["id"]) if item.get("id") else name
        return RuleResult(
            rule_id, severity, message, module.path, {k: v for k, v in item.items() if k not in ("msg", "message")}
        )
    return RuleResult(name, severity, str(item), module.path)
