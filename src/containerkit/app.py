"""The composition root: settings -> services -> the loaded tool registry.

Both adapters (CLI and MCP) build their world here and nowhere else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from containerkit.redaction import install_log_redaction, register_secret
from containerkit.settings import Settings, load_settings
from containerkit.store import SessionStore
from containerkit.tools import Services, ToolRegistry, load_all


@dataclass
class App:
    settings: Settings
    services: Services
    registry: ToolRegistry


def build_store(settings: Settings) -> SessionStore:
    return SessionStore(
        settings.resolved_store_path,
        settings.resolved_workspace_root,
        ttl_s=settings.store.ttl_hours * 3600,
        max_sessions=settings.store.max_sessions,
        disk_quota_bytes=settings.store.disk_quota_mb * 1024 * 1024,
    )


def build_app(settings: Settings | None = None) -> App:
    settings = settings or load_settings()
    for secret in (settings.registry.password, settings.mcp.auth_token):
        if secret is not None:
            register_secret(secret.get_secret_value())
    logging.getLogger("containerkit").setLevel(settings.log_level)
    install_log_redaction()
    services = Services(settings, build_store(settings))
    registry = load_all()
    import containerkit.workflow.containerize
    import containerkit.workflow.tools  # noqa: F401 - registers the workflow tools

    return App(settings=settings, services=services, registry=registry)
