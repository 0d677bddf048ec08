"""Go services: go modules; gin, echo, fiber, chi, gorilla/mux, net/http."""

from __future__ import annotations

import re

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, first, loopback_warnings, rel_in, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

FRAMEWORKS = (
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/go-chi/chi", "chi"),
    ("github.com/gorilla/mux", "gorilla"),
)
BACKING = {
    "github.com/lib/pq": "postgres",
    "github.com/jackc/pgx": "postgres",
    "github.com/go-sql-driver/mysql": "mysql",
    "go.mongodb.org/mongo-driver": "mongodb",
    "github.com/redis/go-redis": "redis",
    "github.com/go-redis/redis": "redis",
    "github.com/rabbitmq/amqp091-go": "rabbitmq",
    "github.com/streadway/amqp": "rabbitmq",
    "github.com/segmentio/kafka-go": "kafka",
}
ADDR_PORT = re.compile(r"""["'](?:0\.0\.0\.0|localhost|127\.0\.0\.1)?:(\d{2,5})["']""")
# flag.Int("port", 9898, …), fs.StringVar(&p, "port", getEnv("X", "80"), …), flag.String("http", "localhost:8080", …)
FLAG_PORT = re.compile(
    r"""\.(?:Int|Uint|String)(?:Var)?P?\((?:[^,()]+,\s*)?["'](port|http-port|listen|addr|http|address|bind)["']\s*,\s*"""
    r"""(?:(?:[\w.]+\(\s*["'][\w]+["']\s*,\s*)?["'](?:[\w.\[\]-]*:)?(\d{2,5})["']|(\d{2,5}))"""
)
FLAG_LOOPBACK = re.compile(
    r"""\.String(?:Var)?P?\((?:[^,()]+,\s*)?["']([\w-]+)["']\s*,\s*["'](?:localhost|127\.0\.0\.1):(\d{2,5})["']"""
)
RUNTIME_DIRS = ("templates", "static", "ui", "web", "public", "assets", "views", "config", "configs")
PORT_DEFAULT = re.compile(r"""(?:port|PORT)\s*=\s*["'](\d{2,5})["']""")
ENV_READ = re.compile(r"""os\.(?:Getenv|LookupEnv)\(\s*["']([A-Z_][A-Z0-9_]*)["']""")
#: modules that compile C with cgo: the binary is built with CGO_ENABLED=1 and links the image's libc
CGO_MODULES = (
    "github.com/mattn/go-sqlite3",
    "github.com/confluentinc/confluent-kafka-go",
    "gopkg.in/gographics/imagick",
    "github.com/tecbot/gorocksdb",
    "github.com/linxGnu/grocksdb",
    "github.com/google/gopacket/pcap",
    "github.com/go-gl/",
    "github.com/miekg/pkcs11",
    "github.com/ceph/go-ceph",
)
IMPORT_C = re.compile(r'^import\s+"C"|^\s+"C"$', re.M)


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    """A Go module; or, without go.mod, a directory of `package main` files (go-outyet's lone main.go), built after
    `go mod init` and `go mod tidy`."""
    lone = not svc.has(tree, "go.mod")
    if lone and not any(re.search(r"^package main\b", tree.read(f), re.M) for f in svc.with_suffix(".go", depth=1)):
        return None
    col = Collector()
    gomod = "" if lone else tree.read(svc.rel("go.mod"))
    if lone:
        col.add(
            "language",
            next(f for f in svc.with_suffix(".go", depth=1)),
            "package main with no go.mod: a module is made for it",
        )
    module = re.search(r"^module\s+(\S+)", gomod, re.M)
    version = re.search(r"^go\s+(\d+\.\d+)", gomod, re.M)
    if version:
        col.add("language_version", svc.rel("go.mod"), f"go {version.group(1)}")
    framework = next((fw for mod, fw in FRAMEWORKS if mod in gomod), None)
    if framework:
        col.add("framework", svc.rel("go.mod"), f"requires {next(m for m, f in FRAMEWORKS if f == framework)}")
    sources = [f for f in svc.with_suffix(".go", depth=5) if not f.endswith("_test.go")]
    mains = [f for f in sources if re.search(r"^package main\b", tree.read(f), re.M) and "func main()" in tree.read(f)]
    main = _main(tree, svc, mains, module.group(1).rsplit("/", 1)[-1] if module else "")
    main_dir = rel_in(svc.path, main.rsplit("/", 1)[0]) if main and "/" in rel_in(svc.path, main) else "."
    port = None
    reads_env = False
    env = first(tree, sources, re.compile(r"""(os\.(?:Getenv|LookupEnv)\(\s*["']PORT["']\))"""))
    if env:
        reads_env = True
        col.add("reads_port_env", env.file, env.text, env.line)
    start = ["/app/server"]
    ordered = ([main] if main else []) + [f for f in sources if f != main]
    flag = next((m for f in ordered for m in [FLAG_PORT.search(tree.read(f))] if m), None)
    if flag:
        port = int(flag.group(2) or flag.group(3))
        found_in = next(f for f in ordered if FLAG_PORT.search(tree.read(f)))
        col.add("port", found_in, flag.group(0)[:120])
        loopback = FLAG_LOOPBACK.search(tree.read(found_in))
        if port < 1024 and flag.group(1) in ("port", "http-port"):
            # a non-root user cannot bind it: tell the app to use an unprivileged port instead
            start.append(f"-{flag.group(1)}=8080")
            col.add("port", found_in, f"default {port} is privileged for a non-root user: -{flag.group(1)}=8080")
            port = 8080
        elif loopback:
            # the default listens on loopback only: unreachable from outside the container unless told otherwise
            start.append(f"-{loopback.group(1)}=:{loopback.group(2)}")
            col.add(
                "start_command", found_in, f"-{loopback.group(1)} defaults to a loopback address: bind all interfaces"
            )
    for pattern in (PORT_DEFAULT, ADDR_PORT):
        found = None if port is not None else first(tree, sources, pattern)
        if found:
            port = int(found.value)
            col.add("port", found.file, found.text, found.line)
            break
    if port is None and (framework or env):
        port = 8080
        col.add("port", svc.rel("go.mod"), "Go web default 8080")
    routes = search(tree, sources, HEALTH_ROUTE)
    health = routes[0].value if routes else None
    if routes:
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    config, secret = split_env({f.value for f in search(tree, sources, ENV_READ)})
    name = (module.group(1).rsplit("/", 1)[-1] if module else svc.name(tree.root.name)).lower()
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-") or "app"
    http = port is not None or bool(
        re.search(r"net/http|gin|echo|fiber", " ".join(tree.read(f)[:4000] for f in sources[:20]))
    )
    cgo = next((mod for mod in CGO_MODULES if mod in gomod), None) or next(
        (f for f in sources if IMPORT_C.search(tree.read(f))), None
    )
    if cgo:
        col.add("build_env", svc.rel("go.mod") if cgo in CGO_MODULES else cgo, f"cgo: {cgo}")
    return ServiceAnalysis(
        warnings=loopback_warnings(tree, sources),
        build_env={"CGO_ENABLED": "1"} if cgo else {},
        path=svc.path or ".",
        name=name,
        language="go",
        language_version=version.group(1) if version else None,
        language_version_minimum=version is not None,
        framework=framework,
        package_manager="go",
        lockfile="go.sum" if svc.has(tree, "go.sum") else None,
        manifest=None if lone else "go.mod",
        port=port,
        reads_port_env=reads_env,
        start_command=start,
        build_command=[
            "go",
            "build",
            "-trimpath",
            "-ldflags=-s -w",
            "-o",
            "/out/server",
            f"./{main_dir}" if main_dir != "." else ".",
        ],
        build_output="/out/server",
        entrypoint=rel_in(svc.path, main) if main else None,
        health_path=health,
        serves_http=http,
        env_vars=EnvVars(config=config, secret=secret),
        runtime_files=[d for d in RUNTIME_DIRS if any(f.startswith(svc.rel(d) + "/") for f in svc.files)],
        backing_services=sorted({svc_ for mod, svc_ in BACKING.items() if mod in gomod}),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )


def _main(tree: Tree, svc: ServiceDir, mains: list[str], module_name: str) -> str | None:
    """The main package to build: the one named like the module (cmd/<module>), else one that serves, else the
    shallowest."""

    def rank(f: str) -> tuple[bool, bool, int, str]:
        directory = rel_in(svc.path, f).rsplit("/", 1)[0] if "/" in rel_in(svc.path, f) else ""
        named = directory.rsplit("/", 1)[-1] == module_name or directory == ""
        serves = bool(re.search(r"ListenAndServe|\.Run\(|\.Listen\(|\.Serve\(|\.Start\(", tree.read(f)))
        return (not named, not serves, f.count("/"), f)

    return sorted(mains, key=rank)[0] if mains else None
