"""The MCP adapter: exposes every registered tool, sessions and artifacts as resources, and prompts.

Built on the SDK's low-level ``Server`` so tool listings and schemas are computed
once at start-up and a call does no per-request schema work (see ADR 0010).
"""

from __future__ import annotations

import base64
import contextvars
import json
import logging
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from containerkit import __version__, metrics, tracing
from containerkit.app import App
from containerkit.errors import (
    CancelledError_,
    ContainerKitError,
    InvalidInputError,
    NotFoundError,
    SessionExpiredError,
    wrap_unexpected,
)
from containerkit.hints import render_data
from containerkit.mcp.prompts import PROMPTS
from containerkit.redaction import redact, redact_data
from containerkit.tools import Sampler, ToolInfo, ToolResult, ToolSpec
from containerkit.tools.base import Decider, InputNeeded

log = logging.getLogger("containerkit.mcp")
Ctx = ServerRequestContext[Any, Any]

INSTRUCTIONS = (
    "Container Kit takes a repository to a verified deployment. Start with containerize (the "
    "pipeline) or analyze_repository. Tools that change nothing run without a session unless you pass one; the first "
    "tool that keeps something (generate_dockerfile, build_image, …) returns a session_id: pass it to later calls so "
    "they "
    "share state. "
    "Errors carry a code and a hint saying what to do next."
)


def tool_definition(spec: ToolInfo) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema,
        output_schema=spec.output_schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def error_data(error: ContainerKitError) -> dict[str, Any]:
    """The error document for an MCP client: redacted, its hint naming tools (not CLI commands)."""
    data: dict[str, Any] = render_data(redact_data(error.to_dict()), "mcp")
    return data


def error_result(error: ContainerKitError) -> types.CallToolResult:
    """A tool error the client's model can act on: code, message, hint, details — never a traceback."""
    data = error_data(error)
    text = f"{error.code}: {redact(error.message)}\nhint: {data['hint']}"
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=text),
            types.TextContent(type="text", text=json.dumps(data, default=str)),
        ],
        is_error=True,
    )


#: the most values one completion answer carries (the protocol's limit)
COMPLETIONS = 100


def _completions(app: App, wanted: str, typed: str) -> list[str]:
    """Session ids, or artifact ids (newest first), that start with ``typed``; an artifact also matches by its name
    or kind (typing ``Dockerfile`` offers the ids of the Dockerfiles)."""
    store = app.services.store
    sessions = store.list_sessions()
    if wanted == "session":
        return [s.id for s in sorted(sessions, key=lambda s: -s.last_access) if s.id.startswith(typed)]
    artifacts = sorted((a for s in sessions for a in store.list_artifacts(s.id)), key=lambda a: -a.created_at)
    lowered = typed.lower()
    return [
        a.id
        for a in artifacts
        if a.id.startswith(typed) or a.name.lower().startswith(lowered) or a.kind.lower().startswith(lowered)
    ]


#: MCP's log levels (RFC 5424), least severe first
LOG_LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
#: what a handshake-era client gets before it sends logging/setLevel
DEFAULT_LOG_LEVEL: types.LoggingLevel = "warning"
_CALL_LOG: contextvars.ContextVar[list[tuple[types.LoggingLevel, str, str]] | None] = contextvars.ContextVar(
    "containerkit_mcp_call_log", default=None
)


def mcp_level(levelno: int) -> types.LoggingLevel:
    return (
        "critical"
        if levelno >= logging.CRITICAL
        else "error"
        if levelno >= logging.ERROR
        else "warning"
        if levelno >= logging.WARNING
        else "info"
        if levelno >= logging.INFO
        else "debug"
    )


