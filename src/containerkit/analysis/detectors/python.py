"""Python services: pip / poetry / uv / pipenv; Flask, FastAPI, Django, Starlette."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, first, major_minor, rel_in, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

MANIFESTS = ("requirements.txt", "pyproject.toml", "setup.py", "Pipfile", "setup.cfg")
DEFAULT_PORT = {"flask": 5000, "fastapi": 8000, "django": 8000, "starlette": 8000}
BACKING = {
    "psycopg2": "postgres", "psycopg2-binary": "postgres", "psycopg": "postgres", "asyncpg": "postgres", "pg8000": "postgres",
    "pymysql": "mysql", "mysqlclient": "mysql", "mysql-connector-python": "mysql", "aiomysql": "mysql",
    "pymongo": "mongodb", "motor": "mongodb", "mongoengine": "mongodb", "redis": "redis", "aioredis": "redis",
    "pika": "rabbitmq", "aio-pika": "rabbitmq", "kombu": "rabbitmq", "kafka-python": "kafka", "confluent-kafka": "kafka",
    "aiokafka": "kafka", "elasticsearch": "elasticsearch", "cassandra-driver": "cassandra", "pymemcache": "memcached",
}
SYSTEM_PACKAGES = {
    "psycopg2": ["gcc", "libpq-dev"], "mysqlclient": ["default-libmysqlclient-dev", "gcc", "pkg-config"],
    "python-ldap": ["gcc", "libldap2-dev", "libsasl2-dev"], "pyodbc": ["gcc", "unixodbc-dev"],
}
APP_OBJECT = re.compile(r"^(\w+)\s*=\s*(?:flask\.)?(Flask|FastAPI|Starlette|Quart|Sanic)\(")
APP_FACTORY = re.compile(r"^def\s+(create_app|make_app|get_app)\s*\(")
RUN_PORT = re.compile(r"\.run\([^)]*port\s*=\s*(\d{2,5})")
PORT_ENV = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']PORT["'](?:\s*,\s*["']?(\d{2,5}))?""")
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|environ\.get|env\.str|env\.int|env\.bool|env)\(?\s*["']([A-Z_][A-Z0-9_]*)["']"""
)
DJANGO_HEALTH = re.compile(r"""path\(\s*["'](health|healthz|ready|ping)/?["']""")
# the authors' own server command, in a Procfile or a boot script: gunicorn -b :5000 microblog:app
LAUNCH_TARGET = re.compile(r"\b(gunicorn|uvicorn)\b[^\n;&|]*?\s([A-Za-z_][\w.]*:[A-Za-z_]\w*(?:\(\))?)(?=\s|$|[;&|\"'])")
LAUNCH_FILES = ("Procfile", "boot.sh", "entrypoint.sh", "start.sh", "run.sh", "docker-entrypoint.sh")
PROCFILE_PORT = re.compile(r"(?:--bind\s+\S*:|--port[ =]|-p\s+|-b\s+\S*:)(\d{2,5})")


def _req_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-", "git+", "http")):
            continue
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.append(match.group(1).lower().replace("_", "-"))
    return names


def _toml(tree: Tree, rel: str) -> dict[str, Any]:
    try:
        return tomllib.loads(tree.read(rel))
    except (tomllib.TOMLDecodeError, ValueError):
        return {}


def dependencies(tree: Tree, svc: ServiceDir, col: Collector) -> tuple[list[str], str | None, str | None, str | None]:
    """(dependency names, package manager, lockfile, manifest)."""
    deps: list[str] = []
    manifest = None
    for req in ("requirements.txt", "requirements/base.txt", "requirements/prod.txt", "requirements/production.txt"):
        if svc.has(tree, req):
            deps += _req_names(tree.read(svc.rel(req)))
            manifest = manifest or req
    pyproject = _toml(tree, svc.rel("pyproject.toml")) if svc.has(tree, "pyproject.toml") else {}
    project_deps = pyproject.get("project", {}).get("dependencies", [])
    if isinstance(project_deps, list):
        deps += [n for d in project_deps for n in _req_names(str(d))]
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if isinstance(poetry.get("dependencies"), dict):
        deps += [k.lower() for k in poetry["dependencies"] if k.lower() != "python"]
    if pyproject and (project_deps or poetry):
        manifest = manifest or "pyproject.toml"
    if svc.has(tree, "Pipfile"):
        pipfile = _toml(tree, svc.rel("Pipfile"))
        deps += [k.lower() for k in pipfile.get("packages", {})]
        manifest = manifest or "Pipfile"
    if svc.has(tree, "setup.py") and not deps:
        match = re.search(r"install_requires\s*=\s*\[([^\]]*)\]", tree.read(svc.rel("setup.py")), re.S)
        if match:
            deps += [n for item in re.findall(r"['\"]([^'\"]+)['\"]", match.group(1)) for n in _req_names(item)]
        manifest = manifest or "setup.py"
    manager, lockfile = "pip", None
    for lock, mgr in (("poetry.lock", "poetry"), ("uv.lock", "uv"), ("Pipfile.lock", "pipenv"), ("pdm.lock", "pdm")):
        if svc.has(tree, lock):
            manager, lockfile = mgr, lock
            break
    else:
        if poetry:
            manager = "poetry"
        elif svc.has(tree, "Pipfile"):
            manager = "pipenv"
    if manifest:
        col.add("package_manager", svc.rel(lockfile or manifest), f"{manager} ({len(set(deps))} dependencies)")
    return sorted(set(deps)), manager, lockfile, manifest


def _minimum_python(tree: Tree, svc: ServiceDir) -> bool:
    """requires-python (or poetry's python) is a range starting at its version: >=3.9, >3.9, ~=3.9, ^3.9."""
    if any(svc.has(tree, name) for name in (".python-version", "runtime.txt")) or not svc.has(tree, "pyproject.toml"):
        return False
    data = _toml(tree, svc.rel("pyproject.toml"))
    spec = data.get("project", {}).get("requires-python") or data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    return bool(spec) and str(spec).strip().startswith((">=", ">", "~=", "^")) and "<" not in str(spec).split(",")[0]


def version(tree: Tree, svc: ServiceDir, col: Collector) -> str | None:
    """The Python version the app names: exact in .python-version/runtime.txt, else from requires-python."""
    for name in (".python-version", "runtime.txt"):
        if svc.has(tree, name):
            found = major_minor(tree.read(svc.rel(name)).strip())
            if found:
                col.add("language_version", svc.rel(name), f"Python {found}", 1)
                return found
    if svc.has(tree, "pyproject.toml"):
        data = _toml(tree, svc.rel("pyproject.toml"))
        poetry_python = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
        spec = data.get("project", {}).get("requires-python") or poetry_python
        found = major_minor(str(spec)) if spec else None
        if found:
            col.add("language_version", svc.rel("pyproject.toml"), f"requires-python {spec}")
            return found
    return None


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    if not any(svc.has(tree, m) for m in MANIFESTS):
        return None
    col = Collector()
    deps, manager, lockfile, manifest = dependencies(tree, svc, col)
    sources = [f for f in svc.with_suffix(".py") if "/tests/" not in f"/{f}" and not f.rsplit("/", 1)[-1].startswith("test_")]
    framework: str | None = next((f for f in ("django", "fastapi", "flask", "starlette") if f in deps), None)
    if framework is None:
        imported = first(tree, sources, re.compile(r"^\s*(?:from|import)\s+(django|fastapi|flask|starlette)\b"))
        framework = imported.value if imported else None
    if framework:
        col.add("framework", svc.rel(manifest or "requirements.txt"), f"depends on {framework}")
    analysis: dict[str, Any] = {"framework": framework}
    _entrypoint(tree, svc, sources, framework, col, analysis)
    _port(tree, svc, sources, framework, col, analysis)
    routes = search(tree, sources, HEALTH_ROUTE)
    if framework == "django":
        routes += search(tree, [f for f in sources if f.endswith("urls.py")], DJANGO_HEALTH)
    health = None
    if routes:
        health = "/" + routes[0].value.strip("/")
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    env_config, env_secret = split_env({f.value for f in search(tree, sources, ENV_READ)})
    backing = sorted({BACKING[d] for d in deps if d in BACKING})
    system = sorted({p for d in deps if d in SYSTEM_PACKAGES for p in SYSTEM_PACKAGES[d]})
    port = analysis.get("port")
    start = analysis.get("start_command") or [""]
    return ServiceAnalysis(
        path=svc.path or ".", name=svc.name(tree.root.name), language="python", language_version=version(tree, svc, col),
        language_version_minimum=_minimum_python(tree, svc),
        framework=framework, package_manager=manager, lockfile=lockfile, manifest=manifest, port=port,
        reads_port_env=analysis.get("reads_port_env", False), start_command=analysis.get("start_command"),
        entrypoint=analysis.get("entrypoint"), app_object=analysis.get("app_object"), health_path=health,
        serves_http=framework is not None or port is not None, env_vars=EnvVars(config=env_config, secret=env_secret),
        backing_services=backing, system_packages=system, has_dockerfile=svc.has(tree, "Dockerfile"), evidence=col.evidence,
        server_declared=start[0] in deps or _declared_anywhere(tree, svc, start[0]),
    )


def _declared_anywhere(tree: Tree, svc: ServiceDir, server: str) -> bool:
    """The server is pinned in one of the app's requirement files (requirements/docker.txt, requirements-prod.txt, ...)."""
    if server not in ("gunicorn", "uvicorn"):
        return False
    files = [f for f in svc.files if re.search(r"requirements[^/]*\.txt$", rel_in(svc.path, f)) and rel_in(svc.path, f).count("/") <= 1]
    return any(server in _req_names(tree.read(f)) for f in files)


def _module(svc: ServiceDir, rel: str) -> str:
    inner = rel_in(svc.path, rel)[: -len(".py")]
    if inner.startswith("src/"):
        inner = inner[4:]
    return inner.replace("/", ".").removesuffix(".__init__")


def _launch(tree: Tree, svc: ServiceDir) -> tuple[str, int, str, str] | None:
    """(file, line number, line, app target) of the authors' gunicorn/uvicorn command."""
    for name in LAUNCH_FILES:
        if svc.has(tree, name):
            for number, line in enumerate(tree.lines(svc.rel(name)), 1):
                match = LAUNCH_TARGET.search(line)
                if match and not line.lstrip().startswith("#"):
                    return svc.rel(name), number, line.strip(), match.group(2)
    return None


def _entrypoint(tree: Tree, svc: ServiceDir, sources: list[str], framework: str | None, col: Collector, out: dict[str, Any]) -> None:
    if framework == "django":
        wsgi = next((f for f in sources if f.endswith("/wsgi.py") or f == "wsgi.py"), None)
        if wsgi:
            out["app_object"] = f"{_module(svc, wsgi)}:application"
            out["entrypoint"] = rel_in(svc.path, wsgi)
            col.add("start_command", wsgi, "Django WSGI application")
        return
    launch = _launch(tree, svc)
    if launch:
        file, number, line, target = launch
        module = target.split(":", 1)[0]
        rel = next((f for f in sources if rel_in(svc.path, f) in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py")), None)
        if rel:
            out["app_object"], out["entrypoint"] = target, rel_in(svc.path, rel)
            col.add("start_command", file, line, number)
            return
    # prefer conventional names: app.py, main.py, wsgi.py, server.py, then any module creating the app object
    ranked = sorted(sources, key=lambda f: (f.rsplit("/", 1)[-1] not in ("app.py", "main.py", "wsgi.py", "asgi.py", "server.py"),
                                            f.count("/"), f))
    for rel in ranked:
        for number, line in enumerate(tree.lines(rel), 1):
            match = APP_OBJECT.match(line) or APP_FACTORY.match(line)
            if match:
                var = match.group(1)
                target = f"{_module(svc, rel)}:{var}" + ("()" if match.re is APP_FACTORY else "")
                out["app_object"], out["entrypoint"] = target, rel_in(svc.path, rel)
                col.add("start_command", rel, line.strip(), number)
                return
    main = next((f for f in ranked if "__main__" in tree.read(f)), None)
    if main:
        out["entrypoint"] = rel_in(svc.path, main)
        col.add("start_command", main, "has an `if __name__ == '__main__'` block")


def _port(tree: Tree, svc: ServiceDir, sources: list[str], framework: str | None, col: Collector, out: dict[str, Any]) -> None:
    env = first(tree, sources, PORT_ENV, 1)
    if env is None:
        env_line = first(tree, sources, re.compile(r"""(["']PORT["'])"""))
        if env_line and re.search(r"environ|getenv", env_line.text):
            env = env_line
            env.value = ""
    if env is not None:
        out["reads_port_env"] = True
        col.add("reads_port_env", env.file, env.text, env.line)
        if env.value and env.value.isdigit():
            out["port"] = int(env.value)
            col.add("port", env.file, f"PORT default {env.value}", env.line)
    if "port" not in out:
        run = first(tree, sources, RUN_PORT)
        if run:
            out["port"] = int(run.value)
            col.add("port", run.file, run.text, run.line)
    for name in LAUNCH_FILES:
        if "port" in out or not svc.has(tree, name):
            continue
        for number, line in enumerate(tree.lines(svc.rel(name)), 1):
            web = line.startswith("web:") if name == "Procfile" else bool(LAUNCH_TARGET.search(line))
            match = PROCFILE_PORT.search(line)
            if web and match and "port" not in out:
                out["port"] = int(match.group(1))
                col.add("port", svc.rel(name), line.strip(), number)
            if web and "$PORT" in line:
                out["reads_port_env"] = True
                col.add("reads_port_env", svc.rel(name), line.strip(), number)
    if "port" not in out and framework in DEFAULT_PORT:
        out["port"] = DEFAULT_PORT[framework]
        col.add("port", svc.rel("."), f"{framework} default port {DEFAULT_PORT[framework]}")
    port = out.get("port")
    target = out.get("app_object")
    if framework in ("flask", "django") and target and port:
        out["start_command"] = ["gunicorn", "--bind", f"0.0.0.0:{port}", "--workers", "2", "--access-logfile", "-", target]
    elif framework in ("fastapi", "starlette") and target and port:
        out["start_command"] = ["uvicorn", target.removesuffix("()"), "--host", "0.0.0.0", "--port", str(port)]
        if target.endswith("()"):
            out["start_command"].insert(2, "--factory")
    elif out.get("entrypoint"):
        out["start_command"] = ["python", out["entrypoint"]]
