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
            raise InvalidInputError(f"policy directory {directory} does not exist",
                                    hint="Pass --policy with a directory of .rego files (conftest's layout: policy/).")
        modules = []
        for path in sorted(directory.rglob("*.rego")):
            if path.name.endswith("_test.rego"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            rel = str(path.relative_to(directory))
            v0 = _V0_HEAD.search(text)
            if v0:
                line = text[:v0.start()].count("\n") + 1
                raise InvalidInputError(
                    f"policy {rel}, line {line}: `{v0.group(0)}` is Rego v0 syntax, which Rego v1 reads as a different rule",
                    hint=f"Write `{v0.group(1)} contains {v0.group(2)} if {{` (Rego v1, as OPA 1.0 and conftest 0.56 "
                         "onwards read it); `opa fmt --v0-v1 -w DIR` rewrites a whole directory.",
                    details={"policy": rel, "line": line})
            package = _PACKAGE.search(text)
            if package is None:
                raise InvalidInputError(f"policy {rel} has no package line", hint="Start it with `package main`.",
                                        details={"policy": rel})
            modules.append(_Module(rel, package.group(1), tuple(dict.fromkeys(_RULE.findall(text))), text))
        if not modules:
            raise InvalidInputError(f"no .rego policies in {directory}",
                                    hint="Put .rego files there (conftest's layout), or leave --policy out.")
        policies = cls(directory, modules)
        policies._interpreter()  # compile now: a broken policy is an input error before any other work
        return policies

    def _interpreter(self) -> Any:
        from regopy import Interpreter  # the engine loads only when there are policies

        rego = Interpreter()
        for module in self.modules:
            rego.add_module(module.path, module.text)
        return rego

    def evaluate(self, value: Any) -> list[RuleResult]:
        """Every message the rules give for ``value`` (JSON-compatible)."""
        from regopy import RegoError

        rego = self._interpreter()
        rego.set_input_term(json.dumps(value))
        results: list[RuleResult] = []
        for module in self.modules:
            for rule in module.rules:
                try:
                    output = rego.query(f"data.{module.package}.{rule}")
                except RegoError as e:
                    raise InvalidInputError(f"policy {module.path}: {_first_error(str(e))}",
                                            hint="Fix the policy; `opa check` or `conftest verify` shows the same error.",
                                            details={"policy": module.path}) from e
                for item in _values(str(output)):
                    results.append(_result(module, rule, item))
        return results


def _values(output: str) -> list[Any]:
    """The rule's value from regopy's output text: a set (a JSON list), or nothing when undefined."""
    if output.strip() == "undefined":
        return []
    try:
        data = json.loads(output)
    except ValueError:
        return []
    expressions = data.get("expressions") if isinstance(data, dict) else None
    value = expressions[0] if isinstance(expressions, list) and expressions else None
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    return []


def _result(module: _Module, rule: str, item: Any) -> RuleResult:
    severity: Literal["error", "warning"] = "warning" if rule.startswith("warn") else "error"
    name = f"{module.package}.{rule}"
    if isinstance(item, dict):
        message = str(item.get("msg") or item.get("message") or json.dumps(item, sort_keys=True))
        rule_id = str(item["id"]) if item.get("id") else name
        return RuleResult(rule_id, severity, message, module.path, {k: v for k, v in item.items() if k not in ("msg", "message")})
    return RuleResult(name, severity, str(item), module.path)


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("(errormsg"):
            return re.sub(r"^\(errormsg \d+:|\)+$", "", line)
    return lines[0] if lines else "the policy failed"
