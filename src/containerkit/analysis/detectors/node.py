"""Node.js services: npm / yarn / pnpm; Express, NestJS, Next.js, Fastify, Koa, and static SPAs (React, Vue,
Angular)."""

from __future__ import annotations

import json
import re
from typing import Any

from containerkit.analysis.detectors import ServiceDir, static
from containerkit.analysis.detectors.node_install import install_facts, node_command
from containerkit.analysis.evidence import (
    HEALTH_ROUTE,
    Collector,
    first,
    loopback_warnings,
    major_minor,
    rel_in,
    search,
    split_env,
)
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

# first match wins: servers before SPA frameworks
FRAMEWORKS = (
    ("@nestjs/core", "nestjs"),
    ("next", "nextjs"),
    ("nuxt", "nuxt"),
    ("@angular/core", "angular"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("@hapi/hapi", "hapi"),
    ("gatsby", "gatsby"),
    ("vue", "vue"),
    ("react", "react"),
    ("svelte", "svelte"),
    ("vite", "vite"),
)
#: where a site's build tooling writes it, when the repository holds the built site
SITE_DIRS = ("dist", "build", "_site", "public")
SPA = {"angular", "vue", "react", "svelte", "gatsby", "vite"}
DEFAULT_PORT = {
    "express": 3000,
    "nestjs": 3000,
    "nextjs": 3000,
    "nuxt": 3000,
    "fastify": 3000,
    "koa": 3000,
    "hapi": 3000,
}
BACKING = {
    "pg": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mysql2": "mysql",
    "mongodb": "mongodb",
    "mongoose": "mongodb",
    "redis": "redis",
    "ioredis": "redis",
    "amqplib": "rabbitmq",
    "kafkajs": "kafka",
    "@elastic/elasticsearch": "elasticsearch",
    "sequelize": "postgres",
    "typeorm": "postgres",
}
LISTEN = re.compile(r"\.listen\(\s*(\d{2,5})")
PORT_ENV = re.compile(r"process\.env\.(?:[A-Z_]*_)?PORT\s*(?:\|\||\?\?)\s*['\"]?(\d{2,5})")
# the first-that-is-set list: `[args.port, process.env.UPTIME_KUMA_PORT, process.env.PORT, 3001]` (uptime-kuma)
PORT_LIST = re.compile(r"\[[^\]\n]*process\.env\.(?:[A-Z_]*_)?PORT\s*,\s*(\d{2,5})\s*\]")
# a listening port among an app's default settings (defaults/config.js: `port: 9000,`); database ports are not it
CONFIG_PORT = re.compile(r"^\s*(?:http_?)?port\s*:\s*(\d{2,5})\s*,?\s*(?://.*)?$", re.I)
NOT_HTTP_PORTS = {"3306", "5432", "6379", "27017", "5672", "9200", "11211", "6697", "113", "25", "587", "465", "389"}
PORT_CONST = re.compile(r"\b(?:const|let|var)\s+(?:PORT|port)\s*=\s*(?:[^;\n]*?(?:\|\||\?\?)\s*)?['\"]?(\d{2,5})")
# a directory the app makes beside itself at run time: fs.mkdirSync("uploads"), fs.promises.mkdir('./cache/'), mkdirp
MKDIR = re.compile(r"""\b(?:mkdirSync|mkdirp(?:\.sync)?|ensureDirSync|mkdir)\(\s*["'](?:\./)?([A-Za-z_][\w-]*)/?["']""")
# or one held in a *Dir variable or property whose default is a relative path, which the same file passes to mkdir
# (uptime-kuma: Database.dataDir = process.env.DATA_DIR || … || "./data/"; fs.mkdirSync(Database.dataDir, …))
DIR_DEFAULT = re.compile(r"""([\w.]*?\w*[dD]ir)\s*=\s*[^;\n]*["']\./([A-Za-z_][\w-]*)/?["']\s*;?\s*$""")
ENV_READ = re.compile(r"process\.env(?:\.([A-Z_][A-Z0-9_]*)|\[['\"]([A-Z_][A-Z0-9_]*)['\"]\])")


def _package(tree: Tree, svc: ServiceDir) -> dict[str, Any]:
    try:
        data = json.loads(tree.read(svc.rel("package.json")) or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def is_aggregator(tree: Tree, svc: ServiceDir) -> bool:
    """A workspace root that only aggregates packages is not a service."""
    pkg = _package(tree, svc)
    return bool(pkg.get("workspaces")) and not pkg.get("dependencies") and "start" not in pkg.get("scripts", {})


def detect(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    if not svc.has(tree, "package.json"):
        return None
    col = Collector()
    pkg = _package(tree, svc)
    deps = {**pkg.get("devDependencies", {}), **pkg.get("dependencies", {})}
    runtime_deps = pkg.get("dependencies", {})
    scripts: dict[str, str] = pkg.get("scripts", {}) if isinstance(pkg.get("scripts"), dict) else {}
    framework = next((fw for dep, fw in FRAMEWORKS if dep in deps), None)
    if framework:
        col.add("framework", svc.rel("package.json"), f"depends on {next(d for d, f in FRAMEWORKS if f == framework)}")
    site = next((d for d in SITE_DIRS if tree.unwalked_file(svc.rel(f"{d}/index.html"))), None)
    if framework is None and site:
        # no server and no site framework, and the built site is in the repository: Node is only its build tooling
        return static.detect(tree, svc, site=site)
    manager, lockfile = "npm", None
    for lock, mgr in (
        ("pnpm-lock.yaml", "pnpm"),
        ("yarn.lock", "yarn"),
        ("package-lock.json", "npm"),
        ("npm-shrinkwrap.json", "npm"),
    ):
        if svc.has(tree, lock):
            manager, lockfile = mgr, lock
            break
    if isinstance(pkg.get("packageManager"), str):
        manager = pkg["packageManager"].split("@", 1)[0] or manager
    col.add("package_manager", svc.rel(lockfile or "package.json"), manager)
    install = install_facts(tree, svc, pkg, manager, lockfile)
    if install.native:
        col.add(
            "system_packages",
            svc.rel(lockfile or "package.json"),
            f"native modules ({', '.join(install.native[:5])}): a compiler in the build stage",
        )
    version = _version(tree, svc, pkg, col)
    sources = [
        f
        for f in svc.with_suffix(".js", ".mjs", ".cjs", ".ts")
        if "/test" not in f
        and ".spec." not in f
        and ".test." not in f
        and not rel_in(svc.path, f).startswith(("public/", "static/"))
        and not TEST_TOOL_CONFIG.search(f)
    ]
    typescript = "typescript" in deps or svc.has(tree, "tsconfig.json")
    spa = framework in SPA and not any(d in runtime_deps for d in ("express", "fastify", "koa"))
    out: dict[str, Any] = {}
    if spa:
        out.update(port=8080, serves_http=True, build_output=_spa_output(framework, pkg, tree, svc))
        col.add("port", svc.rel("package.json"), f"{framework} single-page app: served as static files on 8080")
    else:
        _port(tree, sources, framework, col, out)
    build = ["npm", "run", "build"] if "build" in scripts else None
    if manager in ("yarn", "pnpm") and build:
        build = [manager, "run", "build"]
    scripted = None if spa or framework in ("nextjs", "nestjs") else node_command(scripts)
    if scripted:
        col.add("start_command", svc.rel("package.json"), f"npm start runs `{' '.join(scripted)}`")
    entry = (
        scripted[1]
        if scripted and len(scripted) > 1
        else _entry(tree, svc, pkg, scripts, framework, typescript, sources)
    )
    start = None if spa else scripted or _start(pkg, scripts, framework, entry)
    runtime_files: list[str] = []
    next_config = next((c for c in ("next.config.js", "next.config.mjs", "next.config.ts") if svc.has(tree, c)), None)
    if (
        framework == "nextjs"
        and next_config
        and re.search(r"""output\s*:\s*["']standalone["']""", tree.read(svc.rel(next_config)))
    ):
        # the standalone server (server.js with its traced node_modules); public/ is optional and copied when present
        out["build_output"], start = ".next/standalone", ["node", "server.js"]
        runtime_files = ["public"] if any(f.startswith(svc.rel("public") + "/") for f in svc.files) else []
        col.add("build_output", svc.rel(next_config), "output: 'standalone'")
    routes = search(tree, sources, HEALTH_ROUTE)
    health = None
    if routes and not spa:
        health = routes[0].value
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    writes = _writes(tree, sources, col)
    env_names = {f.value for f in search(tree, sources, ENV_READ) if f.value} | {
        f.value for f in search(tree, sources, ENV_READ, 2) if f.value
    }
    config, secret = split_env(env_names)
    return ServiceAnalysis(
        warnings=loopback_warnings(tree, sources),
        path=svc.path or ".",
        name=_name(pkg, svc, tree),
        language="node",
        language_version=version,
        framework=framework,
        language_version_minimum=_minimum_node(tree, svc, pkg) if version else False,
        package_manager=manager,
        package_manager_version=install.version,
        lockfile=lockfile,
        install_files=install.files,
        install_needs_source=install.needs_source,
        system_packages=["g++", "make", "python3"] if install.native else [],
        manifest="package.json",
        port=out.get("port"),
        runtime_files=runtime_files,
        writes=writes,
        reads_port_env=out.get("reads_port_env", False),
        start_command=start,
        build_command=build,
        build_output=out.get("build_output") or ("dist" if typescript and build else None),
        entrypoint=entry,
        health_path=health,
        serves_http=out.get("serves_http", framework is not None or out.get("port") is not None),
        env_vars=EnvVars(config=config, secret=secret),
        backing_services=sorted({BACKING[d] for d in runtime_deps if d in BACKING}),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )


def _writes(tree: Tree, sources: list[str], col: Collector) -> list[str]:
    """Directories, relative to the service, the app creates at run time: the image makes them the app user's."""
    made = search(tree, sources, MKDIR)
    for found in search(tree, sources, DIR_DEFAULT, 2):
        holder = re.match(DIR_DEFAULT, found.text)
        name = holder.group(1) if holder else ""
        if name and re.search(r"\bmkdir(?:Sync)?\(\s*" + re.escape(name) + r"\b", "\n".join(tree.lines(found.file))):
            made.append(found)
    for found in made:
        col.add("writes", found.file, found.text, found.line)
    return sorted({f.value for f in made})


def _name(pkg: dict[str, Any], svc: ServiceDir, tree: Tree) -> str:
    raw = str(pkg.get("name") or "").split("/")[-1].lower()
    clean = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
    return clean[:50] or svc.name(tree.root.name)


def _minimum_node(tree: Tree, svc: ServiceDir, pkg: dict[str, Any]) -> bool:
    """engines.node is an open range (>=18, >16) and no .nvmrc/.node-version pins a release."""
    if any(svc.has(tree, name) for name in (".nvmrc", ".node-version")):
        return False
    engines = pkg.get("engines", {}).get("node") if isinstance(pkg.get("engines"), dict) else None
    return bool(engines) and str(engines).strip().startswith(">") and "<" not in str(engines)


def _version(tree: Tree, svc: ServiceDir, pkg: dict[str, Any], col: Collector) -> str | None:
    for name in (".nvmrc", ".node-version"):
        if svc.has(tree, name):
            found = major_minor(tree.read(svc.rel(name)), parts=1)
            if found:
                col.add("language_version", svc.rel(name), f"Node {found}", 1)
                return found
    engines = pkg.get("engines", {}).get("node") if isinstance(pkg.get("engines"), dict) else None
    found = major_minor(str(engines), parts=1) if engines else None
    if found:
        col.add("language_version", svc.rel("package.json"), f'engines.node "{engines}"')
    return found


def _spa_output(framework: str | None, pkg: dict[str, Any], tree: Tree, svc: ServiceDir) -> str:
    """Where the build writes the site: Angular's outputPath (``browser/`` under it with the application builder of
    v17+), Vite's build.outDir, Create React App's build/, Gatsby's and the Svelte rollup template's public/."""
    deps = {**pkg.get("devDependencies", {}), **pkg.get("dependencies", {})}
    if framework == "angular" and svc.has(tree, "angular.json"):
        try:
            config = json.loads(tree.read(svc.rel("angular.json")))
            project = next(iter(config.get("projects", {}).values()))
            build = project["architect"]["build"]
            out = build["options"].get("outputPath") or f"dist/{pkg.get('name', 'app')}"
            base = str(out.get("base") if isinstance(out, dict) else out)
            browser = str(out.get("browser", "browser")) if isinstance(out, dict) else "browser"
            builder = str(build.get("builder", ""))
            core = major_minor(str(deps.get("@angular/core", "")), parts=1)
            # the application builder (the default of new projects since v17) writes browser/ under outputPath
            application = (
                builder.endswith(":application")
                or isinstance(out, dict)
                or (not builder and core is not None and int(core) >= 17)
            )
            return f"{base}/{browser}".rstrip("/") if application and browser else base
        except (json.JSONDecodeError, StopIteration, KeyError, TypeError, AttributeError):
            return f"dist/{pkg.get('name', 'app')}/browser"
    if "react-scripts" in deps:
        return "build"
    if framework == "gatsby":
        return "public"
    for config in ("vite.config.ts", "vite.config.js", "vite.config.mjs", "vite.config.mts"):
        if svc.has(tree, config):
            found = re.search(r"outDir\s*:\s*['\"]([^'\"]+)['\"]", tree.read(svc.rel(config)))
            return found.group(1).removeprefix("./").rstrip("/") if found else "dist"
    if "vite" in deps:
        return "dist"
    for config in ("rollup.config.js", "rollup.config.mjs"):
        if svc.has(tree, config):
            found = re.search(r"file\s*:\s*['\"]([^'\"]+)/build/[^'\"]+['\"]", tree.read(svc.rel(config)))
            if found:  # the Svelte template: rollup writes public/build/bundle.js beside the static public/index.html
                return found.group(1).removeprefix("./")
    return "dist"


#: the configuration of a test runner (its web server for end-to-end tests is not the app's): uptime-kuma's
#: config/playwright.config.js (`const port = 30001`) was read as the app's port
TEST_TOOL_CONFIG = re.compile(r"(^|/)(playwright|cypress|jest|vitest|karma|wdio|nightwatch)\.conf(ig)?\.[cm]?[jt]s$")


def _port(tree: Tree, sources: list[str], framework: str | None, col: Collector, out: dict[str, Any]) -> None:
    for pattern, reads_env in ((PORT_ENV, True), (PORT_LIST, True), (PORT_CONST, False), (LISTEN, False)):
        found = first(tree, sources, pattern)
        if found:
            out["port"] = int(found.value)
            col.add("port", found.file, found.text, found.line)
            if reads_env or "process.env.PORT" in found.text:
                out["reads_port_env"] = True
                col.add("reads_port_env", found.file, found.text, found.line)
            break
    if "reads_port_env" not in out:
        env = first(tree, sources, re.compile(r"(process\.env\.PORT|process\.env\[['\"]PORT['\"]\])"))
        if env:
            out["reads_port_env"] = True
            col.add("reads_port_env", env.file, env.text, env.line)
    if "port" not in out:
        configs = [f for f in sources if re.search(r"(^|/)(defaults?|config)(/|[^/]*\.[cm]?[jt]s$)", f)]
        setting = next((f for f in search(tree, configs, CONFIG_PORT) if f.value not in NOT_HTTP_PORTS), None)
        if setting:
            out["port"] = int(setting.value)
            col.add("port", setting.file, setting.text, setting.line)
    if "port" not in out and framework in DEFAULT_PORT:
        out["port"] = DEFAULT_PORT[framework]
        col.add("port", "package.json", f"{framework} default port {DEFAULT_PORT[framework]}")


def _entry(
    tree: Tree,
    svc: ServiceDir,
    pkg: dict[str, Any],
    scripts: dict[str, str],
    framework: str | None,
    typescript: bool,
    sources: list[str],
) -> str | None:
    start = scripts.get("start", "")
    match = re.match(r"^node\s+(?:--\S+\s+)*(\S+\.(?:c|m)?js)\b", start)
    if match:
        return match.group(1)
    if framework == "nestjs":
        return "dist/main.js"
    main = pkg.get("main")
    if isinstance(main, str) and svc.has(tree, main):
        return main
    for candidate in ("server.js", "index.js", "app.js", "src/server.js", "src/index.js", "src/app.js", "main.js"):
        if svc.has(tree, candidate):
            return candidate
    listen = first(tree, sources, re.compile(r"(\.listen\()"))
    return rel_in(svc.path, listen.file) if listen else None


def _start(pkg: dict[str, Any], scripts: dict[str, str], framework: str | None, entry: str | None) -> list[str] | None:
    if framework == "nextjs":
        return ["node_modules/.bin/next", "start"]
    if framework == "nestjs":
        return ["node", "dist/main.js"]
    if entry and entry.endswith(("js", "cjs", "mjs")):
        return ["node", entry]
    if "start" in scripts:
        return ["npm", "start"]
    return None
