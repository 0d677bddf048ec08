"""Ruby (Bundler; Rails, Sinatra) and PHP (Composer; Laravel, Symfony, Slim) services."""

from __future__ import annotations

import json
import re

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.evidence import HEALTH_ROUTE, Collector, major_minor, search, split_env
from containerkit.analysis.models import EnvVars, ServiceAnalysis
from containerkit.analysis.walk import Tree

PUMA_PORT = re.compile(
    r"""^\s*(?:port\s+(?:ENV\.fetch\(\s*["']\w+["']\s*(?:,\s*|\)\s*\{\s*))?|bind\s+["']tcp://[^:"']+:)(\d{2,5})"""
)
RUBY_ENV = re.compile(r"""ENV(?:\.fetch\(|\[)\s*["']([A-Z_][A-Z0-9_]*)["']""")
PHP_ENV = re.compile(r"""(?:getenv|env)\(\s*["']([A-Z_][A-Z0-9_]*)["']""")


def detect_ruby(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    if not svc.has(tree, "Gemfile"):
        return None
    col = Collector()
    gemfile = tree.read(svc.rel("Gemfile"))
    gems = set(re.findall(r"""^\s*gem\s+["']([^"']+)["']""", gemfile, re.M))
    framework = (
        "rails" if "rails" in gems else "sinatra" if "sinatra" in gems else "hanami" if "hanami" in gems else None
    )
    if framework:
        col.add("framework", svc.rel("Gemfile"), f"gem {framework}")
    version = None
    if svc.has(tree, ".ruby-version"):
        version = major_minor(tree.read(svc.rel(".ruby-version")))
        col.add("language_version", svc.rel(".ruby-version"), f"Ruby {version}", 1)
    else:
        match = re.search(r"""^\s*ruby\s+["']([^"']+)["']""", gemfile, re.M)
        if match:
            version = major_minor(match.group(1))
            col.add("language_version", svc.rel("Gemfile"), match.group(0).strip())
    # rackup (and puma) serve a config.ru on 9292; Sinatra's own 4567 only when the app file runs itself
    port = (
        9292
        if svc.has(tree, "config.ru") and framework != "rails"
        else {"rails": 3000, "sinatra": 4567}.get(framework or "")
    )
    sources = [f for f in svc.files if f.endswith((".rb", ".ru")) and "/spec/" not in f and "/test/" not in f]
    reads_env = bool(search(tree, sources, re.compile(r"""ENV(?:\.fetch\(|\[)\s*["'](PORT)["']""")))
    set_port = search(tree, sources, re.compile(r"set\s+:port,\s*(?:ENV\.fetch\([^,]+,\s*)?(\d{2,5})"))
    # puma's own configuration: port ENV.fetch("PORT") { 3001 } / port ENV.fetch("PORT", 3001) / port 3001 / bind
    # "tcp://0.0.0.0:3001"
    puma = search(tree, [svc.rel("config/puma.rb")] if svc.has(tree, "config/puma.rb") else [], PUMA_PORT)
    rack_port = search(
        tree,
        sources,
        re.compile(r"""ENV(?:\.fetch\(|\[)\s*["']RACK_PORT["'](?:\]\s*\|\|\s*|,\s*|\)\s*\{\s*)(\d{2,5})"""),
    )
    if set_port or puma or rack_port:
        found = (set_port or puma or rack_port)[0]
        port = int(found.value)
        col.add("port", found.file, found.text, found.line)
    elif port:
        server = "rackup (config.ru)" if port == 9292 else framework
        col.add("port", svc.rel("config.ru" if port == 9292 else "Gemfile"), f"{server} default port {port}")
    routes = search(tree, sources, HEALTH_ROUTE)
    health = "/up" if framework == "rails" and not routes and "rails" in gems and "health" in gemfile else None
    if routes:
        health = routes[0].value
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    start: list[str] | None
    if framework == "rails":
        start = ["bundle", "exec", "rails", "server", "-b", "0.0.0.0", "-p", str(port)]
    elif svc.has(tree, "config.ru"):
        start = ["bundle", "exec", "rackup", "--host", "0.0.0.0", "--port", str(port)]
    else:
        main = next((f.rsplit("/", 1)[-1] for f in sources if f.endswith(("app.rb", "server.rb", "main.rb"))), None)
        start = ["bundle", "exec", "ruby", main] if main else None
    config, secret = split_env({f.value for f in search(tree, sources, RUBY_ENV)})
    backing = sorted(
        {
            v
            for k, v in {
                "pg": "postgres",
                "mysql2": "mysql",
                "redis": "redis",
                "mongoid": "mongodb",
                "bunny": "rabbitmq",
                "sidekiq": "redis",
            }.items()
            if k in gems
        }
    )
    return ServiceAnalysis(
        path=svc.path or ".",
        name=svc.name(tree.root.name),
        language="ruby",
        language_version=version,
        framework=framework,
        package_manager="bundler",
        lockfile="Gemfile.lock" if svc.has(tree, "Gemfile.lock") else None,
        manifest="Gemfile",
        port=port,
        reads_port_env=reads_env,
        start_command=start,
        health_path=health,
        serves_http=port is not None,
        env_vars=EnvVars(config=config, secret=secret),
        backing_services=backing,
        system_packages=["build-essential", "libpq-dev"]
        if "pg" in gems
        else ["build-essential"]
        if framework == "rails"
        else [],
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )


def detect_php(tree: Tree, svc: ServiceDir) -> ServiceAnalysis | None:
    """A composer.json project, or PHP files served as they are (an index.php with no composer.json)."""
    has_composer = svc.has(tree, "composer.json")
    if not has_composer and not (svc.has(tree, "index.php") or svc.has(tree, "public/index.php")):
        return None
    col = Collector()
    if not has_composer:
        col.add(
            "language",
            svc.rel("index.php" if svc.has(tree, "index.php") else "public/index.php"),
            "index.php with no composer.json: PHP files served by Apache as they are",
        )
    try:
        composer = json.loads(tree.read(svc.rel("composer.json")) or "{}")
    except json.JSONDecodeError:
        composer = {}
    require = composer.get("require", {}) if isinstance(composer.get("require"), dict) else {}
    framework = None
    for package, fw in (
        ("laravel/framework", "laravel"),
        ("symfony/framework-bundle", "symfony"),
        ("slim/slim", "slim"),
    ):
        if package in require:
            framework = fw
            col.add("framework", svc.rel("composer.json"), f"requires {package}")
            break
    version = major_minor(str(require.get("php"))) if require.get("php") else None
    # ^7.4, >=8.1, ~8.2 or a union (^7.4 || ^8.0): the oldest release the app supports, not a pin
    minimum = bool(version) and (str(require["php"]).strip().startswith((">", "^", "~")) or "||" in str(require["php"]))
    if version:
        col.add("language_version", svc.rel("composer.json"), f'require.php "{require["php"]}"')
    sources = [f for f in svc.files if f.endswith(".php") and "/tests/" not in f]
    # a framework routes paths; plain PHP serves files, so only a health file is a health path (Kanboard's
    # healthcheck.php)
    routes = search(tree, sources, HEALTH_ROUTE) if has_composer else []
    health = (
        routes[0].value
        if routes
        else (
            "/up"
            if framework == "laravel"
            and svc.has(tree, "bootstrap/app.php")
            and "health" in tree.read(svc.rel("bootstrap/app.php"))
            else None
        )
    )
    if routes:
        col.add("health_path", routes[0].file, routes[0].text, routes[0].line)
    health_file = next((n for n in ("healthcheck.php", "health.php") if not has_composer and svc.has(tree, n)), None)
    if health_file:
        health = f"/{health_file}"
        col.add("health_path", svc.rel(health_file), "a health-check file")
    port = 8080
    col.add(
        "port", svc.rel("composer.json" if has_composer else "index.php"), "PHP served by Apache on 8080 (non-root)"
    )
    config, secret = split_env({f.value for f in search(tree, sources, PHP_ENV)})
    docroot = "public" if svc.has(tree, "public/index.php") else "."
    return ServiceAnalysis(
        path=svc.path or ".",
        name=svc.name(tree.root.name),
        language="php",
        language_version=version,
        framework=framework,
        language_version_minimum=minimum,
        package_manager="composer" if has_composer else None,
        lockfile="composer.lock" if svc.has(tree, "composer.lock") else None,
        manifest="composer.json" if has_composer else None,
        port=port,
        start_command=["apache2-foreground"],
        build_output=docroot,
        health_path=health,
        serves_http=True,
        env_vars=EnvVars(config=config, secret=secret),
        backing_services=sorted(
            {
                v
                for k, v in {
                    "pdo_pgsql": "postgres",
                    "ext-pgsql": "postgres",
                    "predis/predis": "redis",
                    "ext-redis": "redis",
                    "mongodb/mongodb": "mongodb",
                }.items()
                if k in require
            }
        ),
        has_dockerfile=svc.has(tree, "Dockerfile"),
        evidence=col.evidence,
    )
