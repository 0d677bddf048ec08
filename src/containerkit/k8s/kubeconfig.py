"""Find and read the user's kubeconfig, pick the context, register its credentials as secrets.

The file is ``settings.k8s.kubeconfig``, else the first file of ``$KUBECONFIG``, else ``~/.kube/config``; the
context is the call's, else ``settings.k8s.context``, else the file's ``current-context``. Every token,
password and private key in the file is registered with :mod:`containerkit.redaction` before anything else
happens, so none of them can reach a log line, an error, a job row or tool output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from containerkit import yamlsafe
from containerkit.errors import KubeconfigError
from containerkit.redaction import register_secret
from containerkit.settings import K8sSettings

_SECRET_USER_KEYS = ("token", "password", "client-key-data")


@dataclass(frozen=True)
class KubeTarget:
    """One selected context of one kubeconfig file."""

    config: SingleConfig
    path: Path
    context: str
    server: str
    contexts: tuple[str, ...]

    @property
    def default_namespace(self) -> str | None:
        return self.config.context.namespace


def kubeconfig_path(settings: K8sSettings, environ: Mapping[str, str]) -> Path:
    """The kubeconfig file to read (it may not exist; :func:`load_target` says so)."""
    if settings.kubeconfig is not None:
        return settings.kubeconfig.expanduser()
    env = environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p.strip()), "")
    if first:
        return Path(first).expanduser()
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".kube" / "config"


def register_kubeconfig_secrets(doc: Mapping[str, Any]) -> None:
    """Register every credential value of a parsed kubeconfig (users' tokens, passwords, keys, provider tokens)."""
    for entry in doc.get("users") or []:
        user = entry.get("user") if isinstance(entry, Mapping) else None
        if not isinstance(user, Mapping):
            continue
        for key in _SECRET_USER_KEYS:
            value = user.get(key)
            if isinstance(value, str):
                register_secret(value)
        provider = user.get("auth-provider")
        config = provider.get("config") if isinstance(provider, Mapping) else None
        if isinstance(config, Mapping):
            for key, value in config.items():
                if isinstance(value, str) and ("token" in str(key).lower() or "secret" in str(key).lower()):
                    register_secret(value)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise KubeconfigError(
            f"no kubeconfig at {path}",
            hint="Point KUBECONFIG (or CONTAINERKIT_K8S__KUBECONFIG) at your cluster's kubeconfig, "
            "or create a local cluster with {tool:prepare_cluster}.",
            details={"kubeconfig": str(path)},
        )
    try:
        doc = yamlsafe.load(yamlsafe.read(path))
    except (OSError, yaml.YAMLError) as e:
        raise KubeconfigError(
            f"cannot read the kubeconfig {path}: {type(e).__name__}", details={"kubeconfig": str(path)}
        ) from e
    if not isinstance(doc, dict):
        raise KubeconfigError(f"the kubeconfig {path} is not a YAML mapping", details={"kubeconfig": str(path)})
    register_kubeconfig_secrets(doc)
    return doc


def load_target(settings: K8sSettings, context: str | None, environ: Mapping[str, str]) -> KubeTarget:
    """Read the kubeconfig and select the context.

    Raises:
        KubeconfigError: no file, unreadable file, no context selected, or an unknown context (the message lists the
            contexts the file has).
    """
    path = kubeconfig_path(settings, environ)
    doc = _read(path)
    names = tuple(str(c.get("name")) for c in doc.get("contexts") or [] if isinstance(c, Mapping) and c.get("name"))
    wanted = context or settings.context or doc.get("current-context") or None
    available = ", ".join(names) or "none"
    details: dict[str, Any] = {"kubeconfig": str(path), "contexts": list(names)}
    if not wanted:
        raise KubeconfigError(
            f"{path} sets no current-context; contexts available: {available}",
            hint="Pass --context NAME (or set CONTAINERKIT_K8S__CONTEXT).",
            details=details,
        )
    if wanted not in names:
        raise KubeconfigError(
            f"context {wanted!r} is not in {path}; contexts available: {available}",
            hint="Pick one of the listed contexts with --context (see `kubectl config get-contexts`).",
            details={**details, "context": str(wanted)},
        )
    try:
        single = KubeConfig.from_dict(doc, fname=path).get(str(wanted))
    except (LightkubeConfigError, KeyError, TypeError, ValueError) as e:
        raise KubeconfigError(
            f"the kubeconfig {path} is invalid for context {wanted!r}: {type(e).__name__}: {e}",
            details={**details, "context": str(wanted)},
        ) from e
    if single is None or single.user is None:
        raise KubeconfigError(
            f"context {wanted!r} in {path} names no user",
            details={**details, "context": str(wanted)},
            hint="Add a user (token, client certificate or exec plugin) to the context.",
        )
    return KubeTarget(config=single, path=path, context=str(wanted), server=single.cluster.server, contexts=names)
