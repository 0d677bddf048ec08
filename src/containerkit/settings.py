"""Settings: ``CONTAINERKIT_*`` environment variables plus an optional YAML config file.

Read once by the composition root (:func:`load_settings`) and handed down; no
other module reads the environment. Nested groups use ``__`` in env names,
e.g. ``CONTAINERKIT_SANDBOX__MAX_MEMORY_MB=1024``. Secrets are ``SecretStr``
and are masked by :meth:`Settings.masked`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from containerkit.errors import ConfigError

DEFAULT_HOME = Path(os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share"))) / "containerkit"
DEFAULT_CONFIG = Path(os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))) / "containerkit" / "config.yaml"


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Group):
    url: SecretStr | None = Field(
        None,
        description="postgresql://user:password@host:port/database puts the store in PostgreSQL, shared by every "
        "process pointed at it (default: the SQLite file store_path). Needs containerkit[postgres].",
    )
    artifacts_url: str | None = Field(
        None,
        description="s3://BUCKET/PREFIX?endpoint=URL&region=R: artifacts of artifacts_min_kb or more (build logs, "
        "SBOMs, scan reports) go to this S3-compatible store, the database keeping their digest. Needs "
        "containerkit[s3]; credentials the AWS way (AWS_ACCESS_KEY_ID, ...).",
    )
    artifacts_min_kb: int = Field(64, ge=0, description="Smaller artifacts stay in the database.")
    ttl_hours: float = Field(24.0, gt=0, description="Session lifetime since last access.")
    max_sessions: int = Field(100, ge=1, description="Least recently used sessions beyond this are removed.")
    disk_quota_mb: int = Field(512, ge=1, description="Per-session limit for workspace files and artifacts.")
    sweep_interval_s: float = Field(300.0, gt=0, description="How often the server sweeps expired sessions.")


class EngineSettings(_Group):
    strategy: Literal["auto", "buildkit", "docker", "podman"] = "auto"
    docker_host: str | None = Field(None, description="Overrides DOCKER_HOST for the engine client.")
    podman_socket: str | None = None
    max_context_mb: int = Field(500, ge=1, description="Build contexts larger than this are refused.")
    build_timeout_s: float = Field(1800.0, gt=0)
    pool: list[str] = Field(
        default_factory=list,
        description="Several engines (Docker endpoints as DOCKER_HOST spells them: unix://, tcp:// with the DOCKER_TLS "
        "variables, ssh://): builds go to the least busy one that answers, and are run again on the next when theirs "
        "dies; what is done with an image afterwards goes to the engine that has it. Empty: docker_host alone.",
    )


class RegistrySettings(_Group):
    username: str | None = None
    password: SecretStr | None = None
    registry: str | None = Field(None, description="Registry the username/password apply to (default: any).")
    docker_config: Path | None = Field(
        None, description="Docker config.json for credentials (default ~/.docker/config.json)."
    )
    insecure_registries: list[str] = Field(
        default_factory=list,
        description="Registries spoken to over plain HTTP (host:port or host), besides the loopback ones "
        "(127.0.0.0/8, ::1, localhost), which are insecure by default as the engine treats them.",
    )
    push_retries: int = Field(3, ge=0)


class DockerfileSettings(_Group):
    base_images: dict[str, str] = Field(
        default_factory=dict, description="Overrides: e.g. {'python': 'python:{version}-slim'}."
    )
    registry_prefix: str | None = Field(
        None, description="Mirror prefix for base images, e.g. registry.corp/dockerhub."
    )
    user_uid: int = Field(10001, ge=1)


class ScanSettings(_Group):
    scanner: Literal["auto", "trivy", "grype", "builtin"] = "auto"
    db_path: Path | None = Field(None, description="OSV database directory or zip (default <home>/osv).")
    db_max_age_days: int = Field(7, ge=1, description="Scans with an older database carry a warning.")
    fail_on_db_age_days: int | None = Field(
        None,
        ge=0,
        description="The gate fails when the built-in scanner's database "
        "is older than this (days); a scan's max_db_age wins.",
    )
    fail_on: Literal["none", "low", "medium", "high", "critical"] = "none"
    osv_base_url: str = Field(
        "https://osv-vulnerabilities.storage.googleapis.com",
        description="Where `db update` downloads <Ecosystem>/all.zip from (an OSV mirror works too).",
    )
    ecosystems: list[str] = Field(
        default_factory=lambda: ["Debian", "Ubuntu", "Alpine", "PyPI", "npm", "Go", "Maven", "RubyGems", "crates.io"],
        description="Ecosystems `db update` downloads when none are named.",
    )
    timeout_s: float = Field(900.0, gt=0, description="Deadline for one scanner run or one database download.")


class K8sSettings(_Group):
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "default"
    rollout_timeout_s: float = Field(300.0, gt=0)
    field_manager: str = "containerkit"
    kubernetes_version: str = "1.30"
    kind_registry_container: str = Field(
        "kind-registry", description="`cluster create`: the local registry container kind pulls from."
    )
    kind_registry_port: int = Field(
        5001, ge=1, le=65535, description="Host port of that registry (images are tagged localhost:<port>/...)."
    )
    kind_registry_image: str = Field("registry:2", description="Image the registry container runs.")


class SandboxSettings(_Group):
    default_image: str = "python:3.12-slim"
    allowed_images: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch patterns.")
    allow_network: bool = False
    max_memory_mb: int = Field(2048, ge=16)
    max_cpus: float = Field(2.0, gt=0)
    max_pids: int = Field(1024, ge=8)
    max_timeout_s: float = Field(600.0, gt=0)
    max_output_bytes: int = Field(1_000_000, ge=1024)
    max_changes_bytes: int = Field(
        50 * 1024 * 1024,
        ge=0,
        description="Most bytes of changed files a writable run returns; larger changes are listed as dropped.",
    )


class WorkflowSettings(_Group):
    max_parallel: int = Field(4, ge=1)
    lease_s: float = Field(
        30.0,
        ge=1,
        description="A run an HTTP server executes is held under a lease of this length, renewed every third of "
        "it; when it lapses (its server was killed) another server on the same store takes the run over and resumes "
        "it.",
    )
    routing_rules: Path | None = Field(None, description="YAML file overriding the default failure-routing rules.")


class McpSettings(_Group):
    auth_token: SecretStr | None = Field(None, description="Bearer token required by the HTTP transport.")
    auth_token_file: Path | None = None
    oidc_issuer: str | None = Field(
        None,
        description="OAuth 2.1 / OIDC issuer whose JWT bearer tokens the HTTP transport accepts (besides the static "
        "token): signature (the issuer's JWKS), issuer, audience and expiry checked; scopes containerkit, "
        "containerkit:read and containerkit:<toolset> say which tools a caller sees.",
    )
    oidc_audience: str | None = Field(None, description="The audience this server's tokens carry (required).")
    oidc_jwks_url: str | None = Field(None, description="JWKS URL (default: from the issuer's discovery document).")
    public_url: str | None = Field(
        None,
        description="The MCP endpoint's public URL, for the protected-resource metadata (default http://host:port/mcp).",
    )


class Settings(BaseSettings):
    """Effective settings. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="CONTAINERKIT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    home: Path = Field(DEFAULT_HOME, description="Where the store, workspaces and caches live.")
    store_path: Path | None = Field(None, description="SQLite file (default <home>/sessions.db).")
    workspace_root: Path | None = Field(None, description="Session workspaces (default <home>/workspaces).")
    allowed_roots: list[Path] = Field(
        default_factory=list, description="Repository paths must be inside one of these (empty: current dir and home)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Logs on stderr: text, or one JSON object per line (time, level, message, session, run, tool).",
    )
    policy_dir: Path | None = Field(
        None,
        description="Directory of Rego policies (conftest's conventions) every gate applies: Dockerfile lint, "
        "manifest validation, the scan's policy gate. A call's own `policy` wins.",
    )

    store: StoreSettings = StoreSettings()
    engine: EngineSettings = EngineSettings()
    registry: RegistrySettings = RegistrySettings()
    dockerfile: DockerfileSettings = DockerfileSettings()
    scan: ScanSettings = ScanSettings()
    k8s: K8sSettings = K8sSettings()
    sandbox: SandboxSettings = SandboxSettings()
    workflow: WorkflowSettings = WorkflowSettings()
    mcp: McpSettings = McpSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # explicit values > environment > config file (passed as init values by load_settings)
        return (init_settings, env_settings)

    # derived paths -----------------------------------------------------------
    @property
    def resolved_store_path(self) -> Path:
        return self.store_path or self.home / "sessions.db"

    @property
    def store_location(self) -> str | Path:
        """Where the store is: the PostgreSQL URL (with its password) when one is set, else the SQLite file."""
        return self.store.url.get_secret_value() if self.store.url is not None else self.resolved_store_path

    @property
    def resolved_workspace_root(self) -> Path:
        return self.workspace_root or self.home / "workspaces"

    @property
    def resolved_allowed_roots(self) -> list[Path]:
        roots = self.allowed_roots or [Path.cwd(), Path.home()]
        return [r.expanduser().resolve() for r in roots]

    def masked(self) -> dict[str, Any]:
        """The effective settings as JSON-able data with every secret replaced by '***'."""
        data: dict[str, Any] = self.model_dump(mode="json")
        _mask(data)
        data["resolved"] = {
            "store_path": str(self.resolved_store_path),
            "workspace_root": str(self.resolved_workspace_root),
            "allowed_roots": [str(p) for p in self.resolved_allowed_roots],
        }
        return data


