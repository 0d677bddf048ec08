"""The whole exception tree.

Every failure a tool can report is a :class:`ContainerKitError` with a stable
``code`` (what workflows route on), a ``hint`` (what the user should do next),
a ``retryable`` flag and optional structured ``details``. Packages wrap
third-party exceptions at their boundary (``raise ... from e``) so docker,
httpx and sqlite3 exceptions never escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Generic, TypedDict, TypeVar, cast

JSONScalar = str | int | float | bool | None
Details = dict[str, "JSONValue"]
JSONValue = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]


# --- typed details: one model per error family, shared by who raises and who reads (fixers, CLI, reports) ---------


class BuildDetails(TypedDict, total=False):
    dockerfile: str
    line: int | None
    step: str | None
    step_number: int | None
    engine_message: str
    log_tail: str
    #: the log line that says why (a missing compiler, pip's or npm's own error line), when one does
    cause: str
    # CONTEXT_TOO_LARGE
    size_bytes: int
    limit_mb: int
    largest: list[JSONValue]
    dockerignore_patterns: int


class SmokeDetails(TypedDict, total=False):
    expected_port: int | None
    listening_ports: list[int]
    exit_code: int | None
    oom_killed: bool
    log_tail: str
    #: the log line that says why it exited or did not answer
    cause: str


class RolloutDetails(TypedDict, total=False):
    diagnostics: dict[str, JSONValue]
    rollout: dict[str, JSONValue]
    probe: dict[str, JSONValue]
    rolled_back: bool
    rollback_revision: int | None
    rollback: JSONValue
    images: list[str]


#: the longest wait a server's Retry-After gets from us before the next attempt
MAX_RETRY_AFTER_S = 120.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header: a number of seconds or an HTTP date; None when absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class ManifestDetails(TypedDict, total=False):
    # the API server's answer (k8s/client.py)
    status: int
    api_message: str
    operation: str
    causes: list[JSONValue]
    #: the undeclared field a server-side apply named
    field: str
    # offline validation (validate_manifests)
    findings: list[JSONValue]
    errors: int
    warnings: int
    objects: int
    kubernetes_version: str


class WorkflowDetails(TypedDict, total=False):
    run_id: str
    #: every problem of an invalid spec
    problems: list[JSONValue]
    #: the steps of a failed run (StepSummary documents) and which failed
    steps: list[JSONValue]
    failed_steps: list[JSONValue]
    step_error: JSONValue
    #: what failure routing decided, when it gave up
    routing: str


class RegistryDetails(TypedDict, total=False):
    registry: str
    reference: str
    #: the engine's own words (redacted) for a failed push or pull
    engine_message: str
    #: the registry's HTTP status
    status: int
    scope: str
    attempts: int
    #: IMAGE_MISMATCH / DIGEST_MISMATCH: what the registry serves under the tag and what was pushed
    served_images: list[JSONValue]
    expected_image: str
    served: str
    pushed: str


class PolicyDetails(TypedDict, total=False):
    #: the scan or secret gate: its one-line summary, the policy result and the report
    summary: str
    policy: JSONValue
    report: JSONValue
    report_artifact: str
    counts: JSONValue
    #: files the scan wrote (--sarif, --sbom) before the gate failed
    written: list[JSONValue]
    #: the production guard of deploy: where it would have deployed
    context: str
    namespace: str
    #: the sandbox policy
    allowed_images: list[JSONValue]
    limit: str


class ScanDetails(TypedDict, total=False):
    db_path: str
    tail: str
    url: str
    #: the SBOM written although matching could not run
    sbom_written: str
    cyclonedx: str
    spdx: str


class CommandDetails(TypedDict, total=False):
    argv: list[JSONValue]
    returncode: int
    tail: str


class ContainerKitError(Exception):
    """Root of every error Container Kit raises on purpose."""

    default_code: ClassVar[str] = "INTERNAL"
    default_hint: ClassVar[str] = "This is a bug in Container Kit; please report it with the job id."
    default_retryable: ClassVar[bool] = False
    #: CLI exit status for this family of errors (usage errors use 2).
    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
        details: Mapping[str, object] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint if hint is not None else self.default_hint
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details: Details = cast(Details, dict(details or {}))
        #: how long the server asked us to wait before trying again (HTTP Retry-After), when it said
        self.retry_after_s = retry_after_s

    def retry_delay(self, backoff_s: float) -> float:
        """How long to wait before the next attempt: the caller's backoff, or longer when the server asked for it
        (capped at :data:`MAX_RETRY_AFTER_S`). Every retry loop asks the error; none keeps a list of codes."""
        return max(backoff_s, min(self.retry_after_s or 0.0, MAX_RETRY_AFTER_S))

    def to_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "retryable": self.retryable,
            "details": self.details,
        }
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        return out

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


D = TypeVar("D")  # the TypedDict of an error family's details


class TypedDetailsError(ContainerKitError, Generic[D]):
    """An error family whose details have a TypedDict (:class:`BuildDetails`, :class:`RolloutDetails` …): the
    constructor takes that type, so a writer cannot put a key its readers do not know, and :attr:`typed_details`
    reads them back with it."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
        details: D | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            hint=hint,
            retryable=retryable,
            details=cast("Mapping[str, object] | None", details),
            retry_after_s=retry_after_s,
        )

    @property
    def typed_details(self) -> D:
        return cast(D, self.details)


