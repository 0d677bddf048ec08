"""The ONE tool registry: typed tools, tracked calls.

Every call goes through :meth:`ToolRegistry.call`, which resolves the session,
writes the job row, times the call, records errors with their codes, passes the
progress reporter, and fills ``session_id``/``job_id`` in the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import anyio
from pydantic import ValidationError

from containerkit.errors import CancelledError_, ContainerKitError, InvalidInputError, NotFoundError, wrap_unexpected
from containerkit.redaction import redact_strings
from containerkit.tools.base import InputValueError, NullProgress, Progress, Sampler, Services, ToolContext, ToolParams, ToolResult

log = logging.getLogger("containerkit.tools")

P = TypeVar("P", bound=ToolParams)
R = TypeVar("R", bound=ToolResult)
ToolFn = Callable[[ToolContext, P], Awaitable[R]]


Effect = Literal[
    "writes_files",       # creates or replaces files on the user's disk (repository files, reports, SBOMs)
    "moves_tags",         # creates or moves image tags in the local engine (build, tag, pull)
    "runs_containers",    # starts containers and removes them again
    "creates_containers", # leaves containers running (a local cluster)
    "pushes",             # writes to a registry (a tag may then name another image)
    "reads_registry",     # reads from a registry
    "network",            # reaches other hosts (git clone, database downloads, bridge network)
    "changes_cluster",    # creates, updates or deletes Kubernetes objects
    "reads_cluster",      # reads a Kubernetes API
    "updates_store",      # changes or deletes stored sessions, runs, labels or databases
    "adds_to_store",      # only adds to the store
    "runs_workflow",      # runs tool steps that may do any of the above
]
#: effects that may change or remove what exists (MCP destructiveHint): everything but adding
DESTRUCTIVE: frozenset[Effect] = frozenset({"writes_files", "moves_tags", "pushes", "changes_cluster", "updates_store", "runs_workflow"})
#: effects that reach beyond this machine (MCP openWorldHint)
OPEN_WORLD: frozenset[Effect] = frozenset({"pushes", "reads_registry", "network", "changes_cluster", "reads_cluster", "runs_workflow"})


@dataclass(frozen=True)
class ToolSpec(Generic[P, R]):
    """A registered tool. Its MCP annotations are derived from the declared ``effects`` (ADR 0082), so they cannot
    contradict what the tool does."""

    name: str
    title: str
    description: str
    params_model: type[P]
    result_model: type[R]
    fn: ToolFn[P, R]
    effects: frozenset[Effect] = frozenset()
    idempotent: bool = False
    #: tracked tools run in a session and get a job row; untracked ones (server_status, list_sessions) don't.
    tracked: bool = True
    #: keep the last result in the session state under results.<name>, visible to later calls.
    store_result: bool = False
    #: CLI/workflow group (e.g. "sessions", "engine").
    group: str = "general"

    @property
    def read_only(self) -> bool:
        """Changes nothing outside the session bookkeeping (results kept in the session state do not count)."""
        return not (self.effects - {"reads_registry", "reads_cluster", "network"})

    @property
    def destructive(self) -> bool:
        return bool(self.effects & DESTRUCTIVE)

    @property
    def open_world(self) -> bool:
        return bool(self.effects & OPEN_WORLD)


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec[Any, Any]] = {}

    # registration ------------------------------------------------------------------
    def register(self, spec: ToolSpec[Any, Any]) -> None:
        if spec.name in self._tools:
            raise ValueError(f"tool {spec.name} registered twice")
        self._tools[spec.name] = spec

    def tool(  # effects=None (undeclared) counts as adding to the store: not read-only, not destructive
        self,
        name: str,
        *,
        title: str,
        description: str,
        params: type[P],
        result: type[R],
        effects: Iterable[Effect] | None = None,
        idempotent: bool = False,
        tracked: bool = True,
        store_result: bool = False,
        group: str = "general",
    ) -> Callable[[ToolFn[P, R]], ToolFn[P, R]]:
        def decorate(fn: ToolFn[P, R]) -> ToolFn[P, R]:
            self.register(
                ToolSpec(
                    name=name, title=title, description=description, params_model=params, result_model=result,
                    fn=fn, effects=frozenset(("adds_to_store",) if effects is None else effects), idempotent=idempotent,
                    tracked=tracked, store_result=store_result, group=group,
                )
            )
            return fn

        return decorate

    # lookup ------------------------------------------------------------------------
    def get(self, name: str) -> ToolSpec[Any, Any]:
        try:
            return self._tools[name]
        except KeyError:
            raise NotFoundError(
                f"unknown tool {name!r}", hint=f"Known tools: {', '.join(sorted(self._tools))}."
            ) from None

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self) -> list[ToolSpec[Any, Any]]:
        return [self._tools[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    # validation ----------------------------------------------------------------------
    def parse_params(self, name: str, raw: Mapping[str, Any] | ToolParams, *, strict: bool = False) -> ToolParams:
        """Validate raw params against the tool's own model; ``strict`` accepts only what the published JSON schema
        allows (no ``"yes"`` for a boolean, no ``"8080"`` for an integer): MCP clients send JSON that must match it.

        Raises:
            InvalidInputError: naming the first bad field and why.
        """
        spec = self.get(name)
        if isinstance(raw, spec.params_model):
            return cast(ToolParams, raw)
        try:
            return cast(ToolParams, spec.params_model.model_validate(dict(raw) if isinstance(raw, Mapping) else raw.model_dump(),
                                                                     strict=strict or None))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg'].removeprefix('Value error, ')}"
                                 for err in e.errors()[:5])
            first = e.errors()[0].get("ctx", {}).get("error")
            raise InvalidInputError(
                f"invalid parameters for {name}: {problems}",
                hint=first.hint if isinstance(first, InputValueError) else
                f"Fix the parameter named in the message: see the input schema of {{tool:{name}}} (`--help` on the CLI, tools/list over MCP).",
                details={"tool": name, "errors": [_error_entry(err) for err in e.errors()[:20]]},
            ) from e

    # calling ---------------------------------------------------------------------------
    async def call(
        self,
        services: Services,
        name: str,
        params: Mapping[str, Any] | ToolParams,
        *,
        progress: Progress | None = None,
        sampler: Sampler | None = None,
        client_roots: list[Path] | None = None,
        strict: bool = False,
    ) -> ToolResult:
        """Run one tool call, tracked in the session store (``strict``: see :meth:`parse_params`).

        Raises:
            ContainerKitError: every failure, with its code (unexpected exceptions are wrapped).
        """
        spec = self.get(name)
        parsed = self.parse_params(name, params, strict=strict)
        store = services.store
        progress = progress or NullProgress()
        if not spec.tracked:
            ctx = ToolContext(services=services, session=_NO_SESSION, job_id="", tool=name, progress=progress,
                              sampler=sampler, client_roots=client_roots or [])
            try:
                return cast(ToolResult, await spec.fn(ctx, parsed))
            except ContainerKitError:
                raise
            except Exception as e:
                log.exception("tool %s failed unexpectedly", name)
                raise wrap_unexpected(e) from e
        dumped = parsed.model_dump(mode="json", exclude={"session_id"})
        ctx = ToolContext(services=services, session=_NO_SESSION, job_id="", tool=name, progress=progress,
                          sampler=sampler, client_roots=client_roots or [])

        def open_session() -> None:
            ctx.session, ctx.job_id = store.begin_job(parsed.session_id, name, dumped)

        if spec.read_only and parsed.session_id is None:
            ctx.open_session = open_session  # a read-only call without a session creates none unless it keeps something
        else:
            open_session()
        started = time.perf_counter()
        try:
            result = cast(ToolResult, await spec.fn(ctx, parsed))
        except anyio.get_cancelled_exc_class():
            if ctx.job_id:
                store.end_job(ctx.job_id, "cancelled", CancelledError_(f"{name} was cancelled"), tool=name)
            raise
        except KeyboardInterrupt:
            if ctx.job_id:
                store.end_job(ctx.job_id, "cancelled", CancelledError_(f"{name} was interrupted"), tool=name)
            raise
        except ContainerKitError as e:
            if ctx.job_id:
                store.end_job(ctx.job_id, "failed", e, tool=name)
                e.details.setdefault("job_id", ctx.job_id)
                e.details.setdefault("session_id", ctx.session.id)
            raise
        except Exception as e:
            log.exception("tool %s failed unexpectedly", name)
            err = wrap_unexpected(e)
            if ctx.job_id:
                err.details.update(job_id=ctx.job_id, session_id=ctx.session.id)
                store.end_job(ctx.job_id, "failed", err, tool=name)
            raise err from e
        # every string of every result is redacted (a secret ENV line in a build step, a token in a log line)
        result = type(result).model_validate({**redact_strings(result.model_dump(mode="json")), "session_id": ctx.session.id,
                                              "job_id": ctx.job_id})
        if not ctx.job_id:
            return result
        if spec.store_result:
            store.put_state(ctx.session.id, f"results.{name}", result.model_dump(mode="json"))
        store.end_job(ctx.job_id, "succeeded", tool=name)
        log.debug("tool %s took %.3f ms", name, (time.perf_counter() - started) * 1000)
        return result


def _error_entry(err: Any) -> dict[str, Any]:
    return {"loc": [str(p) for p in err["loc"]], "msg": str(err["msg"])}


from containerkit.store import SessionInfo as _SessionInfo  # noqa: E402

_NO_SESSION = _SessionInfo(
    id="", created_at=0, last_access=0, expires_at=0, workspace_dir="", labels=[], version=0, state_keys=[]
)

#: The one registry every tool module registers into.
REGISTRY = ToolRegistry()