_SECRET_WORDS = ("password", "token", "secret")


def _mask(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if any(w in key.lower() for w in _SECRET_WORDS) and not key.lower().endswith("_file") and value is not None:
                node[key] = "***"
            else:
                _mask(value)
    elif isinstance(node, list):
        for item in node:
            _mask(item)


def config_file_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("CONTAINERKIT_CONFIG", str(DEFAULT_CONFIG))).expanduser()


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the config file (if any) and the environment, once.

    Raises:
        ConfigError: the file is not valid YAML or a value is invalid.
    """
    path = config_file or config_file_path()
    file_values: dict[str, Any] = {}
    if path.is_file():
        import yaml

        from containerkit import yamlsafe

        try:
            loaded = yamlsafe.load(yamlsafe.read(path))
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read config file {path}: {e}", hint=f"Fix or remove {path}.") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of settings", hint=f"Fix {path}.")
        file_values = loaded or {}
    try:
        # environment wins over the file: build from the file as defaults, env as overrides.
        env_only = Settings(**overrides)
        env_set = env_only.model_dump(exclude_unset=True)
        merged = _deep_merge(file_values, env_set)
        merged = _deep_merge(merged, overrides)
        return Settings(**merged)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where}: {first['msg']}",
            hint=f"Fix CONTAINERKIT_{where.upper().replace('.', '__')} or '{where}' in {path}.",
        ) from e


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
