"""Rust services: Cargo; axum, actix-web, rocket, warp."""

from __future__ import annotations

import re
import tomllib

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import (
    HEALTH_ROUTE,
    Collector,
    first,
    loopback_warnings,
    major_minor,
    search,
    split_env,
)
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

FRAMEWORKS = (("axum", "axum"), ("actix-web", "actix"), ("rocket", "rocket"), ("warp", "warp"))
DEFAULT_PORT = {"axum": 3000, "actix": 8080, "rocket": 8000, "warp": 3030}
ENV_READ = re.compile(r"""env::var\(\s*"([A-Z_][A-Z0-9_]*)"\)""")
# clap: #[arg(long, default_value = "8080")] pub port: u16 / default_value_t = 8080 /
# Arg::new("port")…default_value("5000")
CLAP_PORT = re.compile(
    r"""default_value(?:_t)?\s*=\s*"?(\d{2,5})"?[^\]]*\]\s*(?:#\[[^\]]*\]\s*|///[^\n]*\s*)*(?:pub\s+)?port\s*:"""
    r"""|Arg::new\("port"\)(?:(?!Arg::new).){0,600}?(?:default_value\("(\d{2,5})"\)|\[default: (\d{2,5})\])""",
    re.S,
)
CONST_PORT = re.compile(r"""const\s+(?:DEFAULT_)?PORT\s*:\s*u16\s*=\s*(\d{2,5})""")
CONFIG_PORT = re.compile(r"""^\s*(?:application_)?port\s*[:=]\s*(\d{2,5})\s*$""", re.M)
CONFIG_FILES = (
    "configuration/base.yaml",
    "configuration/base.yml",
    "config/default.toml",
    "config.toml",
    "Rocket.toml",
    "configuration.yaml",
    "config/base.yaml",
)
# the variable an app picks its configuration file by (configuration/production.yaml)
PROFILE_ENV = re.compile(r"""env::var\(\s*"((?:APP_|RUST_|RUN_)?(?:ENV|ENVIRONMENT|PROFILE))"\s*\)""")
PROFILE_FILES = tuple(
    f"{d}/production.{e}" for d in ("configuration", "config") for e in ("yaml", "yml", "toml", "json")
)
# a linker the build configuration asks for, and the Debian packages that provide it
LINKERS = (("linker=clang", "clang"), ("fuse-ld=lld", "lld"), ("fuse-ld=mold", "mold"))
RUNTIME_FILES = ("Rocket.toml", "static", "templates", "configuration", "config", "public", "assets")


def is_aggregator(tree: Tree, svc: ServiceDir) -> bool:
    try:
        data = tomllib.loads(tree.read(svc.rel("Cargo.toml")))
    except tomllib.TOMLDecodeError:
        return False
    return "workspace" in data and "package" not in data


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    if not svc.has(tree, "Cargo.toml"):
        return None
    col = Collector()
    try:
        cargo = tomllib.loads(tree.read(svc.rel("Cargo.toml")))
    except tomllib.TOMLDecodeError:
        cargo = {}
    deps = set(cargo.get("dependencies", {}))
    framework = next((fw for dep, fw in FRAMEWORKS if dep in deps), None)
    if framework:
        col.add("framework", svc.rel("Cargo.toml"), f"depends on {framework}")
    version, minimum = None, False
    for name in ("rust-toolchain.toml", "rust-toolchain"):
        if svc.has(tree, name):
            version = major_minor(tree.read(svc.rel(name)))
            if version:
                col.add("language_version", svc.rel(name), f"channel {version}")
                break
    if version is None and cargo.get("package", {}).get("rust-version"):
        version = major_minor(str(cargo["package"]["rust-version"]))
        minimum = version is not None  # rust-version is the oldest toolchain the crate supports
        col.add("language_version", svc.rel("Cargo.toml"), f"rust-version {version}")
    sources = [f for f in svc.files if f.endswith(".rs") and "/tests/" not in f]
    port = _port(tree, svc, sources, framework, col)
    reads_env = bool(first(tree, sources, re.compile(r"""env::var\(\s*"(PORT)"\)""")))
    routes = search(tree, sources, HEALTH_ROUTE)
    health = routes[0].value if routes else None
    if routes:
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    config, secret = split_env({f.value for f in search(tree, sources, ENV_READ)})
    binary = _binary(cargo)
    # a crate that is only src/main.rs can pre-build its dependencies with a stub main; any other layout cannot
    plain = (
        svc.has(tree, "src/main.rs")
        and not svc.has(tree, "src/lib.rs")
        and not any(k in cargo for k in ("bin", "lib", "bench", "example", "test", "workspace"))
    )
    build_env, runtime_env, system = _environment(tree, svc, sources, deps, col)
    return ServiceAnalysis(
        warnings=loopback_warnings(tree, sources),
        build_env=build_env,
        runtime_env=runtime_env,
        system_packages=system,
        path=svc.path or ".",
        name=re.sub(r"[^a-z0-9-]+", "-", binary.lower()).strip("-") or "app",
        language="rust",
        language_version=version,
        language_version_minimum=minimum,
        framework=framework,
        package_manager="cargo",
        lockfile="Cargo.lock" if svc.has(tree, "Cargo.lock") else None,
        manifest="Cargo.toml",
        port=port,
        reads_port_env=reads_env,
        start_command=[f"/app/{binary}"],
        build_command=["cargo", "build", "--release", "--locked"]
        if svc.has(tree, "Cargo.lock")
        else ["cargo", "build", "--release"],
        build_output=f"target/release/{binary}",
        health_path=health,
        entrypoint="src/main.rs" if plain else None,
        serves_http=framework is not None or port is not None,
        env_vars=EnvVars(config=config, secret=secret),
        runtime_files=[
            n for n in RUNTIME_FILES if svc.has(tree, n) or any(f.startswith(svc.rel(n) + "/") for f in svc.files)
        ],
        backing_services=sorted(
            {
                v
                for k, v in {
                    "sqlx": "postgres",
                    "tokio-postgres": "postgres",
                    "redis": "redis",
                    "mongodb": "mongodb",
                    "lapin": "rabbitmq",
                    "rdkafka": "kafka",
                }.items()
                if k in deps
            }
        ),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )


