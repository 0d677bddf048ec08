"""Workflow specs (YAML) and their validation against the tool registry.

```yaml
name: build-and-push
inputs: {path: examples/hello-flask, registry: 127.0.0.1:5001}
max_parallel: 2
steps:
  - id: analyze
    tool: analyze_repository
    params: {path: "${{ inputs.path }}"}
  - id: build
    tool: build_image
    depends_on: [analyze]
    params: {path: "${{ inputs.path }}", tag: "app:dev"}
    retries: 2
    timeout_s: 900
    on_failure: [report]
  - id: report
    tool: get_session
    route_only: true          # runs only when routed to by on_failure
```
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from containerkit import yamlsafe
from containerkit.errors import InvalidInputError, WorkflowError
from containerkit.tools.registry import ToolRegistry
from containerkit.workflow import expr

_STEP_ID = r"^[a-z][a-z0-9_-]{0,62}$"


class StepSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_STEP_ID, description="Unique step id (lowercase).")
    tool: str = Field(description="A registered tool name.")
    params: dict[str, JsonValue] = Field(
        default_factory=dict, description="Tool params; values may use ${{ ... }} references."
    )
    depends_on: list[str] = Field(default_factory=list)
    when: str | None = Field(None, description="Condition on inputs/earlier results; the step is skipped when false.")
    skip_reason: str | None = Field(
        None, description="What to say when `when` is false (default: the condition itself)."
    )
    retries: int = Field(0, ge=0, le=10)
    retry_backoff_s: float = Field(1.0, ge=0, le=300, description="First retry delay; doubles each retry.")
    timeout_s: float | None = Field(None, gt=0)
    continue_on_error: bool = False
    on_failure: list[str] = Field(default_factory=list, description="Steps to run when this one fails.")
    route_only: bool = Field(False, description="Run only when another step's on_failure routes here.")
    title: str | None = None


class WorkflowSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    inputs: dict[str, JsonValue] = Field(default_factory=dict, description="Default inputs; overridden at run time.")
    max_parallel: int | None = Field(None, ge=1, le=32)
    steps: list[StepSpec] = Field(min_length=1)

    def step(self, step_id: str) -> StepSpec:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise WorkflowError(f"no step {step_id!r} in workflow {self.name!r}")


def load_spec(source: str | Path | Mapping[str, object]) -> WorkflowSpec:
    """Load a spec from a YAML file, YAML text or a mapping.

    Raises:
        InvalidInputError: unreadable file, bad YAML or a field of the wrong shape.
    """
    where = "workflow"
    if isinstance(source, Path):
        where = str(source)
        try:
            source = yamlsafe.read(source)
        except OSError as e:
            raise InvalidInputError(f"cannot read workflow file {where}: {e.strerror}") from e
        except yaml.YAMLError as e:
            raise InvalidInputError(f"{where}: {e}", hint="Save the workflow as UTF-8 text.") from e
    if isinstance(source, str):
        try:
            data = yamlsafe.load(source)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark else ""
            raise InvalidInputError(f"{where}: invalid YAML{line}: {getattr(e, 'problem', e)}") from e
    else:
        data = source
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where}: a workflow is a mapping with 'name' and 'steps'")
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors()[:10]:
            loc = ".".join(str(p) for p in err["loc"])
            if loc.startswith("steps.") and isinstance(data.get("steps"), list):
                idx = err["loc"][1]
                if isinstance(idx, int) and idx < len(data["steps"]) and isinstance(data["steps"][idx], dict):
                    loc = f"step {data['steps'][idx].get('id', idx)!r}: " + ".".join(str(p) for p in err["loc"][2:])
            problems.append(f"{loc}: {err['msg']}")
        raise InvalidInputError(
            f"{where}: " + "; ".join(problems), hint="See docs/workflows.md for the spec format."
        ) from e


def validate_spec(spec: WorkflowSpec, registry: ToolRegistry, inputs: Mapping[str, object] | None = None) -> list[str]:
    """Every problem in a spec, each a clear sentence. Empty when the spec is valid. With ``inputs`` (a run about to
    start) the params that read only inputs are checked with their values."""
    problems: list[str] = []
    ids = [s.id for s in spec.steps]
    known = set(ids)
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"step id {dup!r} is used more than once")
    for step in spec.steps:
        problems += _check_step(step, known, registry, spec, inputs)
    problems += _check_cycles(spec)
    routed = {target for s in spec.steps for target in s.on_failure}
    for step in spec.steps:
        if step.route_only and step.id not in routed:
            problems.append(f"step {step.id!r} is unreachable: it is route_only but no step routes to it (on_failure)")
        elif step.when is not None and _constant_false(step.when):
            problems.append(f"step {step.id!r} is unreachable: its condition {step.when!r} is always false")
        for dep in step.depends_on:
            if dep in known and spec.step(dep).route_only and not step.route_only:
                problems.append(
                    f"step {step.id!r} depends on route-only step {dep!r}, so it runs only after a failure route"
                )
    return problems


def _check_step(
    step: StepSpec, known: set[str], registry: ToolRegistry, spec: WorkflowSpec, inputs: Mapping[str, object] | None
) -> list[str]:
    problems: list[str] = []
    for dep in step.depends_on:
        if dep not in known:
            problems.append(f"step {step.id!r} depends on unknown step {dep!r}")
        if dep == step.id:
            problems.append(f"step {step.id!r} depends on itself")
    for target in step.on_failure:
        if target not in known:
            problems.append(f"step {step.id!r} routes failures to unknown step {target!r}")
    expressions = expr.templates_in(step.params) + ([step.when] if step.when else [])
    for expression in expressions:
        try:
            refs = expr.references(expression)
        except WorkflowError as e:
            problems.append(f"step {step.id!r}: {e.message}")
            continue
        for root, key in refs:
            if root == "steps" and key not in known:
                problems.append(f"step {step.id!r} references unknown step {key!r} in {expression!r}")
            elif root == "steps" and key not in _ancestors(spec, step.id) | set(_routers(spec, step.id)):
                problems.append(f"step {step.id!r} reads step {key!r} but does not depend on it (add it to depends_on)")
            elif root == "inputs" and key not in spec.inputs:
                problems.append(
                    f"step {step.id!r} reads input {key!r}, which the workflow does not declare under inputs"
                )
    if step.tool not in registry:
        problems.append(f"step {step.id!r} uses unknown tool {step.tool!r} (known: {', '.join(registry.names())})")
        return problems
    if inputs is not None and step.when is not None and not _true_with(step.when, inputs):
        inputs = None  # skipped (or decided by other steps' outputs): its params need not make sense for these inputs
    problems += [f"step {step.id!r} ({step.tool}): {p}" for p in check_params(registry, step.tool, step.params, inputs)]
    return problems


def _true_with(condition: str, inputs: Mapping[str, object]) -> bool:
    """The condition holds for these inputs; False when it is false or reads anything but inputs."""
    try:
        if any(root != "inputs" for root, _ in expr.references(condition)):
            return False
        return bool(expr.evaluate(condition, {"inputs": inputs}))
    except WorkflowError:
        return False


def check_params(
    registry: ToolRegistry, tool: str, params: Mapping[str, object], inputs: Mapping[str, object] | None = None
) -> list[str]:
    """Check params against the tool's own model, validators included (an image reference by its grammar). With
    ``inputs`` (a run about to start), values that read only inputs are rendered and checked too; values that read
    other steps' outputs are checked when rendered."""
    model = registry.get(tool).params_model
    fields = model.model_fields
    problems = [
        f"unknown parameter {name!r} (parameters: {', '.join(sorted(fields))})" for name in params if name not in fields
    ]
    static: dict[str, Any] = {}
    for name, info in fields.items():
        if name not in params:
            if info.is_required() and name != "session_id":  # the runner passes the run's session to every step
                problems.append(f"missing required parameter {name!r}")
            continue
        value = params[name]
        if expr.is_templated(value):
            try:
                if inputs is None or any(
                    root != "inputs" for e in expr.templates_in(value) for root, _ in expr.references(e)
                ):
                    continue
                value = expr.render(value, {"inputs": inputs})
            except WorkflowError as e:
                problems.append(f"parameter {name!r}: {e.message}")
                continue
        static[name] = value
    try:
        model.model_validate(static)
    except ValidationError as e:
        for err in e.errors():
            if err["type"] == "missing" or not err["loc"] or err["loc"][0] not in static:
                continue  # a templated value not rendered yet, or not given: reported above
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"parameter {where!r}: {err['msg'].removeprefix('Value error, ')}")
    return problems


def _ancestors(spec: WorkflowSpec, step_id: str) -> set[str]:
    seen: set[str] = set()
    stack = list(spec.step(step_id).depends_on)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            stack.extend(spec.step(current).depends_on)
        except WorkflowError:
            continue
    return seen


def _routers(spec: WorkflowSpec, step_id: str) -> list[str]:
    return [s.id for s in spec.steps if step_id in s.on_failure]


def _check_cycles(spec: WorkflowSpec) -> list[str]:
    graph = {s.id: [d for d in s.depends_on if d != s.id] for s in spec.steps}
    state: dict[str, int] = {}
    problems: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep] if dep in path else [node, dep]
                problems.append("dependency cycle: " + " -> ".join(cycle))
            elif state.get(dep) is None:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    return problems


def _constant_false(expression: str) -> bool:
    try:
        tree = expr.parse(expression)
    except WorkflowError:
        return False
    body = tree.body
    return (isinstance(body, ast.Constant) and not body.value) or (
        isinstance(body, ast.Name) and body.id in ("false", "null")
    )
