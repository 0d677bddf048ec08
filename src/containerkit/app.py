"""The composition root: settings -> services -> the loaded tool registry.

Both adapters (CLI and MCP) build their world here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from containerkit import logs
from containerkit.redaction import register_secret
from containerkit.settings import Settings, load_settings
from containerkit.tools import REGISTRY, Services, ToolRegistry

if TYPE_CHECKING:
    from containerkit.store import SessionStore


@dataclass
class App:
    settings: Settings
    services: Services
    registry: ToolRegistry


def build_store(settings: Settings) -> SessionStore:
    from containerkit.store import SessionStore

    return SessionStore(
        settings.store_location,
        settings.resolved_workspace_root,
        ttl_s=settings.store.ttl_hours * 3600,
        max_sessions=settings.store.max_sessions,
        disk_quota_bytes=settings.store.disk_quota_mb * 1024 * 1024,
        artifacts_url=settings.store.artifacts_url,
        object_min_bytes=settings.store.artifacts_min_kb * 1024,
    )


def build_app(settings: Settings | None = None) -> App:
    settings = settings or load_settings()
    for secret in (settings.registry.password, settings.mcp.auth_token):
        if secret is not None:
            register_secret(secret.get_secret_value())
    logs.configure(settings.log_format, settings.log_level)
    services = Services(settings, lambda: build_store(settings))
    # tool modules are imported when a tool is first used (ADR 0098): nothing here reaches an engine, a cluster or
    # a network, and nothing imports their domain code
    return App(settings=settings, services=services, registry=REGISTRY)