def _environment(
    tree: Tree, svc: ServiceDir, sources: list[str], deps: set[str], col: Collector
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(build environment, run-time environment, build packages): sqlx's offline mode when its query data is committed,
    the production profile where the app picks its configuration file by a variable, the linker .cargo/config asks
    for."""
    build: dict[str, str] = {}
    if "sqlx" in deps and (
        svc.has(tree, "sqlx-data.json") or any(f.startswith(svc.rel(".sqlx") + "/") for f in svc.files)
    ):
        build["SQLX_OFFLINE"] = "true"
        col.add(
            "build_env",
            svc.rel(".sqlx" if not svc.has(tree, "sqlx-data.json") else "sqlx-data.json"),
            "sqlx's offline query data is committed: compile-time checks need no database",
        )
    runtime: dict[str, str] = {}
    profile = first(tree, sources, PROFILE_ENV)
    production = next((name for name in PROFILE_FILES if svc.has(tree, name)), None)
    if profile and production:
        runtime[profile.value] = "production"
        col.add("runtime_env", profile.file, f"{profile.text} selects {production}", profile.line)
    system: list[str] = []
    for name in (".cargo/config.toml", ".cargo/config"):
        if not svc.has(tree, name):
            continue
        try:
            config = tomllib.loads(tree.read(svc.rel(name)))
        except tomllib.TOMLDecodeError:
            continue
        target = config.get("target", {}).get("x86_64-unknown-linux-gnu", {})
        flags = " ".join(str(f) for f in [*target.get("rustflags", []), *config.get("build", {}).get("rustflags", [])])
        flags += f" linker={target.get('linker', '')}"
        for needle, package in LINKERS:
            if needle in flags.replace(" ", ""):
                system.append(package)
                col.add("system_packages", svc.rel(name), f"the build links with {package}")
    return build, runtime, sorted(system)


def _port(tree: Tree, svc: ServiceDir, sources: list[str], framework: str | None, col: Collector) -> int | None:
    for pattern, what in ((CLAP_PORT, "command-line default"), (CONST_PORT, "port constant")):
        for f in sources:
            m = pattern.search(tree.read(f))
            if m:
                value = next(g for g in m.groups() if g)
                col.add("port", f, f"{what}: {m.group(0).splitlines()[0][:100]}")
                return int(value)
    for name in CONFIG_FILES:
        if svc.has(tree, name):
            m = CONFIG_PORT.search(tree.read(svc.rel(name)))
            if m:
                col.add("port", svc.rel(name), m.group(0).strip())
                return int(m.group(1))
    found = first(
        tree, sources, re.compile(r"""(?:0\.0\.0\.0|127\.0\.0\.1|\[0, 0, 0, 0\]\)?,?)\s*:?\s*\)?,?\s*(\d{2,5})""")
    )
    if found:
        col.add("port", found.file, found.text, found.line)
        return int(found.value)
    if framework:
        col.add("port", svc.rel("Cargo.toml"), f"{framework} default port {DEFAULT_PORT[framework]}")
        return DEFAULT_PORT[framework]
    return None


def _binary(cargo: dict[str, object]) -> str:
    """The binary to run: the [[bin]] named like the package, else a server-looking one, else the first; else the
    package."""
    package = cargo.get("package")
    name = str(package.get("name", "app")) if isinstance(package, dict) else "app"
    declared = cargo.get("bin")
    bins = (
        [str(b["name"]) for b in declared if isinstance(b, dict) and b.get("name")]
        if isinstance(declared, list)
        else []
    )
    if not bins or name in bins:
        return name
    return next((b for b in bins if "server" in b or b.endswith("d")), bins[0])
