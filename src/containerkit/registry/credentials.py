"""Registry credentials, in order: explicit for the call > settings/env > the Docker config.

The Docker config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``) is read the way the
Docker CLI reads it: ``credHelpers[registry]``, then ``auths[registry].auth`` (base64 user:password)
or ``identitytoken``, then ``credsStore`` (``docker-credential-<name> get`` with the server on stdin).
Every password is registered for redaction the moment it is read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from containerkit import _proc
from containerkit.errors import ContainerKitError, RegistryAuthError
from containerkit.imageref import DOCKER_HUB
from containerkit.redaction import redact, register_secret
from containerkit.settings import RegistrySettings

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: SecretStr = field(repr=False)
    source: str = "explicit"
    identity_token: bool = False

    def auth_config(self, registry: str) -> dict[str, str]:
        """The engine's X-Registry-Auth document."""
        if self.identity_token:
            return {"identitytoken": self.password.get_secret_value(), "serveraddress": registry}
        return {"username": self.username, "password": self.password.get_secret_value(), "serveraddress": registry}

    def basic(self) -> tuple[str, str]:
        return self.username, self.password.get_secret_value()


def make_credentials(username: str, password: str, source: str) -> Credentials:
    register_secret(password)
    return Credentials(username=username, password=SecretStr(password), source=source)


def docker_config_path(configured: Path | None, environ: Mapping[str, str]) -> Path:
    if configured is not None:
        return configured.expanduser()
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]).expanduser() / "config.json"
    return Path(environ.get("HOME", str(Path.home()))) / ".docker" / "config.json"


def _keys_for(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return list(_HUB_KEYS)
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/"]


def _normalise_key(key: str) -> str:
    return key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]


class CredentialResolver:
    """Finds credentials for a registry. Constructed from settings; reads files only when asked."""

    def __init__(self, settings: RegistrySettings, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._config_path = docker_config_path(settings.docker_config, environ)
        if settings.password is not None:
            register_secret(settings.password.get_secret_value())

    async def resolve(self, registry: str, explicit: Credentials | None = None) -> Credentials | None:
        """Credentials for ``registry``, or None (anonymous).

        Raises:
            RegistryAuthError: the Docker config names a credential helper that fails.
        """
        if explicit is not None:
            register_secret(explicit.password.get_secret_value())
            return explicit
        s = self._settings
        if s.username and s.password is not None and (s.registry is None or _normalise_key(s.registry) == registry):
            return Credentials(s.username, s.password, source="settings (CONTAINERKIT_REGISTRY__USERNAME/PASSWORD)")
        return await self._from_docker_config(registry)

    async def _from_docker_config(self, registry: str) -> Credentials | None:
        config = self._read_config()
        if not config:
            return None
        helpers = config.get("credHelpers") or {}
        for key in _keys_for(registry):
            if key in helpers:
                return await self._from_helper(str(helpers[key]), registry)
        auths: dict[str, Any] = config.get("auths") or {}
        wanted = set(_keys_for(registry)) | {registry}
        for key, entry in auths.items():
            if (key in wanted or _normalise_key(key) == registry) and isinstance(entry, dict):
                found = _from_auth_entry(entry)
                if found is not None:
                    return found
        if config.get("credsStore"):
            return await self._from_helper(str(config["credsStore"]), registry)
        return None

    def _read_config(self) -> dict[str, Any]:
        try:
            data = json.loads(self._config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    async def _from_helper(self, helper: str, registry: str) -> Credentials | None:
        server = "https://index.docker.io/v1/" if registry == DOCKER_HUB else registry
        try:
            result = await _proc.run(
                [f"docker-credential-{helper}", "get"],
                stdin=server.encode(),
                timeout=30,
                check=False,
                redact_output=False,
            )
        except ContainerKitError as e:
            raise RegistryAuthError(
                f"credential helper docker-credential-{helper} (from {self._config_path}) cannot run: {e.message}",
                hint=f"Install docker-credential-{helper} or remove it from {self._config_path}.",
            ) from e
        if result.returncode != 0:
            if "credentials not found" in (result.stdout + result.stderr).lower():
                return None
            raise RegistryAuthError(
                f"credential helper docker-credential-{helper} failed for {registry}: {redact(result.tail(3))}",
                hint=f"Run `docker login {registry}` again or fix the helper.",
            )
        try:
            data = json.loads(result.stdout)
            username, secret = str(data["Username"]), str(data["Secret"])
        except (ValueError, KeyError, TypeError) as e:
            raise RegistryAuthError(f"credential helper docker-credential-{helper} returned unreadable output") from e
        register_secret(secret)
        if username == "<token>":
            return Credentials("<token>", SecretStr(secret), source=f"docker-credential-{helper}", identity_token=True)
        return Credentials(username, SecretStr(secret), source=f"docker-credential-{helper}")


def _from_auth_entry(entry: dict[str, Any]) -> Credentials | None:
    if entry.get("identitytoken"):
        token = str(entry["identitytoken"])
        register_secret(token)
        return Credentials("<token>", SecretStr(token), source="docker config (identitytoken)", identity_token=True)
    raw = entry.get("auth")
    if raw:
        register_secret(str(raw))
        try:
            decoded = base64.b64decode(str(raw)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        if sep:
            register_secret(password)
            return Credentials(username, SecretStr(password), source="docker config (auths)")
    if entry.get("username") and entry.get("password"):
        register_secret(str(entry["password"]))
        return Credentials(str(entry["username"]), SecretStr(str(entry["password"])), source="docker config (auths)")
    return None
