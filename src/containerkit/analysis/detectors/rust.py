"""Rust services: Cargo; axum, actix-web, rocket, warp."""

from __future__ import annotations

import re
import tomllib

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, first, major_minor, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

FRAMEWORKS = (("axum", "axum"), ("actix-web", "actix"), ("rocket", "rocket"), ("warp", "warp"))
DEFAULT_PORT = {"axum": 3000, "actix": 8080, "rocket": 8000, "warp": 3030}
ENV_READ = re.compile(r"""env::var\(\s*"([A-Z_][A-Z0-9_]*)"\)""")


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
    port = None
    found = first(tree, sources, re.compile(r"""(?:0\.0\.0\.0|127\.0\.0\.1|\[0, 0, 0, 0\]\)?,?)\s*:?\s*\)?,?\s*(\d{2,5})"""))
    if found:
        port = int(found.value)
        col.add("port", found.file, found.text, found.line)
    elif framework:
        port = DEFAULT_PORT[framework]
        col.add("port", svc.rel("Cargo.toml"), f"{framework} default port {port}")
    reads_env = bool(first(tree, sources, re.compile(r"""env::var\(\s*"(PORT)"\)""")))
    routes = search(tree, sources, HEALTH_ROUTE)
    health = routes[0].value if routes else None
    if routes:
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    config, secret = split_env({f.value for f in search(tree, sources, ENV_READ)})
    binary = str(cargo.get("package", {}).get("name", "app"))
    return ServiceAnalysis(
        path=svc.path or ".", name=re.sub(r"[^a-z0-9-]+", "-", binary.lower()).strip("-") or "app", language="rust",
        language_version=version, language_version_minimum=minimum, framework=framework, package_manager="cargo",
        lockfile="Cargo.lock" if svc.has(tree, "Cargo.lock") else None, manifest="Cargo.toml", port=port, reads_port_env=reads_env,
        start_command=[f"/app/{binary}"], build_command=["cargo", "build", "--release", "--locked"] if svc.has(tree, "Cargo.lock")
        else ["cargo", "build", "--release"], build_output=f"target/release/{binary}", health_path=health,
        serves_http=framework is not None or port is not None, env_vars=EnvVars(config=config, secret=secret),
        backing_services=sorted({v for k, v in {"sqlx": "postgres", "tokio-postgres": "postgres", "redis": "redis",
                                                "mongodb": "mongodb", "lapin": "rabbitmq", "rdkafka": "kafka"}.items() if k in deps}),
        has_dockerfile=svc.has(tree, "Dockerfile"), evidence=col.evidence,
    )
