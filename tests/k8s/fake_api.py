"""An HTTP-level fake Kubernetes API server for deploy/verify/rollback tests, beside the real cluster of
scripts/testenv.

It stays for what the real cluster cannot produce on demand or fast (a 0.3 s rollout deadline, OOMKilled, a rollback
that takes three polls, the exact requests Container Kit sends). Each behaviour below is one a real API server was
seen to have, and each case that a real server can produce also runs against it: docs/testing.md ("The fake API and
the real one") pairs them, and says where the real server corrected the fake.

A real HTTP server on 127.0.0.1 (random port, background thread) serving real API paths with real object shapes:
discovery (``/version``, ``/api``, ``/apis``), namespaced and cluster objects under ``/api/v1/...`` and
``/apis/{group}/{version}/...``, lists with label/field selectors, server-side apply (``application/apply-patch+yaml``
with ``fieldManager``, ``force`` and ``dryRun=All``), JSON and merge patches (strategic merges refused: not modelled),
``pods/{name}/log`` (``tailLines``,
``previous``), events, and ``services/{name}:{port}/proxy/...``. Errors are ``Status`` objects (401, 403, 404, 409,
422) with the messages a real API server writes. Bearer-token authentication is enforced.

A small Deployment controller reacts to template changes the way the real one does: one ReplicaSet per pod
template (``pod-template-hash``, ``deployment.kubernetes.io/revision`` = max + 1, an old template's ReplicaSet
reused and renumbered on rollback), pods, events, logs and ``status``, scripted per image by a *behaviour*:
``healthy``, ``crashloop``, ``oomkilled``, ``imagepull``, ``unschedulable``. Healthy rollouts take ``steps_to_ready``
reads of the Deployment to complete, so callers must poll; the pods of the revision being replaced (crashing ones
too) stay until then, as on a real cluster. Every request is recorded.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

Obj = dict[str, Any]
# (group, version, plural) -> (kind, namespaced)
RESOURCES: dict[tuple[str, str, str], tuple[str, bool]] = {
    ("", "v1", "namespaces"): ("Namespace", False),
    ("", "v1", "pods"): ("Pod", True),
    ("", "v1", "services"): ("Service", True),
    ("", "v1", "configmaps"): ("ConfigMap", True),
    ("", "v1", "secrets"): ("Secret", True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True),
    ("", "v1", "events"): ("Event", True),
    ("", "v1", "persistentvolumeclaims"): ("PersistentVolumeClaim", True),
    ("apps", "v1", "deployments"): ("Deployment", True),
    ("apps", "v1", "replicasets"): ("ReplicaSet", True),
    ("apps", "v1", "statefulsets"): ("StatefulSet", True),
    ("autoscaling", "v2", "horizontalpodautoscalers"): ("HorizontalPodAutoscaler", True),
    ("policy", "v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("networking.k8s.io", "v1", "ingresses"): ("Ingress", True),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True),
    ("rbac.authorization.k8s.io", "v1", "roles"): ("Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): ("RoleBinding", True),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): ("CustomResourceDefinition", False),
}
VERBS = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n    import flask\n'
    "ModuleNotFoundError: No module named 'flask'"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


class StatusError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


@dataclass(frozen=True)
class Route:
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    sub: tuple[str, ...]
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", RESOURCES[(self.group, self.version, self.plural)][0])

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386): maps merged, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    out = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = out
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise StatusError(422, "Invalid", f"unsupported json patch op {op['op']!r}")
    return out


Path_ = tuple[str, ...]


def leaf_paths(doc: Any, prefix: Path_ = ()) -> set[Path_]:
    """The fields an object (or patch) sets: leaves of maps; lists are atomic; only labels/annotations of metadata."""
    if not isinstance(doc, dict) or not doc:
        return {prefix} if prefix else set()
    out: set[Path_] = set()
    for key, value in doc.items():
        if (not prefix and key in ("apiVersion", "kind", "status")) or (
            prefix == ("metadata",) and key not in ("labels", "annotations")
        ):
            continue
        out |= leaf_paths(value, (*prefix, str(key)))
    return out


def to_fields_v1(paths: set[Path_]) -> Obj:
    root: Obj = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def from_fields_v1(fields: Obj, prefix: Path_ = ()) -> set[Path_]:
    if not fields:
        return {prefix} if prefix else set()
    out: set[Path_] = set()
    for key, value in fields.items():
        if key.startswith("f:"):
            out |= from_fields_v1(value, (*prefix, key[2:]))
    return out


def at(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def selects(selector: str, labels: Obj) -> bool:
    """A label selector's equality terms as the API server reads them: ``k=v``, ``k==v``, ``k!=v`` (true when the label
    is absent too), ``k`` (exists) and ``!k`` (absent). Set terms (``in``, ``notin``) are not modelled."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            ok = labels.get(key.strip()) != value.strip()
        elif "=" in term:
            key, value = term.replace("==", "=", 1).split("=", 1)
            ok = labels.get(key.strip()) == value.strip()
        elif term.startswith("!"):
            ok = term[1:].strip() not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def field_value(obj: Obj, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None  # type: ignore[assignment]
    return obj


@dataclass
class FakeKube:
    token: str
    behaviour: str = "healthy"
    images: dict[str, str] = field(default_factory=dict)
    """image -> behaviour; images not listed follow ``behaviour``."""
    steps_to_ready: int = 2
    log_suffix: str = ""
    """Appended to every container log (e.g. an app printing its environment)."""
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    """(verb, resource) pairs answered with 403, resource like "deployments.apps" or "namespaces"."""
    proxy_answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    """proxy path after /proxy -> (status, body); default: 200 JSON when the Service has ready pods."""
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Exceptions inside the fake (a fixture asserts there are none)."""
    objects: dict[tuple[str, str, str | None, str], Obj] = field(default_factory=dict)
    logs: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    _pending: dict[tuple[str, str], int] = field(default_factory=dict)
    _leaving: dict[tuple[str, str], list[str]] = field(
        default_factory=dict
    )  # a replaced revision's pods, until the new one is ready
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _rv: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    resources: dict[tuple[str, str, str], tuple[str, bool]] = field(default_factory=lambda: dict(RESOURCES))
    """Built-in kinds plus those of applied CustomResourceDefinitions."""

    # lifecycle --------------------------------------------------------------------------------------------------------
    def start(self) -> FakeKube:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                code, ctype, body = fake.handle(
                    self.command,
                    self.path,
                    self.headers.get("Content-Type", ""),
                    self.headers.get("Authorization", ""),
                    raw,
                )
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.add("v1", "Namespace", {"metadata": {"name": "default"}})
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kube", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # test helpers
    # -------------------------------------------------------------------------------------------------------
    def add(self, api_version: str, kind: str, obj: Obj) -> Obj:
        group, _, version = api_version.rpartition("/")
        plural = next(p for (g, v, p), (k, _) in RESOURCES.items() if (g, v, k) == (group, version, kind))
        ns = obj["metadata"].get("namespace") if RESOURCES[(group, version, plural)][1] else None
        return self._store(
            Route(group, version, plural, ns, obj["metadata"]["name"], ()),
            {"apiVersion": api_version, "kind": kind, **obj},
            created=True,
        )

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        with self._lock:
            return next(
                (
                    copy.deepcopy(o)
                    for (k, _, ns, n), o in self.objects.items()
                    if (k, ns, n) == (kind, namespace, name)
                ),
                None,
            )

    def of_kind(self, kind: str, namespace: str | None = None) -> list[Obj]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (k, _, ns, _), o in self.objects.items()
                if k == kind and (namespace is None or ns == namespace)
            ]

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # dispatch --------------------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, ctype: str, auth: str, raw: bytes) -> tuple[int, str, bytes]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body: Any = None
        if raw:
            text = raw.decode()
            body = yaml.safe_load(text) if "yaml" in ctype else json.loads(text)
        path = unquote(parts.path)
        with self._lock:
            self.requests.append(Request(method, path, query, ctype.split(";")[0], body))
            try:
                if auth != f"Bearer {self.token}":
                    raise StatusError(401, "Unauthorized", "Unauthorized")
                return self._dispatch(method, path, query, ctype.split(";")[0], body)
            except StatusError as e:
                return e.code, "application/json", json.dumps(e.status()).encode()
            except Exception as e:  # a bug in the fake: answer 500 and keep it for the test to see
                self.errors.append(f"{method} {path}: {type(e).__name__}: {e}")
                return 500, "application/json", json.dumps(StatusError(500, "InternalError", str(e)).status()).encode()

    def _dispatch(self, method: str, path: str, query: dict[str, str], ctype: str, body: Any) -> tuple[int, str, bytes]:
        if path == "/version":
            return self._json(
                200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake", "platform": "linux/amd64"}
            )
        if path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            groups = sorted({(g, v) for g, v, _ in RESOURCES if g})
            return self._json(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": g,
                            "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                            "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                        }
                        for g, v in groups
                    ],
                },
            )
        route = self._route(path)
        verb = "list" if method == "GET" and route.name is None else VERBS[method]
        resource = route.resource + (f"/{route.sub[0]}" if route.sub else "")
        if (verb, resource) in self.forbidden:
            where = f' in the namespace "{route.namespace}"' if route.namespace else ""
            obj = f'{route.resource} "{route.name}"' if route.name else route.resource
            raise StatusError(
                403,
                "Forbidden",
                f'{obj} is forbidden: User "ck-test" cannot {verb} resource "{route.plural}'
                f'{"/" + route.sub[0] if route.sub else ""}" in API group "{route.group}"{where}',
                {"name": route.name or "", "group": route.group, "kind": route.plural},
            )
        if route.sub and route.sub[0] == "log":
            return self._log(route, query)
        if route.sub and route.sub[0] == "proxy":
            return self._proxy(route, "/" + "/".join(route.sub[1:]))
        if method == "GET" and route.name is None:
            return self._json(200, self._list(route, query))
        if method == "GET":
            return self._json(200, self._read(route))
        if method == "POST":
            self._check_namespace(route)
            name = (body.get("metadata") or {}).get("name")
            full = Route(route.group, route.version, route.plural, route.namespace, name, (), route.kind)
            if self._key(full) in self.objects:
                raise StatusError(
                    409,
                    "AlreadyExists",
                    f'{route.resource} "{name}" already exists',
                    {"name": name, "kind": route.plural},
                )
            return self._json(201, self._write(full, body, query))
        if method == "PATCH":
            return self._patch(route, query, ctype, body)
        if method == "DELETE":
            obj = self._read(route)
            del self.objects[self._key(route)]
            return self._json(200, obj)
        raise StatusError(405, "MethodNotAllowed", f"{method} is not supported")

    @staticmethod
    def _json(code: int, doc: Any) -> tuple[int, str, bytes]:
        return code, "application/json", json.dumps(doc).encode()

    def _route(self, path: str) -> Route:
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise StatusError(404, "NotFound", f"the server could not find the requested resource ({path})")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else None, tuple(rest[2:])
        if (group, version, plural) not in self.resources:
            raise StatusError(
                404, "NotFound", f"the server could not find the requested resource ({group}/{version} {plural})"
            )
        return Route(group, version, plural, namespace, name, sub, self.resources[(group, version, plural)][0])

    def _key(self, route: Route) -> tuple[str, str, str | None, str]:
        return (route.kind, route.group, route.namespace, str(route.name))

    def _not_found(self, route: Route) -> StatusError:
        return StatusError(
            404,
            "NotFound",
            f'{route.resource} "{route.name}" not found',
            {"name": route.name, "group": route.group, "kind": route.plural},
        )

    def _check_namespace(self, route: Route) -> None:
        if route.namespace and ("Namespace", "", None, route.namespace) not in self.objects:
            raise StatusError(
                404,
                "NotFound",
                f'namespaces "{route.namespace}" not found',
                {"name": route.namespace, "kind": "namespaces"},
            )

    # reads -----------------------------------------------------------------------------------------------------
    def _read(self, route: Route) -> Obj:
        obj = self.objects.get(self._key(route))
        if obj is None:
            raise self._not_found(route)
        if route.kind == "Deployment" and self._pending.get((str(route.namespace), str(route.name))):
            self._advance(obj)
        return copy.deepcopy(obj)

    def _list(self, route: Route, query: dict[str, str]) -> Obj:
        items = [
            copy.deepcopy(o)
            for (k, g, ns, _), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
            if k == route.kind and g == route.group and (route.namespace is None or ns == route.namespace)
        ]
        if query.get("labelSelector"):
            items = [o for o in items if selects(query["labelSelector"], o["metadata"].get("labels") or {})]
        for term in filter(None, query.get("fieldSelector", "").split(",")):
            key, _, value = term.partition("=")
            items = [o for o in items if str(field_value(o, key)) == value]
        return {
            "kind": f"{route.kind}List",
            "apiVersion": f"{route.group}/{route.version}".lstrip("/"),
            "metadata": {"resourceVersion": str(next(self._rv))},
            "items": items,
        }

    def _log(self, route: Route, query: dict[str, str]) -> tuple[int, str, bytes]:
        pod = self._read(Route("", "v1", "pods", route.namespace, route.name, ()))
        container = query.get("container") or pod["spec"]["containers"][0]["name"]
        previous = query.get("previous") == "true"
        text = self.logs.get((str(route.name), container, previous))
        if text is None:
            raise StatusError(
                400,
                "BadRequest",
                f'previous terminated container "{container}" in pod "{route.name}" not found'
                if previous
                else f'container "{container}" in pod "{route.name}" is waiting to start',
            )
        lines = text.splitlines()
        tail = int(query.get("tailLines", len(lines)))
        return 200, "text/plain", ("\n".join(lines[-tail:]) + "\n").encode()

    def _proxy(self, route: Route, path: str) -> tuple[int, str, bytes]:
        name, _, port = str(route.name).partition(":")
        svc = self._read(Route("", "v1", "services", route.namespace, name, ()))
        if not any(port in (str(p.get("port")), str(p.get("name"))) for p in svc["spec"].get("ports") or []):
            raise StatusError(503, "ServiceUnavailable", f'no endpoints available for service "{name}:{port}"')
        selector = svc["spec"].get("selector") or {}
        ready = [
            p
            for p in self.of_kind("Pod", route.namespace)
            if selector
            and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and _ready(p)
        ]
        if not ready:
            raise StatusError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        code, body = self.proxy_answers.get(path, (200, json.dumps({"status": "ok", "path": path})))
        return code, "application/json", body.encode()

    # writes ----------------------------------------------------------------------------------------------------------
    def _patch(self, route: Route, query: dict[str, str], ctype: str, body: Any) -> tuple[int, str, bytes]:
        self._check_namespace(route)
        live = self.objects.get(self._key(route))
        if ctype == "application/apply-patch+yaml":
            if not query.get("fieldManager"):
                raise StatusError(
                    400,
                    "BadRequest",
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                )
            if body.get("kind") != route.kind or body.get("metadata", {}).get("name") != route.name:
                raise StatusError(400, "BadRequest", "the name or kind of the object does not match the URL")
            applied = leaf_paths(body)
            if live is not None and query.get("force") != "true":
                self._conflicts(live, body, applied, query["fieldManager"])
            merged = merge(live or {}, body)
            return self._json(
                200 if live else 201,
                self._write(route, merged, query, manager=query["fieldManager"], op="Apply", fields=applied),
            )
        if live is None:
            raise self._not_found(route)
        if ctype == "application/json-patch+json":
            merged = json_patch(live, body)
            fields = set().union(
                *(leaf_paths(op.get("value"), tuple(op["path"].split("/")[1:])) for op in body if op["op"] != "remove")
            )
        elif ctype == "application/merge-patch+json":
            merged, fields = merge(live, body), leaf_paths(body)
        elif ctype == "application/strategic-merge-patch+json":
            # not modelled (a strategic merge joins lists by key, which a JSON merge does not): Container Kit sends none
            raise StatusError(415, "UnsupportedMediaType", "the fake API does not model strategic merge patches")
        else:
            raise StatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}")
        return self._json(
            200,
            self._write(route, merged, query, manager=query.get("fieldManager", "unknown"), op="Update", fields=fields),
        )

    @staticmethod
    def _conflicts(live: Obj, body: Obj, applied: set[Path_], manager: str) -> None:
        """Server-side apply without force: fields another manager owns with a different value are conflicts (409)."""
        found = []
        for entry in live["metadata"].get("managedFields") or []:
            if entry.get("manager") == manager:
                continue
            for path in sorted(from_fields_v1(entry.get("fieldsV1") or {}) & applied):
                if at(live, path) != at(body, path):
                    found.append((entry["manager"], entry.get("apiVersion", ""), "." + ".".join(path)))
        if found:
            causes = [
                {"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {v}', "field": f}
                for m, v, f in found
            ]
            listing = "\n".join(f"* {c['message']}: {c['field']}" for c in causes)
            raise StatusError(
                409,
                "Conflict",
                f"Apply failed with {len(found)} conflict{'s' if len(found) > 1 else ''}: {listing}",
                {"causes": causes},
            )

    def _write(
        self,
        route: Route,
        obj: Obj,
        query: dict[str, str],
        manager: str = "unknown",
        op: str = "Update",
        fields: set[Path_] | None = None,
    ) -> Obj:
        self._check_namespace(route)
        self._validate(route, obj)
        live = self.objects.get(self._key(route))
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        if route.namespace:
            meta["namespace"] = route.namespace
        owned = set(fields if fields is not None else leaf_paths(obj))
        kept = []
        for entry in meta.get("managedFields") or []:
            theirs = from_fields_v1(entry.get("fieldsV1") or {})
            if entry.get("manager") == manager and entry.get("operation") == op:
                owned |= theirs if op == "Update" else set()
                continue
            if theirs - owned:  # the fields this write set now belong to its manager
                kept.append({**entry, "fieldsV1": to_fields_v1(theirs - owned)})
        meta["managedFields"] = [
            *kept,
            {
                "manager": manager,
                "operation": op,
                "apiVersion": new.get("apiVersion"),
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(owned),
            },
        ]
        if query.get("dryRun") == "All":
            return self._finish(route, new, live, persist=False)
        return self._store(route, new, created=live is None)

    def _validate(self, route: Route, obj: Obj) -> None:
        if route.kind != "Deployment":
            return
        spec = obj.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            raise StatusError(
                422,
                "Invalid",
                f'Deployment.apps "{route.name}" is invalid: spec.template.metadata.labels: Invalid '
                "value: `selector` does not match template `labels`",
                {
                    "name": route.name,
                    "group": "apps",
                    "kind": "Deployment",
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "message": "`selector` does not match template `labels`",
                            "field": "spec.template.metadata.labels",
                        }
                    ],
                },
            )

    def _finish(self, route: Route, new: Obj, live: Obj | None, *, persist: bool) -> Obj:
        meta = new["metadata"]
        old_meta = (live or {}).get("metadata") or {}
        meta["uid"] = old_meta.get("uid") or hashlib.sha1(f"{route}".encode()).hexdigest()[:32]  # noqa: S324
        meta["creationTimestamp"] = old_meta.get("creationTimestamp") or "2026-12-01T18:00:00Z"
        meta["resourceVersion"] = str(next(self._rv)) if persist else old_meta.get("resourceVersion", "0")
        spec_changed = live is None or (live.get("spec") != new.get("spec"))
        meta["generation"] = int(old_meta.get("generation", 0)) + (1 if spec_changed else 0)
        if route.kind == "Deployment":
            new.setdefault("spec", {}).setdefault("replicas", 1)
            new["spec"]["template"].setdefault("spec", {}).setdefault("restartPolicy", "Always")
            new.setdefault("status", (live or {}).get("status") or {})
        if route.kind == "Secret" and new.get("stringData"):  # the API server folds stringData into data
            new["data"] = {
                **(new.get("data") or {}),
                **{k: base64.b64encode(str(v).encode()).decode() for k, v in new.pop("stringData").items()},
            }
        if route.kind == "Service":
            new.setdefault("spec", {}).setdefault("type", "ClusterIP")
            new["spec"].setdefault("clusterIP", "10.96.0.10")
        return new

    def _store(self, route: Route, obj: Obj, *, created: bool) -> Obj:
        live = None if created else self.objects.get(self._key(route))
        new = self._finish(route, obj, live, persist=True)
        self.objects[self._key(route)] = new
        if route.kind == "CustomResourceDefinition":
            crd = new["spec"]
            for v in crd["versions"]:
                self.resources[(crd["group"], v["name"], crd["names"]["plural"])] = (
                    crd["names"]["kind"],
                    crd["scope"] == "Namespaced",
                )
        if route.kind == "Deployment" and (
            live is None or live.get("spec", {}).get("template") != new["spec"]["template"]
        ):
            self._reconcile(new)
        elif route.kind == "Deployment" and live.get("spec") != new["spec"]:
            self._scale(new)
        return copy.deepcopy(new)

    # the Deployment controller ---------------------------------------------------------------------------------------
    def _reconcile(self, dep: Obj) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        ns, name = meta["namespace"], meta["name"]
        template = copy.deepcopy(spec["template"])
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        owned = [
            rs
            for rs in self.of_kind("ReplicaSet", ns)
            if any(o.get("uid") == meta["uid"] for o in rs["metadata"].get("ownerReferences") or [])
        ]
        revision = 1 + max(
            (int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for rs in owned), default=0
        )
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = digest
        rs_name = f"{name}-{digest}"
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": name,
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": spec["replicas"],
                "selector": {"matchLabels": {**spec["selector"]["matchLabels"], "pod-template-hash": digest}},
                "template": template,
            },
        }
        rs = self._store(
            Route("apps", "v1", "replicasets", ns, rs_name, ()),
            rs,
            created=rs_name not in {r["metadata"]["name"] for r in owned},
        )
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(revision)
        image = template["spec"]["containers"][0]["image"]
        behaviour = self.images.get(image, self.behaviour)
        old_pods = [
            p
            for p in self.of_kind("Pod", ns)
            if p["metadata"]["labels"].get("pod-template-hash") != digest
            and selects(
                ",".join(f"{k}={v}" for k, v in spec["selector"]["matchLabels"].items()), p["metadata"]["labels"]
            )
        ]
        want = int(spec["replicas"])
        if behaviour == "healthy":
            # as a real cluster does, the pods of the replaced revision (crashing ones too) stay until the new pods
            # are ready (tests/k8s/test_e2e_cluster.py shows it on a real one)
            self._leaving[(ns, name)] = [p["metadata"]["name"] for p in old_pods]
            for old in owned:
                if old["metadata"]["name"] != rs_name:
                    self.objects[("ReplicaSet", "apps", ns, old["metadata"]["name"])]["spec"]["replicas"] = 0
            for i in range(want):
                self._pod(ns, rs, i, behaviour)
            self._pending[(ns, name)] = self.steps_to_ready
            dep["status"] = {
                "observedGeneration": meta["generation"] - 1,
                **{k: v for k, v in dep.get("status", {}).items() if k != "observedGeneration"},
            }
        else:
            self._pod(ns, rs, 0, behaviour)
            old_ready = sum(1 for p in old_pods if _ready(p))
            progressing = (
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
                }
                if behaviour == "unschedulable"
                else {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{rs_name}" is progressing.',
                }
            )
            dep["status"] = {
                "observedGeneration": meta["generation"],
                "replicas": len(old_pods) + 1,
                "updatedReplicas": 1,
                "readyReplicas": old_ready,
                "availableReplicas": old_ready,
                "unavailableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True" if old_ready else "False"}, progressing],
            }
        self._event(ns, "Deployment", name, "Normal", "ScalingReplicaSet", f"Scaled up replica set {rs_name} to {want}")

    def _scale(self, dep: Obj) -> None:
        """A spec change that keeps the template (e.g. replicas): the current ReplicaSet is resized, status follows."""
        meta, want = dep["metadata"], int(dep["spec"]["replicas"])
        revision = meta.get("annotations", {}).get("deployment.kubernetes.io/revision")
        current = next(
            rs
            for rs in self.of_kind("ReplicaSet", meta["namespace"])
            if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision
            and any(o.get("uid") == meta["uid"] for o in rs["metadata"].get("ownerReferences") or [])
        )
        self.objects[("ReplicaSet", "apps", meta["namespace"], current["metadata"]["name"])]["spec"]["replicas"] = want
        digest = current["metadata"]["labels"]["pod-template-hash"]
        pods = sorted(
            p["metadata"]["name"]
            for p in self.of_kind("Pod", meta["namespace"])
            if p["metadata"]["labels"].get("pod-template-hash") == digest
        )
        for name in pods[want:]:
            self.objects.pop(("Pod", "", meta["namespace"], name), None)
        behaviour = self.images.get(current["spec"]["template"]["spec"]["containers"][0]["image"], self.behaviour)
        for i in range(len(pods), want):
            self._pod(meta["namespace"], current, i, behaviour)
        if behaviour == "healthy":
            self._pending[(meta["namespace"], meta["name"])] = 1
            self._advance(dep)
        else:
            dep.setdefault("status", {})["observedGeneration"] = meta["generation"]

    def _advance(self, dep: Obj) -> None:
        key = (dep["metadata"]["namespace"], dep["metadata"]["name"])
        self._pending[key] -= 1
        want = int(dep["spec"]["replicas"])
        if self._pending[key] > 0:
            dep["status"] = {
                "observedGeneration": dep["metadata"]["generation"],
                "replicas": want,
                "updatedReplicas": want,
                "readyReplicas": 0,
                "availableReplicas": 0,
                "unavailableReplicas": want,
            }
            return
        for pod_name in self._leaving.pop(key, []):
            self.objects.pop(("Pod", "", key[0], pod_name), None)
        dep["status"] = {
            "observedGeneration": dep["metadata"]["generation"],
            "replicas": want,
            "updatedReplicas": want,
            "readyReplicas": want,
            "availableReplicas": want,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }
        del self._pending[key]

    def _pod(self, ns: str, rs: Obj, index: int, behaviour: str) -> None:
        rs_name, template = rs["metadata"]["name"], rs["spec"]["template"]
        name = f"{rs_name}-{next(self._rv):05x}{index}"
        containers = template["spec"]["containers"]
        status, events, restart = _pod_status(behaviour, containers)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(template["metadata"]["labels"]),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": rs_name,
                        "uid": rs["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": status,
        }
        self._store(Route("", "v1", "pods", ns, name, ()), pod, created=True)
        for c in containers:
            if behaviour == "healthy":
                self.logs[(name, c["name"], False)] = "starting\nlistening on :8080" + self.log_suffix
            elif restart:
                self.logs[(name, c["name"], False)] = "starting" + self.log_suffix
                self.logs[(name, c["name"], True)] = (
                    "starting" + self.log_suffix + "\n" + ("Killed" if behaviour == "oomkilled" else TRACEBACK)
                )
        for etype, reason, message in events:
            self._event(ns, "Pod", name, etype, reason, message.format(pod=name, image=containers[0]["image"]))

    def _event(self, ns: str, kind: str, name: str, etype: str, reason: str, message: str) -> None:
        n = next(self._rv)
        self.add(
            "v1",
            "Event",
            {
                "metadata": {"name": f"{name}.{n:x}", "namespace": ns},
                "involvedObject": {"kind": kind, "name": name, "namespace": ns},
                "type": etype,
                "reason": reason,
                "message": message,
                "count": 1,
                "lastTimestamp": f"2026-12-01T18:{n // 60 % 60:02d}:{n % 60:02d}Z",
                "source": {"component": "fake-kube"},
            },
        )


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or []
    )


def _pod_status(behaviour: str, containers: list[Obj]) -> tuple[Obj, list[tuple[str, str, str]], bool]:
    def cs(state: Obj, ready: bool, restarts: int = 0, last: Obj | None = None) -> list[Obj]:
        started = "running" in state or restarts > 0
        return [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": f"docker-pullable://{c['image']}@sha256:{'0' * 64}" if started else "",
                "ready": ready,
                "restartCount": restarts,
                "state": state,
                "lastState": {"terminated": last} if last else {},
            }
            for c in containers
        ]

    if behaviour == "healthy":
        return (
            {
                "phase": "Running",
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": cs({"running": {"startedAt": "2026-12-01T18:00:01Z"}}, True),
            },
            [
                ("Normal", "Pulled", 'Container image "{image}" already present on machine'),
                ("Normal", "Started", "Started container"),
            ],
            False,
        )
    if behaviour in ("crashloop", "oomkilled"):
        last = (
            {"exitCode": 137, "reason": "OOMKilled"} if behaviour == "oomkilled" else {"exitCode": 1, "reason": "Error"}
        )
        return (
            {
                "phase": "Running",
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
                "containerStatuses": cs(
                    {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                    False,
                    3,
                    last,
                ),
            },
            [
                ("Normal", "Started", "Started container"),
                ("Warning", "BackOff", "Back-off restarting failed container app in pod {pod}"),
            ],
            True,
        )
    if behaviour == "imagepull":
        return (
            {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
                "containerStatuses": cs(
                    {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": 'Back-off pulling image "{}"'.format(containers[0]["image"]),
                        }
                    },
                    False,
                ),
            },
            [
                (
                    "Warning",
                    "Failed",
                    'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
                    'unpack image "{image}": not found',
                ),
                ("Warning", "Failed", "Error: ErrImagePull"),
                ("Normal", "BackOff", 'Back-off pulling image "{image}"'),
            ],
            False,
        )
    if behaviour == "unschedulable":
        return (
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/1 nodes are available: 1 Insufficient memory.",
                    }
                ],
            },
            [("Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient memory.")],
            False,
        )
    raise ValueError(f"unknown behaviour {behaviour!r}")
