"""The Kubernetes API client: lightkube's AsyncClient for resources, its configured HTTP client for the rest.

:class:`KubeApi` is the only place that talks to the API server. Objects go in and come out as plain dicts (what
the manifests are); lightkube resolves kinds to API paths, signs requests with the kubeconfig's credentials and
sends server-side apply. The endpoints lightkube has no call for (``/version``, logs of the previous container,
the service proxy) go through the same configured HTTP client. Every lightkube/httpx exception is turned into a
:class:`~containerkit.errors.KubernetesError` subclass here, and never escapes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import httpx2
import msgspec
from lightkube import AsyncClient
from lightkube.config.client_adapter import AsyncClient as make_http_client  # noqa: N813
from lightkube.config.client_adapter import ConnectionParams
from lightkube.core import resource as lkres
from lightkube.core.exceptions import ApiError, LoadResourceError
from lightkube.core.exceptions import ConfigError as LightkubeConfigError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_resources_from_crd
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.types import PatchType

from containerkit import tracing
from containerkit.errors import (
    ClusterUnreachableError,
    ConflictError,
    ForbiddenError,
    JSONValue,
    KubeconfigError,
    KubernetesError,
    ManifestDetails,
    ManifestInvalidError,
    NamespaceMissingError,
    NotFoundError,
    parse_retry_after,
)
from containerkit.k8s.kubeconfig import KubeTarget
from containerkit.redaction import redact

Obj = dict[str, Any]
_FORBIDDEN = re.compile(
    r'cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)"(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]*)")?'
)


@dataclass(frozen=True)
class ProxyAnswer:
    status_code: int
    body: str


def _status_of(e: ApiError) -> tuple[int, str, Obj]:
    try:
        doc = e.response.json()
    except ValueError:
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    return int(e.response.status_code), str(doc.get("message") or e), doc.get("details") or {}


_MANAGER = re.compile(r'conflict with "([^"]+)"')
_UNDECLARED = re.compile(r"(?P<path>\.[\w.\[\]\-/=]+): field not declared in schema")


def api_error(e: ApiError, what: str) -> KubernetesError | NotFoundError | ConflictError:
    """Map an API Status to our error tree (the Status message kept, redacted)."""
    code, message, details = _status_of(e)
    message = redact(message)
    base: dict[str, Any] = {"status": code, "api_message": message, "operation": what}
    if code == 401:
        return KubernetesError(
            f"the API server rejected the credentials (401 Unauthorized) for {what}",
            code="K8S_UNAUTHORIZED",
            hint="The kubeconfig's token or certificate is invalid or expired: log in again "
            "(e.g. refresh the cloud CLI credentials) or pick another --context.",
            details=base,
        )
    if code == 403:
        m = _FORBIDDEN.search(message)
        verb, resource = (m.group("verb"), m.group("resource")) if m else ("?", "?")
        group = (m.group("group") or "") if m else ""
        full = f"{resource}.{group}" if group else resource
        return ForbiddenError(
            f"forbidden: your user cannot {verb} {full} ({message})",
            hint=f"Ask for a Role/ClusterRole granting '{verb}' on '{full}' (RBAC), or use a context that has it.",
            details={
                **base,
                "verb": verb,
                "resource": resource,
                "group": group,
                "namespace": (m.group("namespace") or "") if m else "",
            },
        )
    if code == 404 and details.get("kind") == "namespaces":
        ns = str(details.get("name", ""))
        return NamespaceMissingError(f"namespace {ns!r} does not exist", details={**base, "namespace": ns})
    if code == 404:
        return NotFoundError(f"{what}: {message}", hint="Check the name and namespace (and the context).", details=base)
    if code == 409:
        conflicts = [
            {"field": str(c.get("field", "")), "message": str(c.get("message", ""))}
            for c in details.get("causes") or []
            if isinstance(c, dict) and c.get("reason") == "FieldManagerConflict"
        ]
        if conflicts:
            managers = sorted({m.group(1) for c in conflicts for m in [_MANAGER.search(c["message"])] if m})
            return ConflictError(
                f"{what}: fields another field manager set ({', '.join(managers) or 'unknown'}) would change: "
                f"{', '.join(c['field'] for c in conflicts)}",
                hint="Take them over with {param:force_conflicts} (as `kubectl apply --server-side "
                "--force-conflicts`), or "
                "leave those fields out of the manifests (e.g. replicas under an autoscaler).",
                details={**base, "conflicts": cast(JSONValue, conflicts), "managers": cast(JSONValue, managers)},
            )
        return ConflictError(f"{what}: {message}", details=base)
    if code == 500 and "failed to create typed patch object" in message:
        # a server-side apply with a field the schema does not have: the real API server answers 500 (not 422) and
        # names the field ("… .spec.template.spec.bogusField: field not declared in schema")
        unknown = _UNDECLARED.search(message)
        field = unknown.group("path") if unknown else ""
        return ManifestInvalidError(
            f"the API server refused {what}: {message}",
            hint=(
                f"Remove or correct {field}: the object's schema has no such field (check its spelling and indentation)"
                if field
                else "Fix the object so it matches its API schema."
            ),
            details=ManifestDetails(status=code, api_message=message, operation=what, causes=[message], field=field),
        )
    if code == 422:
        causes: list[JSONValue] = [
            str(c.get("message", "")) for c in details.get("causes") or [] if isinstance(c, dict)
        ]
        return ManifestInvalidError(
            f"the API server refused {what}: {message}",
            details=ManifestDetails(status=code, api_message=message, operation=what, causes=causes),
        )
    headers = getattr(getattr(e, "response", None), "headers", None)
    return KubernetesError(
        f"{what} failed with HTTP {code}: {message}",
        retryable=code >= 500 or code == 429,
        details=base,
        retry_after_s=parse_retry_after(headers.get("retry-after") if headers is not None else None),
    )


def transport_error(e: Exception, server: str, what: str) -> KubernetesError:
    kind = type(e).__name__
    if isinstance(e, httpx2.TimeoutException):
        reason = "timed out"
    elif isinstance(e, httpx2.ConnectError):
        reason = "refused the connection or could not be resolved"
    else:
        reason = "failed at the network level"
    return ClusterUnreachableError(
        f"the API server {server} {reason} ({kind}: {redact(str(e)) or 'no detail'}) during {what}",
        details={"server": server, "operation": what, "error": kind},
    )


def _raise_for_status(resp: httpx2.Response) -> None:
    """Raise lightkube's ApiError for a Status answer (as lightkube's own calls do), HTTPStatusError otherwise."""
    if resp.is_error and resp.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(request=resp.request, response=resp)
    resp.raise_for_status()


class KubeApi:
    """An open connection to one cluster context. Use :func:`connect`; the constructor does no I/O."""

    def __init__(self, target: KubeTarget, client: AsyncClient, http: httpx2.AsyncClient, field_manager: str) -> None:
        self.target = target
        self.field_manager = field_manager
        self._client = client
        self._http = http

    @asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        try:
            with tracing.span(f"kubernetes {what.split(' ', 1)[0]}", client=True, operation=what):
                yield
        except ApiError as e:
            raise api_error(e, what) from e
        except httpx2.HTTPStatusError as e:
            raise KubernetesError(
                f"{what} failed with HTTP {e.response.status_code}: {redact(e.response.text[:300])}",
                details={"status": e.response.status_code, "operation": what},
            ) from e
        except (httpx2.TransportError, OSError) as e:
            raise transport_error(e, self.target.server, what) from e
        except httpx2.HTTPError as e:
            raise KubernetesError(
                f"{what} failed: {type(e).__name__}: {redact(str(e))}", details={"operation": what}
            ) from e
        except (msgspec.MsgspecError, ValueError) as e:  # an answer that is not a Kubernetes object
            raise KubernetesError(
                f"{what}: the API server sent an unexpected response ({type(e).__name__}: {redact(str(e))})",
                details={"operation": what},
            ) from e

    # kinds ---------------------------------------------------------------------------------------------------------
    @staticmethod
    def resource(api_version: str, kind: str) -> type[lkres.Resource]:
        """The lightkube resource class of a kind.

        Raises:
            KubernetesError (K8S_UNKNOWN_KIND): neither a built-in kind nor one defined by an applied CRD.
        """
        try:
            return cast(type[lkres.Resource], resource_registry.load(api_version, kind))
        except (LoadResourceError, ImportError, ValueError) as e:
            raise KubernetesError(
                f"unknown kind {api_version}/{kind}",
                code="K8S_UNKNOWN_KIND",
                hint="Apply its CustomResourceDefinition with the manifests, or fix apiVersion/kind.",
            ) from e

    @classmethod
    def is_namespaced(cls, api_version: str, kind: str) -> bool:
        return issubclass(cls.resource(api_version, kind), lkres.NamespacedResource)

    @staticmethod
    def register_crd(crd: Obj) -> None:
        """Make the kinds a CRD defines known, so its custom objects can be applied after it."""
        try:
            create_resources_from_crd(cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(crd)))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise KubernetesError(
                f"cannot read CustomResourceDefinition {crd.get('metadata', {}).get('name')!r}: {e}",
                code="K8S_UNKNOWN_KIND",
            ) from e

    # calls ------------------------------------------------------------------------------------------------------------
    async def server_version(self) -> str:
        async with self._guard("GET /version"):
            resp = await self._http.get("/version")
            _raise_for_status(resp)
            doc = resp.json()
        return str(doc.get("gitVersion", "")) if isinstance(doc, dict) else ""

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Obj | None:
        """The live object, or None when it does not exist."""
        res = self.resource(api_version, kind)
        try:
            async with self._guard(f"get {kind} {name}"):
                got = await self._client.get(cast(Any, res), name, namespace=namespace)
        except (NotFoundError, NamespaceMissingError):  # a 404 on GET namespaces/NAME is the object being absent
            return None
        return cast(Obj, got.to_dict())

    async def apply(self, obj: Obj, namespace: str | None, *, dry_run: bool, force: bool = False) -> Obj:
        """Server-side apply (PATCH application/apply-patch+yaml) with our field manager; the server's result."""
        api_version, kind, name = str(obj.get("apiVersion")), str(obj.get("kind")), str(obj["metadata"]["name"])
        res = self.resource(api_version, kind)
        async with self._guard(f"apply {kind} {name}"):
            out = await self._client.patch(
                cast(Any, res),
                name,
                obj,
                namespace=namespace,
                patch_type=PatchType.APPLY,
                field_manager=self.field_manager,
                force=force,
                dry_run=dry_run,
            )
        return cast(Obj, out.to_dict())

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Any,
        patch_type: Literal["json", "merge", "strategic"],
    ) -> Obj:
        """PATCH with a JSON patch (a list of operations), a JSON merge patch or a strategic merge patch."""
        res = self.resource(api_version, kind)
        kind_of_patch = {"json": PatchType.JSON, "merge": PatchType.MERGE, "strategic": PatchType.STRATEGIC}[patch_type]
        async with self._guard(f"patch {kind} {name}"):
            out = await self._client.patch(
                cast(Any, res),
                name,
                patch,
                namespace=namespace,
                patch_type=kind_of_patch,
                field_manager=self.field_manager,
            )
        return cast(Obj, out.to_dict())

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        labels: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> list[Obj]:
        res = self.resource(api_version, kind)
        out: list[Obj] = []
        async with self._guard(f"list {kind}"):
            async for item in self._client.list(
                cast(Any, res),
                namespace=namespace,
                labels=cast(Any, dict(labels or {})),
                fields=cast(Any, dict(fields or {})),
            ):
                out.append(cast(Obj, item.to_dict()))
        return out

    async def create_namespace(self, name: str, *, dry_run: bool) -> Obj:
        return await self.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, None, dry_run=dry_run
        )

    async def pod_log(self, pod: str, namespace: str, container: str, *, tail_lines: int, previous: bool) -> str:
        params = {"container": container, "tailLines": str(tail_lines), **({"previous": "true"} if previous else {})}
        async with self._guard(f"logs of {pod}/{container}"):
            resp = await self._http.get(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params=params)
            if resp.is_error:
                return ""
        return redact(resp.text)

    async def proxy_get(self, namespace: str, service: str, port: int | str, path: str) -> ProxyAnswer:
        """GET through the API server's service proxy; any HTTP status is an answer (the app's or the proxy's)."""
        rooted = path if path.startswith("/") else "/" + path
        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{rooted}"
        async with self._guard(f"GET {url}"):
            resp = await self._http.get(url)
        if resp.status_code in (401, 403) and _is_api_status(resp):
            _raise_for_status(resp)  # the API server refused us; an app's own 401 (no Status object) is its answer
        return ProxyAnswer(status_code=resp.status_code, body=redact(resp.text[:2000]))


def _is_api_status(resp: httpx2.Response) -> bool:
    """The body is a Kubernetes Status object: the API server's own answer, not the proxied app's."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("kind") == "Status" and body.get("apiVersion") == "v1"


@asynccontextmanager
async def connect(
    target: KubeTarget, *, field_manager: str, namespace: str, timeout_s: float = 10.0
) -> AsyncIterator[KubeApi]:
    """Open lightkube's client and the raw HTTP client for ``target`` and close both afterwards.

    Raises:
        KubeconfigError: the context's credentials or CA files cannot be used.
    """
    timeout = httpx2.Timeout(timeout_s)
    try:
        client = AsyncClient(
            target.config, namespace=namespace, timeout=timeout, field_manager=field_manager, lazy=False
        )
        http = make_http_client(target.config, ConnectionParams(timeout=timeout))
    except (OSError, ValueError, TypeError, AssertionError, LightkubeConfigError) as e:
        raise KubeconfigError(
            f"cannot use context {target.context!r} of {target.path}: {type(e).__name__}: {redact(str(e))}",
            details={"kubeconfig": str(target.path), "context": target.context},
        ) from e
    try:
        yield KubeApi(target, client, http, field_manager)
    finally:
        await client.close()
        await http.aclose()
