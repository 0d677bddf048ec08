"""The ONE tool registry: typed tools, tracked calls.

Every call goes through :meth:`ToolRegistry.call`, which resolves the session,
writes the job row, times the call, records errors with their codes, passes the
progress reporter, and fills ``session_id``/``job_id`` in the result.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib
import json
import logging
import os
import pkgutil
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import anyio
from pydantic import ValidationError

from containerkit import logs, metrics, tracing
from containerkit.errors import (
    CancelledError_,
    ContainerKitError,
    InvalidInputError,
    JSONValue,
    NotFoundError,
    RolloutFailedError,
    wrap_unexpected,
)
from containerkit.redaction import redact_strings
from containerkit.tools.base import (
    Decider,
    InputNeeded,
    InputValueError,
    NullProgress,
    Progress,
    Sampler,
    Services,
    ToolContext,
    ToolParams,
    ToolResult,
    input_needed,
)

if TYPE_CHECKING:
    from containerkit.store.records import JobStatus
    from containerkit.store.sessions import PendingJob, SessionStore

log = logging.getLogger("containerkit.tools")

P = TypeVar("P", bound=ToolParams)
R = TypeVar("R", bound=ToolResult)
ToolFn = Callable[[ToolContext, P], Awaitable[R]]
#: a registered tool's function, as the registry calls it: with params its own model validated first
RegisteredToolFn = Callable[[ToolContext, ToolParams], Awaitable[ToolResult]]


Effect = Literal[
    "writes_files",  # creates or replaces files on the user's disk (repository files, reports, SBOMs)
    "moves_tags",  # creates or moves image tags in the local engine (build, tag, pull)
    "runs_containers",  # starts containers and removes them again
    "creates_containers",  # leaves containers running (a local cluster)
    "pushes",  # writes to a registry (a tag may then name another image)
    "reads_registry",  # reads from a registry
    "network",  # reaches other hosts (git clone, database downloads, bridge network)
    "changes_cluster",  # creates, updates or deletes Kubernetes objects
    "reads_cluster",  # reads a Kubernetes API
    "updates_store",  # changes or deletes stored sessions, runs, labels or databases
    "adds_to_store",  # only adds to the store
    "runs_workflow",  # runs tool steps that may do any of the above
]
#: effects that may change or remove what exists (MCP destructiveHint): everything but adding
DESTRUCTIVE: frozenset[Effect] = frozenset(
    {"writes_files", "moves_tags", "pushes", "changes_cluster", "updates_store", "runs_workflow"}
)
#: effects that reach beyond this machine (MCP openWorldHint)
OPEN_WORLD: frozenset[Effect] = frozenset(
    {"pushes", "reads_registry", "network", "changes_cluster", "reads_cluster", "runs_workflow"}
)


#: schema keywords whose values are data, not schemas: nothing inside them is a keyword
_DATA_KEYWORDS = frozenset({"default", "examples", "const", "enum"})


def published_schema(schema: JSONValue, *, output: bool = False) -> JSONValue:
    """A JSON schema as tools/list publishes it: without the ``title`` pydantic derives from every field and model
    name (the property names say it), and for results without descriptions (a model reads the result itself; the
    shape and types stay, so clients can still check structured content). Validation uses the models, not this."""
    drop = {"title", "description"} if output else {"title"}
    if isinstance(schema, dict):
        return {
            key: value if key in _DATA_KEYWORDS else published_schema(value, output=output)
            for key, value in schema.items()
            if not (key in drop and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [published_schema(item, output=output) for item in schema]
    return schema


class EffectHints:
    """The MCP annotations a tool's declared effects imply (ADR 0082): one derivation for the registered spec and for
    its entry in the tool index."""

    effects: Iterable[str]

    @property
    def read_only(self) -> bool:
        """Changes nothing outside the session bookkeeping (results kept in the session state do not count)."""
        return set(self.effects) <= {"reads_registry", "reads_cluster", "network"}

    @property
    def destructive(self) -> bool:
        return not DESTRUCTIVE.isdisjoint(self.effects)

    @property
    def open_world(self) -> bool:
        return not OPEN_WORLD.isdisjoint(self.effects)


@dataclass(frozen=True)
class ToolSpec(EffectHints):
    """A registered tool. Its MCP annotations are derived from the declared ``effects`` (ADR 0082), so they cannot
    contradict what the tool does. ``fn`` takes the params ``params_model`` validated (the registry validates before
    every call) and returns a ``result_model``."""

    name: str
    title: str
    description: str
    params_model: type[ToolParams]
    result_model: type[ToolResult]
    fn: RegisteredToolFn
    effects: frozenset[Effect] = frozenset()
    idempotent: bool = False
    #: tracked tools run in a session and get a job row; untracked ones (server_status, list_sessions) don't.
    tracked: bool = True
    #: keep the last result in the session state under results.<name>, visible to later calls.
    store_result: bool = False
    #: CLI/workflow group (e.g. "sessions", "engine").
    group: str = "general"

    def info(self, module: str) -> ToolInfo:
        return ToolInfo(
            name=self.name,
            module=module,
            title=self.title,
            description=self.description,
            group=self.group,
            effects=sorted(self.effects),
            idempotent=self.idempotent,
            tracked=self.tracked,
            input_schema_json=json.dumps(published_schema(self.params_model.model_json_schema())),
            output_schema_json=json.dumps(published_schema(self.result_model.model_json_schema(), output=True)),
        )


@dataclass(frozen=True)
class ToolInfo(EffectHints):
    """What is known of a tool without importing its module: the MCP listing (title, description, schemas,
    annotations) and the module that registers it. Read from the tool index (ADR 0098)."""

    name: str
    module: str
    title: str
    description: str
    group: str
    effects: list[str]
    idempotent: bool
    tracked: bool
    #: the JSON schemas as JSON text: a command that only looks a tool up does not pay for parsing 40 schemas
    input_schema_json: str = "{}"
    output_schema_json: str = "{}"

    @functools.cached_property
    def input_schema(self) -> dict[str, JSONValue]:
        return cast(dict[str, JSONValue], json.loads(self.input_schema_json))

    @functools.cached_property
    def output_schema(self) -> dict[str, JSONValue]:
        return cast(dict[str, JSONValue], json.loads(self.output_schema_json))


_PACKAGE = Path(__file__).resolve().parents[1]
#: the modules whose imports register tools: every tool group of this package, and the workflow tools
_INFRA = {"base", "registry"}
_EXTRA_MODULES = ("containerkit.workflow.containerize", "containerkit.workflow.tools", "containerkit.workflow.many")
_INDEX_FORMAT = 2


def tool_modules() -> list[str]:
    return [
        *(
            f"containerkit.tools.{m.name}"
            for m in sorted(pkgutil.iter_modules([str(_PACKAGE / "tools")]), key=lambda m: m.name)
            if m.name not in _INFRA and not m.name.startswith("_")
        ),
        *_EXTRA_MODULES,
    ]


def _source_key() -> str:
    """Changes whenever any source file of the package does (a schema can come from any model module)."""
    from containerkit import __version__

    digest = hashlib.sha256(f"{_INDEX_FORMAT}:{__version__}:{_PACKAGE}".encode())
    for root, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}:{st.st_mtime_ns}:{st.st_size}".encode())
    return digest.hexdigest()[:20]


def index_dir() -> Path:
    from containerkit._cache import cache_dir

    return cache_dir()


class ToolRegistry:
    """Tools by name. ``modules`` lists the modules whose import registers tools (the global :data:`REGISTRY`): they
    are imported on demand, and the index is cached. A registry without it holds what was registered into it."""

    def __init__(self, modules: Callable[[], list[str]] | None = None) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._modules: dict[str, str] = {}  # tool name -> the module that registered it
        self._index: dict[str, ToolInfo] | None = None
        self._module_list = modules
        self._all_loaded = modules is None

    # registration ------------------------------------------------------------------
    def register(self, spec: ToolSpec, module: str = "") -> None:
        if spec.name in self._tools:
            raise ValueError(f"tool {spec.name} registered twice")
        self._tools[spec.name] = spec
        self._modules[spec.name] = module or getattr(spec.fn, "__module__", "")
        if self._module_list is None:
            self._index = None  # a registry of its own tools describes them again

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
        deprecated_aliases: Iterable[str] = (),
    ) -> Callable[[ToolFn[P, R]], ToolFn[P, R]]:
        """Register the decorated function as tool ``name``; each of ``deprecated_aliases`` is the same tool under an
        old name, its description saying so (kept for one release after a rename)."""

        def decorate(fn: ToolFn[P, R]) -> ToolFn[P, R]:
            spec = ToolSpec(
                name=name,
                title=title,
                description=description,
                params_model=params,
                result_model=result,
                # sound: the registry validates params with params_model before every call of fn
                fn=cast(RegisteredToolFn, fn),
                effects=frozenset(("adds_to_store",) if effects is None else effects),
                idempotent=idempotent,
                tracked=tracked,
                store_result=store_result,
                group=group,
            )
            self.register(spec)
            for old in deprecated_aliases:
                self.register(
                    replace(
                        spec,
                        name=old,
                        title=f"{title} (deprecated name of {name})",
                        description=f"Deprecated: the old name of `{name}`, removed in the next release; "
                        f"call `{name}`. {description}",
                    )
                )
            return fn

        return decorate

    # loading -------------------------------------------------------------------------
    # A tool's module (and the domain code it imports: the engine client, the Kubernetes schemas, …) is imported when
    # the tool is first used. What lists tools (tools/list, --help, workflow validation) reads the index, which is
    # built once by importing every module and kept in the user's cache, keyed by the package's source files (ADR 0098).
    def load_all(self) -> ToolRegistry:
        if not self._all_loaded and self._module_list is not None:
            for module in self._module_list():
                importlib.import_module(module)
            self._all_loaded = True
        return self

    def index(self) -> dict[str, ToolInfo]:
        if self._module_list is None:  # nothing to import: what is registered is the index
            if self._index is None:
                self._index = {name: spec.info(self._modules[name]) for name, spec in sorted(self._tools.items())}
            return self._index
        if self._index is None:
            cached = None if self._all_loaded else self._cached_index()
            self._index = cached if cached is not None else self._built_index()
        return self._index

    def _built_index(self) -> dict[str, ToolInfo]:
        self.load_all()
        index = {name: spec.info(self._modules[name]) for name, spec in sorted(self._tools.items())}
        self._write_index(index)
        return index

    def _index_path(self) -> Path:
        return index_dir() / f"tool-index-{_source_key()}.json"

    def _cached_index(self) -> dict[str, ToolInfo] | None:
        try:
            raw = json.loads(self._index_path().read_text(encoding="utf-8"))
            return {entry["name"]: ToolInfo(**entry) for entry in raw}
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _write_index(self, index: dict[str, ToolInfo]) -> None:
        """Best effort: a read-only or missing home only means the next start builds the index again."""
        path = self._index_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps([asdict(i) for i in index.values()]), encoding="utf-8")
            os.replace(tmp, path)
            for old in path.parent.glob("tool-index-*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as e:
            log.debug("tool index not cached in %s: %s", path.parent, e)

    # lookup ------------------------------------------------------------------------
    def get(self, name: str) -> ToolSpec:
        if name not in self._tools and not self._all_loaded:
            info = self.index().get(name)
            # a module named in the index file is imported only if it is one of ours
            if info is not None and self._module_list is not None and info.module in self._module_list():
                importlib.import_module(info.module)
            if name not in self._tools:  # an index entry its module no longer registers: trust only the modules
                self.load_all()
        try:
            return self._tools[name]
        except KeyError:
            raise NotFoundError(f"unknown tool {name!r}", hint=f"Known tools: {', '.join(self.names())}.") from None

    def names(self) -> list[str]:
        return sorted(self._tools) if self._all_loaded else sorted(self.index())

    def infos(self) -> list[ToolInfo]:
        """Every tool as listed (no tool module imported when the index is cached)."""
        index = self.index()
        return [index[n] for n in sorted(index)]

    def specs(self) -> list[ToolSpec]:
        self.load_all()
        return [self._tools[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools or (isinstance(name, str) and name in self.index())

    # validation ----------------------------------------------------------------------
    def parse_params(self, name: str, raw: Mapping[str, object] | ToolParams, *, strict: bool = False) -> ToolParams:
        """Validate raw params against the tool's own model; ``strict`` accepts only what the published JSON schema
        allows (no ``"yes"`` for a boolean, no ``"8080"`` for an integer): MCP clients send JSON that must match it.

        Raises:
            InvalidInputError: naming the first bad field and why.
        """
        spec = self.get(name)
        if isinstance(raw, spec.params_model):
            return raw
        try:
            return spec.params_model.model_validate(
                dict(raw) if isinstance(raw, Mapping) else raw.model_dump(), strict=strict or None
            )
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg'].removeprefix('Value error, ')}"
                for err in e.errors()[:5]
            )
            first = e.errors()[0].get("ctx", {}).get("error")
            raise InvalidInputError(
                f"invalid parameters for {name}: {problems}",
                hint=first.hint
                if isinstance(first, InputValueError)
                else f"Fix the parameter named in the message: see the input schema of {{tool:{name}}} (`--help` on "
                "the CLI, tools/list over MCP).",
                details={"tool": name, "errors": [_error_entry(err) for err in e.errors()[:20]]},
            ) from e

    # calling ---------------------------------------------------------------------------
    async def call(
        self,
        services: Services,
        name: str,
        params: Mapping[str, object] | ToolParams,
        *,
        progress: Progress | None = None,
        sampler: Sampler | None = None,
        decider: Decider | None = None,
        client_roots: list[Path] | None = None,
        strict: bool = False,
    ) -> ToolResult:
        """Run one tool call, tracked in the session store (``strict``: see :meth:`parse_params`), counted and
        timed in the metrics when they are on.

        Raises:
            ContainerKitError: every failure, with its code (unexpected exceptions are wrapped).
        """
        with tracing.span(f"tool {name}", tool=name):
            call = self._call(services, name, params, progress, sampler, decider, client_roots, strict)
            if not metrics.enabled():
                return await call
            started = time.perf_counter()
            outcome = "ok"
            try:
                result = await call
            except ContainerKitError as e:
                outcome = e.code
                if isinstance(e, RolloutFailedError):
                    metrics.rollout(e.code, time.perf_counter() - started)
                raise
            except BaseException:
                outcome = "CANCELLED"
                raise
            finally:
                # an unknown name is one label value, whatever a client sends
                metrics.tool_call(name if name in self._tools else "unknown", outcome, time.perf_counter() - started)
            result.record_metrics(name)
            return result

    async def _call(
        self,
        services: Services,
        name: str,
        params: Mapping[str, object] | ToolParams,
        progress: Progress | None,
        sampler: Sampler | None,
        decider: Decider | None,
        client_roots: list[Path] | None,
        strict: bool,
    ) -> ToolResult:
        """Run one tool call, tracked in the session store (``strict``: see :meth:`parse_params`).

        Raises:
            ContainerKitError: every failure, with its code (unexpected exceptions are wrapped).
        """
        spec = self.get(name)
        parsed = self.parse_params(name, params, strict=strict)
        progress = progress or NullProgress()
        if not spec.tracked:
            ctx = ToolContext(
                services=services,
                session=_NO_SESSION,
                job_id="",
                tool=name,
                progress=progress,
                sampler=sampler,
                decider=decider,
                client_roots=client_roots or [],
            )
            try:
                with logs.bind(tool=name):
                    return await spec.fn(ctx, parsed)
            except (ContainerKitError, InputNeeded):
                raise
            except Exception as e:
                log.exception("tool %s failed unexpectedly", name)
                raise wrap_unexpected(e) from e
        dumped = parsed.model_dump(mode="json", exclude={"session_id"})
        ctx = ToolContext(
            services=services,
            session=_NO_SESSION,
            job_id="",
            tool=name,
            progress=progress,
            sampler=sampler,
            decider=decider,
            client_roots=client_roots or [],
        )

        job = _JobRow(services.store, name)

        def open_session() -> None:
            if spec.read_only:
                ctx.session, pending = services.store.defer_job(parsed.session_id, name, dumped)
                job.defer(pending)
            else:
                ctx.session, job.id = services.store.begin_job(parsed.session_id, name, dumped)
            ctx.job_id = job.id

        if spec.read_only and parsed.session_id is None:
            ctx.open_session = open_session  # a read-only call without a session creates none unless it keeps something
        else:
            open_session()
        started = time.perf_counter()
        try:
            with logs.bind(tool=name, session=ctx.session.id or None, job=ctx.job_id or None):
                result = await spec.fn(ctx, parsed)
        except anyio.get_cancelled_exc_class():
            job.end("cancelled", CancelledError_(f"{name} was cancelled"))
            raise
        except KeyboardInterrupt:
            job.end("cancelled", CancelledError_(f"{name} was interrupted"))
            raise
        except (InputNeeded, BaseExceptionGroup) as e:
            need = input_needed(e)
            if need is None:
                raise
            job.end(
                "cancelled",
                CancelledError_(
                    f"{name} stopped to ask the client ({need}); the client calls it again with the answer"
                ),
            )
            raise need from None
        except ContainerKitError as e:
            if job.id:
                job.end("failed", e)
                e.details.setdefault("job_id", job.id)
                e.details.setdefault("session_id", ctx.session.id)
            raise
        except Exception as e:
            log.exception("tool %s failed unexpectedly", name)
            err = wrap_unexpected(e)
            if job.id:
                err.details.update(job_id=job.id, session_id=ctx.session.id)
                job.end("failed", err)
            raise err from e
        # every string of every result is redacted (a secret ENV line in a build step, a token in a log line)
        ids = {"session_id": ctx.session.id, "job_id": ctx.job_id}
        dumped_result = result.model_dump(mode="json")
        clean = redact_strings(dumped_result)
        # validated again only when something was masked (the usual result has nothing to mask: a copy with the ids)
        result = result.model_copy(update=ids) if clean is dumped_result else type(result).model_validate(clean | ids)
        if not job.id:
            return result
        if spec.store_result:
            services.store.put_state(ctx.session.id, f"results.{name}", result.kept().model_dump(mode="json"))
        job.end("succeeded")
        if log.isEnabledFor(logging.DEBUG):
            with logs.bind(tool=name, session=ctx.session.id, job=ctx.job_id):
                log.debug("tool %s took %.3f ms", name, (time.perf_counter() - started) * 1000)
        return result


#: a read-only call still running after this long is written as running (list_jobs and get_job_status show it);
#: a shorter one is written once, when it ends
WRITE_RUNNING_AFTER_S = 0.05


class _JobRow:
    """The job row of one tracked call: written as running at the start, or — for a read-only call (it changes
    nothing a crash could leave half-done) — once when it ends, or as running after :data:`WRITE_RUNNING_AFTER_S`
    when it runs long (an asyncio timer; at once on another event loop)."""

    def __init__(self, store: SessionStore, tool: str) -> None:
        self.store, self.tool = store, tool
        self.id = ""
        self.pending: PendingJob | None = None
        self._timer: asyncio.TimerHandle | None = None

    def defer(self, pending: PendingJob) -> None:
        self.id, self.pending = pending.id, pending
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): no timer, written now
            self.store.write_pending(pending)
            return
        self._timer = loop.call_later(WRITE_RUNNING_AFTER_S, self._write_running)

    def _write_running(self) -> None:
        if self.pending is None:
            return
        try:
            self.store.write_pending(self.pending)
        except ContainerKitError as e:  # the session is gone: the call's end says so
            log.debug("job %s of %s not written as running: %s", self.id, self.tool, e.code)

    def end(self, status: JobStatus, error: ContainerKitError | None = None) -> None:
        if not self.id:
            return
        if self._timer is not None:
            self._timer.cancel()
        self.store.end_job(self.id, status, error, tool=self.tool, pending=self.pending)


def _error_entry(err: Any) -> dict[str, Any]:
    return {"loc": [str(p) for p in err["loc"]], "msg": str(err["msg"])}


from containerkit.store.records import SessionInfo as _SessionInfo  # noqa: E402

_NO_SESSION = _SessionInfo(
    id="", created_at=0, last_access=0, expires_at=0, workspace_dir="", labels=[], version=0, state_keys=[]
)

#: The one registry every tool module registers into.
REGISTRY = ToolRegistry(tool_modules)