# --- input and state --------------------------------------------------------


class InvalidInputError(ContainerKitError):
    default_code = "INVALID_INPUT"
    default_hint = "Check the value named in the message and try again."
    exit_code = 2


class PathNotAllowedError(InvalidInputError):
    default_code = "PATH_NOT_ALLOWED"
    default_hint = (
        "Use a path inside the allowed roots, or add its parent to "
        "CONTAINERKIT_ALLOWED_ROOTS (or the MCP client's roots)."
    )


class NotFoundError(ContainerKitError):
    default_code = "NOT_FOUND"
    default_hint = "Check the id or name; list what exists with the matching list command."


class SessionExpiredError(ContainerKitError):
    default_code = "SESSION_EXPIRED"
    default_hint = "The session expired and its data was removed; start a new session (omit session_id)."


class ConflictError(ContainerKitError):
    default_code = "CONFLICT"
    default_hint = "Another writer changed the same object; retry the operation."
    default_retryable = True


class QuotaExceededError(ContainerKitError):
    default_code = "QUOTA_EXCEEDED"
    default_hint = "Delete old artifacts or sessions, or raise CONTAINERKIT_SESSION_DISK_QUOTA_MB."


class StoreError(ContainerKitError):
    default_code = "STORE_ERROR"
    default_hint = (
        "Check the session store: the SQLite file (CONTAINERKIT_STORE_PATH) is writable and not corrupted, or the "
        "PostgreSQL server of CONTAINERKIT_STORE__URL answers."
    )


class SchemaTooNewError(StoreError):
    default_code = "STORE_SCHEMA_TOO_NEW"
    default_hint = (
        "The session store was written by a newer Container Kit; upgrade, or point CONTAINERKIT_STORE_PATH (or "
        "CONTAINERKIT_STORE__URL) elsewhere."
    )


class ConfigError(ContainerKitError):
    default_code = "CONFIG_ERROR"
    default_hint = "Fix the setting named in the message (environment variable or config file)."
    exit_code = 2


class PolicyViolationError(TypedDetailsError[PolicyDetails]):
    default_code = "POLICY_VIOLATION"
    default_hint = "The request exceeds the configured policy; change the request or the policy in settings."
    exit_code = 3


# --- external systems --------------------------------------------------------


class TimeoutError_(ContainerKitError):  # noqa: N801, N818 - avoid shadowing the builtin
    default_code = "TIMEOUT"
    default_hint = "The operation took longer than its deadline; raise the timeout or check the remote side."
    default_retryable = True


class CancelledError_(ContainerKitError):  # noqa: N801, N818
    default_code = "CANCELLED"
    default_hint = "The operation was cancelled; run it again when ready."


class InterruptedError_(ContainerKitError):  # noqa: N801, N818 - avoid shadowing the builtin
    """The process that was doing the work is gone (killed, crashed, machine restarted)."""

    default_code = "INTERRUPTED"
    default_hint = "The process running it was killed or crashed; run it again, or resume the workflow run."


class ToolMissingError(ContainerKitError):
    default_code = "TOOL_MISSING"
    default_hint = "Install the missing program and make sure it is on PATH."


class CommandFailedError(TypedDetailsError[CommandDetails]):
    default_code = "COMMAND_FAILED"
    default_hint = "See the output tail in the details."


class EngineError(ContainerKitError):
    """Container engine failures (build, run, tag, inspect)."""

    default_code = "ENGINE_ERROR"
    default_hint = "See the details; check the engine with `docker info`."


class EngineUnavailableError(EngineError):
    default_code = "ENGINE_UNAVAILABLE"
    default_hint = "Start the container engine (dockerd or podman) or set DOCKER_HOST to a reachable one."
    default_retryable = True


