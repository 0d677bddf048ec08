"""The analysis result model: what every later step (Dockerfile, manifests, workflow) reads.

Field names are a public contract (`containerkit analyze --json` prints them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: the image label in which a generated Dockerfile lists ``ServiceAnalysis.writable_paths`` (the smoke run mounts a
#: tmpfs on each, as the manifests mount emptyDirs)
WRITABLE_LABEL = "org.containerkit.writable"

Language = Literal["python", "node", "go", "java", "dotnet", "ruby", "php", "rust", "static"]


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(_M):
    field: str = Field(description="Which conclusion this supports (language, framework, port, ...).")
    file: str = Field(description="Path relative to the repository root.")
    line: int | None = Field(None, description="1-based line, when the evidence is a line.")
    detail: str = Field(description="What was seen there.")


class EnvVars(_M):
    config: list[str] = Field(default_factory=list, description="Config-like names the code reads (go to a ConfigMap).")
    secret: list[str] = Field(
        default_factory=list, description="Secret-like names (PASSWORD, TOKEN, KEY, ...): Secret references only."
    )


class ServiceAnalysis(_M):
    path: str = Field(description="Service directory relative to the repository root; '.' for the root.")
    name: str = Field(description="A DNS-1123 name for the service (from the manifest or the directory).")
    language: Language
    language_version: str | None = Field(None, description="e.g. '3.12', '20', '1.22', '17', '8.0'.")
    language_version_minimum: bool = Field(
        False,
        description="language_version is a lower bound (go.mod's go line, requires-python >=, engines.node >=, "
        "rust-version), not a pin: the generator uses the newest maintained release at or above it.",
    )
    language_version_maximum: str | None = Field(
        None,
        description="The newest release the app's locked binary packages have wheels for (poetry.lock, uv.lock): "
        "the generator uses no newer one, since a newer CPython would have to compile them from source.",
    )
    framework: str | None = Field(
        None, description="Lowercase id: flask, fastapi, express, spring-boot, ...; null when none."
    )
    package_manager: str | None = Field(
        None, description="pip, poetry, uv, pipenv, npm, yarn, pnpm, maven, gradle, bundler, composer, cargo, go"
    )
    package_manager_version: str | None = Field(
        None,
        description="The package manager release the project pins (package.json packageManager, the Yarn release "
        "under .yarn/releases, the Poetry that wrote poetry.lock): yarn 1 is Yarn classic, 2 and later Yarn Berry.",
    )
    lockfile: str | None = Field(None, description="Lockfile path relative to the service dir, if any.")
    install_files: list[str] = Field(
        default_factory=list,
        description="Files the dependency install reads besides the manifest and lockfile, relative "
        "to the service dir (.npmrc, .yarnrc.yml, .yarn/releases, patches/, pnpm-workspace.yaml): copied before it.",
    )
    install_needs_source: bool = Field(
        False,
        description="The package's own install scripts (postinstall, prepare) read its source, so the source is "
        "copied before the dependencies are installed.",
    )
    manifest: str | None = Field(
        None, description="The dependency manifest (requirements.txt, package.json, go.mod, ...)."
    )
    port: int | None = Field(None, ge=1, le=65535)
    reads_port_env: bool = Field(
        False, description="The app takes its port from the PORT variable (Dockerfile/manifests set it)."
    )
    start_command: list[str] | None = Field(None, description="How to start the app in production (exec form).")
    build_command: list[str] | None = Field(None, description="Build/compile step, when there is one.")
    build_output: str | None = Field(
        None, description="What the build produces (dist dir, jar, binary), relative to the service dir."
    )
    entrypoint: str | None = Field(None, description="Main module/file (app.py, src/index.js, main.go, ...).")
    app_object: str | None = Field(None, description="WSGI/ASGI target like 'app:app' for Python web apps.")
    installs_project: bool = Field(
        False,
        description="The project itself is installed into the image (pip install --no-deps .): it starts as one of "
        "its own console scripts ([project.scripts]), whose imports only resolve once installed.",
    )
    health_path: str | None = Field(None, description="An HTTP route the app defines for health checks.")
    runtime_files: list[str] = Field(
        default_factory=list,
        description="Files and directories a compiled app reads at run time (templates/, static/, ui/, "
        "Rocket.toml, configuration/), relative to the service dir: the runtime image copies them beside the binary.",
    )
    writes: list[str] = Field(
        default_factory=list,
        description="Directories, relative to the service dir, the app creates and writes at run "
        "time (microblog's logs/, Flask's instance/): the image makes them the app user's, and they are mounted "
        "writable "
        "over a read-only root filesystem.",
    )
    build_env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment the build needs (SQLX_OFFLINE=true when sqlx's offline query data is committed).",
    )
    runtime_env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment the image sets for the app (APP_ENVIRONMENT=production where the "
        "app picks its configuration file by that variable and has a production one).",
    )
    serves_http: bool = Field(True, description="False for workers and plain TCP/gRPC servers.")
    env_vars: EnvVars = Field(default_factory=EnvVars)
    backing_services: list[str] = Field(
        default_factory=list, description="postgres, mysql, mongodb, redis, rabbitmq, kafka, ..."
    )
    system_packages: list[str] = Field(
        default_factory=list, description="OS packages the dependencies need at build time (e.g. libpq-dev)."
    )
    has_dockerfile: bool = Field(False, description="The service directory already has a Dockerfile.")
    server_declared: bool = Field(
        False,
        description="The app's own requirements name the server of start_command (gunicorn, uvicorn): its pinned "
        "version is installed, none is added beside it.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the generated files cannot fix and the app's code must (it binds "
        "127.0.0.1, which nothing outside its container reaches), each naming the file and line.",
    )
    evidence: list[Evidence] = Field(default_factory=list)

    def writable_paths(self) -> tuple[str, ...]:
        """Absolute paths the generated image's runtime writes, ``/tmp`` first: a read-only root filesystem needs them
        writable (the manifests mount emptyDirs there, the smoke run tmpfs). Apache (PHP) writes its pid and lock files
        under /var/run/apache2 and /var/lock/apache2; Laravel and Rails write caches and logs in the app tree; Next.js
        its image/ISR cache under .next/cache; nginx keeps its pid and temp files under /tmp."""
        paths = ["/tmp"]  # noqa: S108 - a path inside the container, not a temp file here
        paths += [f"{APP_DIR.get(self.language, '/app')}/{d}" for d in self.writes]
        if self.language == "php":
            paths += ["/var/run/apache2", "/var/lock/apache2"]
            if self.framework == "laravel":
                paths += [f"/var/www/html/{p}" for p in _LARAVEL_WRITES]
        elif self.language == "ruby" and self.framework == "rails":
            paths += ["/app/tmp", "/app/log"]
        elif self.language == "node" and self.framework == "nextjs":
            paths += ["/app/.next/cache"]
        return tuple(paths)


#: where each template puts the app
APP_DIR = {"php": "/var/www/html"}
_LARAVEL_WRITES = (
    "storage/framework/cache",
    "storage/framework/sessions",
    "storage/framework/views",
    "storage/logs",
    "bootstrap/cache",
)


class RepoAnalysis(_M):
    path: str = Field(description="Absolute path of the analyzed repository.")
    services: list[ServiceAnalysis]
    files_scanned: int = 0
    skipped: list[str] = Field(
        default_factory=list, description="Notable things skipped (symlinks escaping the root, huge files)."
    )
    duration_ms: float = 0.0
