"""Base models, the tool context, progress and sampling protocols.

A tool is ``async def tool(ctx: ToolContext, params: P) -> R`` where ``P`` is a
:class:`ToolParams` and ``R`` a :class:`ToolResult`. The registry fills
``session_id`` and ``job_id`` of the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, Self, TypeVar, cast, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from containerkit.errors import JSONValue, PathNotAllowedError
from containerkit.findings import Finding
from containerkit.redaction import redact
from containerkit.settings import Settings
from containerkit.store.records import ArtifactInfo, SessionInfo

if TYPE_CHECKING:
    from containerkit.engine.pool import EnginePool
    from containerkit.engine.service import Engine
    from containerkit.store import SessionStore

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Model(BaseModel):
    """Base for every typed document Container Kit exchanges."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolParams(Model):
    session_id: str | None = Field(None, description="A session_id from an earlier result; omit for a new one.")


class InputValueError(ValueError):
    """A field validator's refusal that keeps the domain error's hint (the registry puts it in INVALID_INPUT)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _valid_reference(value: str) -> str:
    from containerkit.errors import InvalidInputError
    from containerkit.imageref import parse_reference

    try:
        parse_reference(value, default_tag=False)
    except InvalidInputError as e:
        raise InputValueError(e.message, e.hint) from None
    return value


#: an image reference checked by the distribution grammar when the params are validated, so a workflow with a bad
#: reference (e.g. from `--registry`) is refused before its first step, not at the step that uses it
ImageRef = Annotated[str, AfterValidator(_valid_reference)]


def read_as(model: type[M], document: object) -> M | None:
    """A stored JSON document (a session state entry, a workflow step's outputs) read back as ``model``: None when
    there is none, or when a version that stored another shape wrote it (the reader then works it out again)."""
    if document is None:
        return None
    try:
        return model.model_validate(document)
    except ValidationError as e:
        log.debug("a stored document no longer reads as %s: %s", model.__name__, e)
        return None


class ToolResult(Model):
    session_id: str = Field("", description="The session this call ran in.")
    job_id: str = Field("", description="The job record of this call (see get_job_status).")

    def record_metrics(self, tool: str) -> None:
        """Record what this result says in the metrics (a build's duration and cache hits, a scan's findings …);
        called only while metrics are on. ``tool``: the tool that returned it."""

    def kept(self) -> BaseModel:
        """What a tool that keeps its result (``store_result``) puts in the session under ``results.<tool>``: the
        result itself, unless it is stored elsewhere already (a workflow run's steps are in the run: a reference)."""
        return self


class ValidateResult(ToolResult):
    """What every validate_* tool returns (a Dockerfile, manifests, a workflow); each adds what it validated."""

    valid: bool = Field(description="No error findings.")
    errors: int
    warnings: int
    findings: list[Finding]

    @classmethod
    def of(cls, findings: list[Finding], **subject: object) -> Self:
        """The result for these findings: valid when none is an error."""
        errors = sum(f.severity == "error" for f in findings)
        return cls.model_validate(
            {
                "valid": errors == 0,
                "errors": errors,
                "warnings": sum(f.severity == "warning" for f in findings),
                "findings": findings,
                **subject,
            }
        )


class Progress(Protocol):
    """Progress sink. Tools must work the same with :class:`NullProgress`."""

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None: ...


@dataclass(frozen=True)
class StepEvent:
    """What a workflow run says about one of its steps, as data: a change of state (``running``, ``succeeded``,
    ``failed``, ``skipped``, ``cancelled``, with the reason when there is one) or a progress message of the step's
    tool (``state`` None). The same run also reports them as progress messages for clients that read only those."""

    step_id: str
    state: str | None
    text: str = ""


@runtime_checkable
class StepEventSink(Protocol):
    """A progress sink that also takes a run's step events (the CLI's live step table)."""

    async def step_event(self, event: StepEvent) -> None: ...


class InputNeeded(Exception):  # noqa: N818 - a request for input, not an error: it never reaches a user
    """A tool needs an answer only the client can give (its model's completion) before it can go on.

    Raised by the sampler of an MCP connection that cannot send requests in the middle of a call (protocol
    2026-07-28): the adapter returns the question in an input-required round, and the client calls the tool again
    with the answer, which the sampler then gives. The registry and the workflow runner let it through (the job
    and the run are recorded as cancelled to ask), never as a failure.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def input_needed(error: BaseException) -> InputNeeded | None:
    """The :class:`InputNeeded` behind ``error`` (it may come out of a task group wrapped in an exception group)."""
    if isinstance(error, InputNeeded):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if (found := input_needed(inner)) is not None:
                return found
    return None


class NullProgress:
    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


class Sampler(Protocol):
    """Asks the MCP client's model for text (MCP sampling). Absent when the client lacks it."""

    async def complete(self, prompt: str, *, system: str | None = None, max_tokens: int = 4000) -> str: ...


class Decider(Protocol):
    """Asks the user to decide what only they can (MCP elicitation). Absent when the client cannot ask."""

    async def confirm(self, param: str, question: str) -> bool: ...


class Services:
    """The composition root's services, built lazily once, replaceable by tests.

    Domain code asks for a service by its key type with a factory that builds it
    from settings: ``ctx.services.get(EnginePool, EnginePool.from_settings)``. Tests call
    :meth:`provide` with a hand-written fake before the first use.
    """

    def __init__(self, settings: Settings, store: SessionStore | Callable[[], SessionStore]) -> None:
        self.settings = settings
        self._store = store
        self._instances: dict[object, object] = {}
        #: set by ``serve``: the workflow runs this process starts are held under a lease of this many seconds
        self.run_lease_s: float | None = None

    @property
    def store(self) -> SessionStore:
        """The session store, opened at first use (a read-only call without a session never opens it)."""
        if callable(self._store):
            self._store = self._store()
        return self._store

    @property
    def store_opened(self) -> bool:
        return not callable(self._store)

    def provide(self, key: object, instance: T) -> None:
        """Use ``instance`` for ``key`` (usually its class; tests provide fakes this way)."""
        self._instances[key] = instance

    def get(self, key: object, factory: Callable[[Settings], T]) -> T:
        """The instance for ``key``, made by ``factory`` on first use."""
        if key not in self._instances:
            self._instances[key] = factory(self.settings)
        return cast(T, self._instances[key])

    def peek(self, key: object) -> object | None:
        return self._instances.get(key)


@dataclass
class ToolContext:
    services: Services
    session: SessionInfo
    job_id: str
    tool: str
    progress: Progress = field(default_factory=NullProgress)
    sampler: Sampler | None = None
    decider: Decider | None = None
    client_roots: list[Path] = field(default_factory=list)
    #: a read-only call made without a session: opens one (and its job row) only when the tool keeps something
    #: (an artifact, a git clone in the workspace); state it would record is not kept (ADR 0083)
    open_session: Callable[[], None] | None = None

    @property
    def sessionless(self) -> bool:
        return not self.session.id

    def _need_session(self) -> None:
        if self.sessionless and self.open_session is not None:
            opener, self.open_session = self.open_session, None
            opener()

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def store(self) -> SessionStore:
        return self.services.store

    @property
    def workspace(self) -> Path:
        self._need_session()
        path = Path(self.session.workspace_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def allowed_roots(self) -> list[Path]:
        roots = [*self.settings.resolved_allowed_roots, *(r.resolve() for r in self.client_roots)]
        if self.session.workspace_dir:
            roots.append(self.workspace.resolve())
        return roots

    def engines(self) -> EnginePool:
        """The container engines: ``engine.pool``, or the one configured engine."""
        from containerkit.engine.pool import EnginePool

        return self.services.get(EnginePool, EnginePool.from_settings)

    async def engine_for(self, image: str) -> Engine:
        """The engine holding ``image`` (in a pool: the one that built it, or the first that has it)."""
        return await self.engines().for_image(image)

    def resolve_path(self, raw: str | Path, *, must_exist: bool = True) -> Path:
        """Resolve a user-given path (symlinks included) and check it is inside the allowed roots.

        Raises:
            PathNotAllowedError: outside every allowed root, or missing when ``must_exist``.
        """
        path = Path(raw).expanduser()
        if str(raw).startswith("-"):
            raise PathNotAllowedError(
                f"path {str(raw)!r} starts with '-'", hint="Prefix it with ./ if it is really a file name."
            )
        resolved = path.resolve()
        if must_exist and not resolved.exists():
            raise PathNotAllowedError(
                f"path {str(raw)!r} does not exist",
                hint="Check the path; relative paths are resolved from the current directory.",
            )
        roots = self.allowed_roots()
        if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
            raise PathNotAllowedError(
                f"path {resolved} is outside the allowed roots",
                details={"path": str(resolved), "allowed_roots": [str(r) for r in roots]},
            )
        return resolved

    async def decide(self, param: str, question: str) -> bool:
        """Whether the user agrees to what the boolean parameter ``param`` (false in this call) would allow, asked
        through the client. Without a client that can ask: False, and the tool goes on as without ``param`` and says
        which parameter changes that."""
        if self.decider is None:
            return False
        return await self.decider.confirm(param, question)

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        await self.progress.report(progress, total, redact(message) if message else message)

    def artifact(self, kind: str, name: str, content: bytes | str, media_type: str = "text/plain") -> ArtifactInfo:
        self._need_session()
        return self.store.add_artifact(self.session.id, kind, name, content, media_type=media_type, job_id=self.job_id)

    def put_state(self, key: str, value: BaseModel | JSONValue) -> int:
        """Keep ``value`` in the session under ``key`` (a model is stored as its JSON document; read it back with
        :meth:`stored` and the same model)."""
        if self.sessionless:
            return 0  # nobody can read it back: a call without a session shares nothing
        document = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        return self.store.put_state(self.session.id, key, document)

    def state(self) -> dict[str, JSONValue]:
        if self.sessionless:
            return {}
        return cast(dict[str, JSONValue], self.store.get_state(self.session.id)[0])

    def stored(self, key: str, model: type[M]) -> M | None:
        """The session's ``key`` read as ``model``: None when absent, or when it was kept by a version that stored
        another shape (the caller then works it out again, as without a session)."""
        return read_as(model, self.state().get(key))