class BuildError(TypedDetailsError[BuildDetails], EngineError):
    """A build failed; ``code`` classifies why (DOCKERFILE_SYNTAX, COPY_SOURCE_MISSING, ...)."""

    default_code = "BUILD_FAILED"
    default_hint = "Read the failing step and the log tail in the details."


class SmokeTestError(TypedDetailsError[SmokeDetails]):
    """The image did not start and answer (``code`` SMOKE_EXITED, SMOKE_WRONG_PORT, SMOKE_LOOPBACK_ONLY,
    SMOKE_NO_ANSWER)."""

    default_code = "SMOKE_FAILED"
    default_hint = "Read the container's log lines in the details."


class RegistryError(TypedDetailsError[RegistryDetails]):
    default_code = "REGISTRY_ERROR"
    default_hint = "Check the registry address and that it is reachable."
    default_retryable = True


class RegistryAuthError(RegistryError):
    default_code = "REGISTRY_AUTH"
    default_hint = (
        "Log in to the registry (`docker login REGISTRY`) or pass credentials "
        "(CONTAINERKIT_REGISTRY_USERNAME / --password-stdin)."
    )
    default_retryable = False


class NetworkError(ContainerKitError):
    default_code = "NETWORK"
    default_hint = "A network operation failed; check connectivity, proxies and DNS."
    default_retryable = True


class ScanError(TypedDetailsError[ScanDetails]):
    default_code = "SCAN_FAILED"
    default_hint = "See the details; check the scanner database with {tool:db_status}."


class KubernetesError(ContainerKitError):
    default_code = "K8S_ERROR"
    default_hint = "Check the kubeconfig, context and cluster reachability (`kubectl cluster-info`)."


class ClusterUnreachableError(KubernetesError):
    default_code = "K8S_UNREACHABLE"
    default_hint = (
        "The API server does not answer: start the cluster or pick a reachable context (--context / KUBECONFIG)."
    )
    default_retryable = True


class KubeconfigError(KubernetesError):
    default_code = "K8S_CONFIG"
    default_hint = (
        "Check KUBECONFIG (or CONTAINERKIT_K8S__KUBECONFIG) and the context name (`kubectl config get-contexts`)."
    )
    exit_code = 2


class ForbiddenError(KubernetesError):
    default_code = "K8S_FORBIDDEN"
    default_hint = (
        "Your Kubernetes user lacks a permission (RBAC): ask for a Role granting the verb on the resource named here."
    )


class NamespaceMissingError(KubernetesError):
    default_code = "K8S_NAMESPACE_MISSING"
    default_hint = "Create the namespace first, or pass --create-namespace (create_namespace=true)."


class ManifestInvalidError(TypedDetailsError[ManifestDetails], KubernetesError):
    default_code = "MANIFEST_INVALID"
    default_hint = "Fix the objects named in the findings (each carries a fix), then validate again."


class RolloutFailedError(TypedDetailsError[RolloutDetails], KubernetesError):
    default_code = "ROLLOUT_FAILED"
    default_hint = (
        "Read the diagnostics (pod states, events, log tail) in the details, fix the app or manifests, and deploy "
        "again."
    )


class ImagePullFailedError(RolloutFailedError):
    default_code = "IMAGE_PULL_FAILED"
    default_hint = (
        "The cluster cannot pull the image: push it to a registry the cluster reaches (or load it into kind), check "
        "the name."
    )


class WorkflowError(TypedDetailsError[WorkflowDetails]):
    default_code = "WORKFLOW_ERROR"
    default_hint = "Fix the workflow spec as described and run it again."


def exit_status(err: ContainerKitError) -> int:
    """The CLI exit status: the error class's, or for a failed workflow the class of the step's code (a run stopped by
    the scan or secret gate is a policy violation, exit 3, like the scan command itself)."""
    if isinstance(err, WorkflowError) and err.code != WorkflowError.default_code:
        return _exit_by_code().get(err.code, err.exit_code)
    return err.exit_code


def _exit_by_code() -> dict[str, int]:
    found: dict[str, int] = {}
    stack: list[type[ContainerKitError]] = [ContainerKitError]
    while stack:
        cls = stack.pop()
        found.setdefault(cls.default_code, cls.exit_code)
        stack.extend(cls.__subclasses__())
    return found


def wrap_unexpected(exc: BaseException) -> ContainerKitError:
    """Turn any exception into a ContainerKitError (never leaks a traceback to users)."""
    if isinstance(exc, ContainerKitError):
        return exc
    return ContainerKitError(f"unexpected {type(exc).__name__}: {exc}", details={"type": type(exc).__name__})