class _CallLogCapture(logging.Handler):
    """Keeps each ``containerkit`` log record emitted while a tool call runs (in its tasks and worker threads,
    which carry its context) for that call's client; records of other calls and of no call are not its business."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _CALL_LOG.get()
        if buffer is not None:
            buffer.append((mcp_level(record.levelno), record.name, record.getMessage()))


_CAPTURE = _CallLogCapture()


class ClientLog:
    """notifications/message for one tool call: the server's own log records and the tool's progress messages,
    redacted, at or above the level the client asked for (logging/setLevel on handshake-era connections; on
    2026-07-28 the request's own opt-in, which the SDK applies)."""

    def __init__(self, ctx: Ctx, level: types.LoggingLevel, logger: str) -> None:
        self._session = ctx.session
        self._least = LOG_LEVELS.index(level)
        self._logger = logger
        self.buffer: list[tuple[types.LoggingLevel, str, str]] = []

    async def send(self, level: types.LoggingLevel, message: str, logger: str | None = None) -> None:
        if LOG_LEVELS.index(level) < self._least:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await self._session.send_log_message(level, redact(message), logger or self._logger)
        except Exception as e:  # a client that went away: the call itself goes on
            log.debug("log notification not sent: %s", e)

    async def flush(self) -> None:
        while self.buffer:
            level, logger, message = self.buffer.pop(0)
            await self.send(level, message, logger)


class SessionProgress:
    """Sends notifications/progress for the current request (a no-op when the client sent no token).

    MCP requires the progress value to increase with every notification. Tools report on their own scales (a workflow
    forwards each step's progress between its own step counts), so a value that would not increase is sent as a hair
    above the last one, without a total it might exceed: the message still says what happened.
    """

    STEP = 1e-3

    def __init__(self, ctx: Ctx, client_log: ClientLog | None = None) -> None:
        self._session = ctx.session
        self._last: float | None = None
        self._log = client_log

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self._last is not None and progress <= self._last:
            progress = self._last + self.STEP
            if total is not None and progress > total:
                total = None
        self._last = progress
        await self._session.report_progress(progress, total, message)
        if self._log is not None:  # the same messages as log lines (build output in the client's log view)
            await self._log.flush()
            if message:
                await self._log.send("info", message)


class ClientSampler:
    """Asks the client's model through sampling/createMessage."""

    def __init__(self, ctx: Ctx) -> None:
        self._session = ctx.session

    async def complete(self, prompt: str, *, system: str | None = None, max_tokens: int = 4000) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await self._session.create_message(
                [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
                max_tokens=max_tokens,
                system_prompt=system,
            )
        content = result.content
        return content.text if isinstance(content, types.TextContent) else ""


def _client_declares(ctx: Ctx, capability: str) -> bool:
    caps = getattr(ctx.session, "client_capabilities", None)
    return caps is not None and getattr(caps, capability, None) is not None


def _client_has(ctx: Ctx, capability: str) -> bool:
    """The client declared ``capability`` and this connection can carry server-to-client requests in mid-call
    (every handshake-era protocol, 2024-11-05 to 2025-11-25)."""
    return _client_declares(ctx, capability) and bool(getattr(ctx.session, "can_send_request", False))


def _connection(ctx: Ctx) -> Any:
    """What stays the same across the requests of one connection (the SDK makes a session object per request; the
    connection behind it has no public name yet): where logging/setLevel's level is kept."""
    return getattr(ctx.session, "_connection", ctx.session)


def _rounds_era(ctx: Ctx) -> bool:
    """A connection without mid-call requests (2026-07-28 on): roots and sampling go through input-required rounds."""
    return not bool(getattr(ctx.session, "can_send_request", False))


class InputRounds:
    """What the client gave in the input-required rounds of one ``tools/call`` (protocol 2026-07-28, SEP-2322).

    A round returns :class:`types.InputRequiredResult` with the requests and this state; the client answers them
    and repeats the call with the answers and the state, so each repetition knows everything given so far. The
    state holds only what the client itself gave (its roots, its model's answers): a client that edits it changes
    nothing it could not have answered differently anyway.
    """

    ROOTS = "roots"

    def __init__(self, params: types.CallToolRequestParams) -> None:
        state: dict[str, Any] = {}
        if params.request_state:
            try:
                loaded = json.loads(params.request_state)
                state = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                state = {}
        roots = state.get("roots")
        self.roots: list[str] | None = [str(r) for r in roots] if isinstance(roots, list) else None
        answers = state.get("answers")
        self.answers: dict[str, str] = {str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {}
        for key, response in (params.input_responses or {}).items():
            if key == self.ROOTS and isinstance(getattr(response, "roots", None), list):
                self.roots = [str(root.uri) for root in response.roots]  # type: ignore[union-attr]
            elif key.startswith("decide-") and isinstance(response, types.ElicitResult):
                agreed = response.action == "accept" and bool((response.content or {}).get(CONFIRM))
                self.answers[key] = "yes" if agreed else "no"
            elif key.startswith("sample-") and hasattr(response, "content"):
                content = response.content
                self.answers[key] = content.text if isinstance(content, types.TextContent) else ""

    def state(self) -> str:
        return json.dumps({"roots": self.roots, "answers": self.answers})

    def root_paths(self) -> list[Path]:
        return _file_roots(self.roots or [])

    def ask(self, requests: dict[str, Any]) -> types.InputRequiredResult:
        return types.InputRequiredResult(input_requests=requests, request_state=self.state())


class _AskTheClient(InputNeeded):
    def __init__(self, key: str, request: types.CreateMessageRequest | types.ElicitRequest) -> None:
        super().__init__(
            key, "a completion from the client's model" if key.startswith("sample-") else "the user's decision"
        )
        self.request = request


#: the one field of a confirmation form
CONFIRM = "confirm"


def confirmation_schema(param: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [CONFIRM],
        "properties": {
            CONFIRM: {
                "type": "boolean",
                "title": "Go ahead",
                "default": False,
                "description": f"Yes does what the parameter {param}=true would (pass it to skip this question).",
            }
        },
    }


class RoundAsker:
    """Sampling and decisions by input-required rounds: an answer the client gave in an earlier round is returned; a
    new question stops the tool (:class:`InputNeeded`) so the adapter can ask it.

    The n-th question of a kind gets the n-th answer: the tool runs again from the start with the answers, and a
    question's text may differ between runs (a build log names new container ids), its place does not."""

    def __init__(self, rounds: InputRounds, *, sampling: bool, elicitation: bool) -> None:
        self._rounds = rounds
        self.sampling, self.elicitation = sampling, elicitation
        self._asked = {"sample": 0, "decide": 0}

    def _key(self, kind: str) -> str:
        self._asked[kind] += 1
        return f"{kind}-{self._asked[kind]}"

    async def complete(self, prompt: str, *, system: str | None = None, max_tokens: int = 4000) -> str:
        key = self._key("sample")
        if key in self._rounds.answers:
            return self._rounds.answers[key]
        raise _AskTheClient(
            key,
            types.CreateMessageRequest(
                params=types.CreateMessageRequestParams(
                    messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
                    max_tokens=max_tokens,
                    system_prompt=system,
                )
            ),
        )

    async def confirm(self, param: str, question: str) -> bool:
        key = self._key("decide")
        if key in self._rounds.answers:
            return self._rounds.answers[key] == "yes"
        raise _AskTheClient(
            key,
            types.ElicitRequest(
                params=types.ElicitRequestFormParams(
                    message=redact(question), requested_schema=confirmation_schema(param)
                )
            ),
        )


class ClientDecider:
    """Asks the user through elicitation/create in the middle of the call (handshake-era connections)."""

    def __init__(self, ctx: Ctx) -> None:
        self._session = ctx.session

    async def confirm(self, param: str, question: str) -> bool:
        result = await self._session.elicit_form(redact(question), confirmation_schema(param))
        return result.action == "accept" and bool((result.content or {}).get(CONFIRM))


def _file_roots(uris: list[str]) -> list[Path]:
    roots = []
    for uri in uris:
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            roots.append(Path(unquote(parsed.path)))
    return roots


async def _client_roots(ctx: Ctx) -> list[Path]:
    if not _client_has(ctx, "roots"):
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
    except Exception as e:  # a client that declared roots but cannot answer: work without them
        log.debug("roots/list failed: %s", e)
        return []
    return _file_roots([str(root.uri) for root in result.roots])


#: protocol versions from this one on retired -32002 (resource not found): they answer -32602 (invalid params)
_RETIRED_32002_FROM = "2026-07-28"
RESOURCE_NOT_FOUND = -32002
_TEXT_TYPES = (
    "application/json",
    "application/yaml",
    "application/x-yaml",
    "application/sarif+json",
    "application/xml",
    "application/vnd.cyclonedx+json",
    "application/toml",
    "application/javascript",
)


def resource_not_found_code(ctx: Ctx) -> int:
    version = str(getattr(ctx, "protocol_version", "") or "")
    return types.INVALID_PARAMS if version >= _RETIRED_32002_FROM else RESOURCE_NOT_FOUND


def _code_for(error: ContainerKitError) -> int:
    return types.INVALID_PARAMS if isinstance(error, InvalidInputError | NotFoundError) else types.INTERNAL_ERROR


def protocol_error(code: int, error: ContainerKitError) -> MCPError:
    """A JSON-RPC error carrying our error document (code, hint, details) in ``data``."""
    return MCPError(code=code, message=f"{error.code}: {redact(error.message)}", data=error_data(error))


def is_text(media_type: str, content: bytes) -> bool:
    """Served as text: a text media type whose bytes are UTF-8; everything else goes out as a base64 blob."""
    base = media_type.split(";")[0].strip().lower()
    if not (base.startswith("text/") or base in _TEXT_TYPES or base.endswith(("+json", "+yaml", "+xml"))):
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class InFlight:
    """The tool calls a server is running, so a shutdown can cancel them (each cleans up and answers CANCELLED)."""

    def __init__(self) -> None:
        self.scopes: set[anyio.CancelScope] = set()
        self.closing = False

    def cancel_all(self) -> None:
        self.closing = True
        for scope in list(self.scopes):
            scope.cancel()


class LazyApp:
    """The app (settings, store) built when a request first needs it: ``initialize`` and ``tools/list`` are answered
    without reading settings or opening the store. A bad setting then answers that request with CONFIG_ERROR and
    its hint (the client shows it) instead of a server that dies before the handshake."""

    def __init__(self, build: Callable[[], App]) -> None:
        self._build = build
        self._app: App | None = None

    def __call__(self) -> App:
        if self._app is None:
            self._app = self._build()
        return self._app

    @property
    def built(self) -> App | None:
        return self._app


#: ``serve --toolsets``: each toolset and the tool groups it holds
TOOLSETS: dict[str, frozenset[str]] = {
    "analysis": frozenset({"analysis", "dockerfile"}),
    "build": frozenset({"engine", "sandbox"}),
    "scan": frozenset({"scan"}),
    "k8s": frozenset({"k8s"}),
    "workflow": frozenset({"workflow"}),
    "sessions": frozenset({"sessions", "general"}),
}


@dataclass(frozen=True)
class Exposure:
    """Which tools a server lists and runs: ``toolsets`` (None: all) and ``read_only`` (only tools that change
    nothing). A tool outside them is not listed, and calling it is refused as an unknown tool is, with the reason."""

    toolsets: frozenset[str] | None = None
    read_only: bool = False

    @classmethod
    def parse(cls, toolsets: str | None, read_only: bool = False) -> Exposure:
        names = None if not toolsets else frozenset(t.strip() for t in toolsets.split(",") if t.strip())
        unknown = sorted((names or frozenset()) - set(TOOLSETS))
        if unknown:
            raise InvalidInputError(
                f"unknown toolset(s) {', '.join(unknown)}", hint=f"Toolsets: {', '.join(TOOLSETS)}."
            )
        return cls(names, read_only)

    def groups(self) -> frozenset[str] | None:
        return None if self.toolsets is None else frozenset().union(*(TOOLSETS[t] for t in self.toolsets))

    def refusal(self, info: ToolInfo) -> str | None:
        groups = self.groups()
        if groups is not None and info.group not in groups:
            toolset = toolset_of(info.group)
            return f"it belongs to the toolset {toolset}, which this server does not serve (serve --toolsets)"
        if self.read_only and not info.read_only:
            return "it changes things and this server is read-only (serve --read-only)"
        return None


def toolset_of(group: str) -> str:
    return next((t for t, groups in TOOLSETS.items() if group in groups), group)


def scope_refusal(scopes: frozenset[str] | None, info: ToolInfo) -> str | None:
    """Why a token with ``scopes`` may not use the tool (None: it may; ``scopes`` None: the static token, any tool).
    The scopes are :mod:`containerkit.mcp.oidc`'s."""
    from containerkit.mcp.oidc import SCOPE_ALL, SCOPE_READ

    toolset = toolset_of(info.group)
    if scopes is None or SCOPE_ALL in scopes or f"{SCOPE_ALL}:{toolset}" in scopes:
        return None
    if SCOPE_READ in scopes and info.read_only:
        return None
    needs = f"{SCOPE_ALL} or {SCOPE_ALL}:{toolset}" + (f" or {SCOPE_READ}" if info.read_only else "")
    return f"the token's scopes ({' '.join(sorted(scopes)) or 'none'}) do not allow it (it needs {needs})"


def _grant_scopes(ctx: Ctx) -> frozenset[str] | None:
    """The scopes the HTTP request's bearer token granted (None: no OIDC token on this request — stdio, or the
    static token)."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    grant = (scope.get("state") or {}).get("containerkit_grant")
    return getattr(grant, "scopes", None)


def build_server(app: App | LazyApp, inflight: InFlight | None = None, exposure: Exposure | None = None) -> Server[Any]:
    from containerkit.tools import REGISTRY

    registry = app.registry if isinstance(app, App) else REGISTRY
    current = app if isinstance(app, LazyApp) else LazyApp(lambda: app)
    running = inflight or InFlight()
    exposed = exposure or Exposure()
    levels: weakref.WeakKeyDictionary[Any, types.LoggingLevel] = weakref.WeakKeyDictionary()  # per connection
    server_log = logging.getLogger("containerkit")
    if _CAPTURE not in server_log.handlers:
        server_log.addHandler(_CAPTURE)
    # built at the first tools/list, from the tool index (ADR 0098); one per set of token scopes
    listing: dict[frozenset[str] | None, types.ListToolsResult] = {}

    async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        scopes = _grant_scopes(ctx)
        if scopes not in listing:
            listing[scopes] = types.ListToolsResult(
                tools=[
                    tool_definition(info)
                    for info in registry.infos()
                    if exposed.refusal(info) is None and scope_refusal(scopes, info) is None
                ]
            )
        return listing[scopes]

    async def call_tool(
        ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            info = registry.index().get(params.name)
            refusal = (exposed.refusal(info) or scope_refusal(_grant_scopes(ctx), info)) if info is not None else None
            if refusal is not None:
                raise NotFoundError(
                    f"tool {params.name!r} is not available here: {refusal}",
                    hint="Use the tools this server lists, or restart it without that restriction.",
                )
            spec = registry.get(params.name)
        except NotFoundError as e:  # the specification's answer to an unknown tool: a protocol error, invalid params
            raise protocol_error(types.INVALID_PARAMS, e) from None
        rounds = InputRounds(params) if _rounds_era(ctx) else None
        client_log = ClientLog(
            ctx,
            "debug" if rounds is not None else levels.get(_connection(ctx), DEFAULT_LOG_LEVEL),
            f"containerkit.{params.name}",
        )
        token = _CALL_LOG.set(client_log.buffer)
        try:
            # a trace the client started (W3C traceparent in _meta) continues in the tool's spans
            with metrics.mcp_request(), tracing.remote_parent(params.meta if isinstance(params.meta, dict) else None):
                return await _call_tool(ctx, params, spec, rounds, client_log)
        finally:
            _CALL_LOG.reset(token)
            await client_log.flush()

    async def _call_tool(
        ctx: Ctx,
        params: types.CallToolRequestParams,
        spec: ToolSpec,
        rounds: InputRounds | None,
        client_log: ClientLog,
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            sampler: Sampler | None
            decider: Decider | None
            if rounds is not None:
                if _client_declares(ctx, "roots") and rounds.roots is None:  # first round: the client's roots
                    return rounds.ask({InputRounds.ROOTS: types.ListRootsRequest()})
                asker = RoundAsker(
                    rounds, sampling=_client_declares(ctx, "sampling"), elicitation=_client_declares(ctx, "elicitation")
                )
                sampler = asker if asker.sampling else None
                decider = asker if asker.elicitation else None
                roots = rounds.root_paths()
            else:
                sampler = ClientSampler(ctx) if _client_has(ctx, "sampling") else None
                decider = ClientDecider(ctx) if _client_has(ctx, "elicitation") else None
                roots = await _client_roots(ctx)
            with anyio.CancelScope() as scope:
                running.scopes.add(scope)
                if running.closing:
                    scope.cancel()
                try:
                    result: ToolResult = await registry.call(
                        current().services,
                        spec.name,
                        params.arguments or {},
                        progress=SessionProgress(ctx, client_log),
                        sampler=sampler,
                        decider=decider,
                        client_roots=roots,
                        strict=True,
                    )
                finally:
                    running.scopes.discard(scope)
            if scope.cancelled_caught:
                return error_result(
                    CancelledError_(
                        f"{spec.name} was cancelled: the server is shutting down",
                        hint="Call it again when the server is back.",
                    )
                )
        except _AskTheClient as ask:
            assert rounds is not None  # raised only by a RoundAsker, which exists only with rounds
            return rounds.ask({ask.key: ask.request})
        except ContainerKitError as e:
            return error_result(e)
        except Exception as e:
            log.exception("tool %s failed", params.name)
            return error_result(wrap_unexpected(e))
        data = render_data(result.model_dump(mode="json"), "mcp")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(data, default=str))], structured_content=data
        )

    async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        """Completions for what names a stored thing: session://{id}, artifact://{id} and a prompt's session_id."""
        ref, typed = params.ref, params.argument.value
        uri = ref.uri if isinstance(ref, types.ResourceTemplateReference) else ""
        wanted = (
            "session"
            if uri.startswith("session://")
            or (isinstance(ref, types.PromptReference) and params.argument.name == "session_id")
            else "artifact"
            if uri.startswith("artifact://")
            else None
        )
        values: list[str] = []
        if wanted is not None:
            try:
                values = await anyio.to_thread.run_sync(_completions, current(), wanted, typed)
            except ContainerKitError as e:
                raise protocol_error(_code_for(e), e) from None
        return types.CompleteResult(
            completion=types.Completion(
                values=values[:COMPLETIONS], total=len(values), has_more=len(values) > COMPLETIONS
            )
        )

    async def set_logging_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        levels[_connection(ctx)] = params.level
        return types.EmptyResult()

    async def list_resources(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        try:
            sessions = current().services.store.list_sessions()
        except ContainerKitError as e:
            raise protocol_error(_code_for(e), e) from None
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name=f"session {s.id}",
                    uri=f"session://{s.id}",
                    mime_type="application/json",
                    description=f"labels: {', '.join(s.labels) or '-'}; state: {', '.join(s.state_keys) or '-'}",
                )
                for s in sessions
            ]
        )

    async def list_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name="session",
                    uri_template="session://{id}",
                    mime_type="application/json",
                    description="A session: state document, labels, recent jobs, errors, artifacts.",
                ),
                types.ResourceTemplate(
                    name="artifact",
                    uri_template="artifact://{id}",
                    description="An artifact's content (Dockerfile, manifests, build log, scan report).",
                ),
            ]
        )

    async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        try:
            return _read_resource(str(params.uri))
        except ContainerKitError as e:
            raise protocol_error(
                resource_not_found_code(ctx) if isinstance(e, NotFoundError | SessionExpiredError) else _code_for(e), e
            ) from None
        except Exception as e:
            log.exception("resources/read %s failed", params.uri)
            raise protocol_error(types.INTERNAL_ERROR, wrap_unexpected(e)) from None

    def _read_resource(uri: str) -> types.ReadResourceResult:
        scheme, _, ident = uri.partition("://")
        store = current().services.store
        if scheme == "session" and ident:
            detail = store.get_session(ident)
            doc = {
                "session": detail.model_dump(mode="json"),
                "jobs": [j.model_dump(mode="json") for j in store.list_jobs(ident, limit=50)],
                "errors": [e.model_dump(mode="json") for e in store.list_errors(ident, limit=20)],
                "artifacts": [a.model_dump(mode="json") for a in store.list_artifacts(ident)],
            }
            text = json.dumps(doc, default=str)
            return types.ReadResourceResult(
                contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
            )
        if scheme == "artifact" and ident:
            info, content = store.get_artifact(ident)
            if is_text(info.media_type, content):
                return types.ReadResourceResult(
                    contents=[
                        types.TextResourceContents(uri=uri, mime_type=info.media_type, text=content.decode("utf-8"))
                    ]
                )
            return types.ReadResourceResult(
                contents=[
                    types.BlobResourceContents(
                        uri=uri, mime_type=info.media_type, blob=base64.b64encode(content).decode("ascii")
                    )
                ]
            )
        raise NotFoundError(f"unknown resource {uri!r}", hint="Use session://{id} or artifact://{id}.")

    async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=p.name,
                    title=p.title,
                    description=p.description,
                    arguments=[
                        types.PromptArgument(name=a.name, description=a.description, required=a.required)
                        for a in p.arguments
                    ],
                )
                for p in PROMPTS
            ]
        )

    async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            return _get_prompt(params)
        except ContainerKitError as e:  # unknown prompt, missing argument: invalid params, as the specification says
            raise protocol_error(_code_for(e), e) from None
        except Exception as e:
            log.exception("prompts/get %s failed", params.name)
            raise protocol_error(types.INTERNAL_ERROR, wrap_unexpected(e)) from None

    def _get_prompt(params: types.GetPromptRequestParams) -> types.GetPromptResult:
        prompt = next((p for p in PROMPTS if p.name == params.name), None)
        if prompt is None:
            raise InvalidInputError(
                f"unknown prompt {params.name!r}", hint=f"Prompts: {', '.join(p.name for p in PROMPTS)}."
            )
        args = dict(params.arguments or {})
        missing = [a.name for a in prompt.arguments if a.required and not args.get(a.name)]
        if missing:
            raise InvalidInputError(f"prompt {prompt.name} needs argument(s) {', '.join(missing)}")
        return types.GetPromptResult(
            description=prompt.description,
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=prompt.render(args)))
            ],
        )

    with warnings.catch_warnings():  # logging/setLevel is deprecated from 2026-07-28 on; earlier clients use it
        warnings.simplefilter("ignore")
        return Server(
            "containerkit",
            version=__version__,
            title="Container Kit",
            instructions=INSTRUCTIONS,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_resources=list_resources,
            on_list_resource_templates=list_templates,
            on_read_resource=read_resource,
            on_list_prompts=list_prompts,
            on_get_prompt=get_prompt,
            on_set_logging_level=set_logging_level,
            on_completion=complete,
        )
