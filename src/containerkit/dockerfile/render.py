"""Deterministic, commented, best-practice Dockerfiles from a ServiceAnalysis.

Same analysis in, same bytes out. Every stage uses an explicit version tag, dependency manifests are copied and
installed before the source (layer caching), the app runs as a fixed numeric non-root UID with an exec-form CMD,
and the HEALTHCHECK uses only what the runtime image has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile.dockerignore import render_dockerignore
from containerkit.dockerfile.images import ImagePicker, version_for
from containerkit.errors import InvalidInputError

PIP_SERVERS = {"gunicorn": "gunicorn==23.0.0", "uvicorn": "uvicorn==0.32.1"}
APT_IGNORE = "# hadolint ignore=DL3008  # the base image tag pins the Debian release; take its current security fixes"


@dataclass(frozen=True)
class RenderOptions:
    user_uid: int = 10001
    buildkit: bool = False
    extra_system_packages: tuple[str, ...] = ()
    images: ImagePicker = field(default_factory=ImagePicker)


@dataclass(frozen=True)
class Rendered:
    dockerfile: str
    dockerignore: str
    base_image: str
    build_image: str | None
    user_uid: int
    port: int | None
    healthcheck: bool
    notes: tuple[str, ...]
    #: what the image choice had to say: an unmaintained runtime the app asks for, a tag that was never published
    image_notes: tuple[str, ...] = ()


class _Doc:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, *lines: str, why: str | None = None) -> None:
        if why:
            self.lines.append(f"# {why}")
        self.lines.extend(lines)

    def gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self) -> str:
        return with_pipefail("\n".join(self.lines).rstrip() + "\n")


_SINGLE_PIPE = re.compile(r"(?<!\|)\|(?!\|)")


def with_pipefail(text: str) -> str:
    """Every stage with a RUN that pipes gets ``SHELL [... "-o", "pipefail", "-c"]`` after its FROM (bash; busybox ash
    on Alpine), so a failing command before the pipe fails the step instead of being hidden by the last command."""
    lines = text.split("\n")
    out: list[str] = []
    stage_from: int | None = None
    guarded = False
    run: list[str] = []
    for line in lines:
        if line.startswith("FROM "):
            stage_from, guarded = len(out), False
        if line.startswith("SHELL ") and "pipefail" in line:
            guarded = True
        if line.startswith("RUN ") or run:
            run.append(line)
            if not line.endswith("\\"):
                joined = " ".join(run)
                if _SINGLE_PIPE.search(joined) and not guarded and stage_from is not None and "set -o pipefail" not in joined:
                    shell = "/bin/ash" if "alpine" in out[stage_from] else "/bin/bash"
                    out.insert(stage_from + 1, f'SHELL ["{shell}", "-o", "pipefail", "-c"]')
                    guarded = True
                run = []
        out.append(line)
    return "\n".join(out)


def _json(argv: list[str]) -> str:
    return json.dumps(argv)


def _user(doc: _Doc, uid: int, shell_has_useradd: bool = True) -> None:
    if shell_has_useradd:
        doc.add(f"RUN groupadd --system --gid {uid} app && \\",
                f"    useradd --system --uid {uid} --gid {uid} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app",
                why=f"A fixed numeric non-root user; Kubernetes manifests use runAsUser: {uid}")


def _apt(doc: _Doc, packages: list[str], why: str) -> None:
    if not packages:
        return
    doc.add(APT_IGNORE,
            "RUN apt-get update && \\",
            f"    apt-get install -y --no-install-recommends {' '.join(sorted(set(packages)))} && \\",
            "    rm -rf /var/lib/apt/lists/*", why=why)


def _healthcheck(doc: _Doc, argv: list[str], why: str) -> None:
    doc.add(f"HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD {_json(argv)}", why=why)


def _expose(doc: _Doc, svc: ServiceAnalysis, port: int | None) -> None:
    if port is None:
        return
    if svc.reads_port_env:
        doc.add(f"ENV PORT={port}", why="The app reads PORT; keep it equal to the exposed port")
    doc.add(f"EXPOSE {port}")


def _url(port: int, path: str | None) -> str:
    return f"http://127.0.0.1:{port}{path or '/'}"


def render(svc: ServiceAnalysis, options: RenderOptions | None = None) -> Rendered:
    """Render the Dockerfile and .dockerignore for one service.

    Raises:
        InvalidInputError: the language has no template.
    """
    opts = options or RenderOptions()
    renderers = {"python": _python, "node": _node, "go": _go, "java": _java, "dotnet": _dotnet, "ruby": _ruby, "php": _php,
                 "rust": _rust, "static": _static}
    if svc.language not in renderers:
        raise InvalidInputError(f"no Dockerfile template for language {svc.language!r}")
    doc = _Doc()
    if opts.buildkit:
        doc.add("# syntax=docker/dockerfile:1")
    version = version_for(svc.language, svc.language_version)
    doc.add(f"# Generated by Container Kit for {svc.name} ({svc.language} {version}"
            f"{', ' + svc.framework if svc.framework else ''}). Regenerate with `containerkit dockerfile --force`.")
    opts = replace(opts, images=opts.images.for_service(svc.language_version_minimum))
    base, build, uid, health, notes = renderers[svc.language](doc, svc, opts, version)
    return Rendered(dockerfile=doc.text(), dockerignore=render_dockerignore(svc.language), base_image=base, build_image=build,
                    user_uid=uid, port=svc.port, healthcheck=health, notes=tuple(notes), image_notes=tuple(opts.images.notes))


Result = tuple[str, str | None, int, bool, list[str]]


def _python(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image = opts.images.pick("python", version, "python")
    notes: list[str] = []
    doc.add(f"FROM {image}")
    doc.add("ENV PYTHONDONTWRITEBYTECODE=1 \\", "    PYTHONUNBUFFERED=1 \\", "    PIP_NO_CACHE_DIR=1 \\",
            "    PIP_DISABLE_PIP_VERSION_CHECK=1", why="Unbuffered logs, no .pyc files, no pip cache in the image")
    doc.add("WORKDIR /app")
    doc.gap()
    _apt(doc, [*svc.system_packages, *opts.extra_system_packages], "Build dependencies of native Python packages")
    cmd = list(svc.start_command or ["python", svc.entrypoint or "app.py"])
    server = cmd[0] if cmd[0] in PIP_SERVERS else None
    # the app's own pinned server wins: adding another pin of it makes pip refuse the install
    extra = f" {PIP_SERVERS[server]}" if server and not svc.server_declared else ""
    cache = "--mount=type=cache,target=/root/.cache/pip " if opts.buildkit else ""
    why = "Dependencies first: this layer is rebuilt only when the manifest changes"
    manager = svc.package_manager
    if manager == "poetry":
        doc.add(f"COPY pyproject.toml {svc.lockfile or ''}".rstrip() + " ./",
                f"RUN {cache}pip install --no-cache-dir poetry==1.8.3{extra} && \\",
                "    poetry config virtualenvs.create false && \\",
                "    poetry install --only main --no-root --no-interaction --no-ansi", why=why)
    elif manager == "pipenv":
        doc.add("COPY Pipfile Pipfile.lock* ./",
                f"RUN {cache}pip install --no-cache-dir pipenv==2024.0.1{extra} && pipenv install --system --deploy --ignore-pipfile",
                why=why)
    elif svc.manifest == "requirements.txt" or (manager in (None, "pip") and svc.manifest in (None, "requirements.txt")):
        doc.add("COPY requirements.txt ./", f"RUN {cache}pip install --no-cache-dir -r requirements.txt{extra}", why=why)
    elif svc.manifest == "pyproject.toml":
        server_pin = f", {PIP_SERVERS[server]!r}" if server and not svc.server_declared else ""
        doc.add("COPY pyproject.toml ./",
                "RUN python -c \"import subprocess, sys, tomllib; "
                "deps = tomllib.load(open('pyproject.toml', 'rb'))['project'].get('dependencies', []); "
                f"subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--no-cache-dir', *deps{server_pin}])\"",
                why=why + " (dependencies read from pyproject.toml)")
    else:
        doc.add("COPY . .", f"RUN pip install --no-cache-dir .{extra}", why="setup.py project: installed with its dependencies")
        notes.append("setup.py projects install after copying the source, so dependency layers are not cached separately")
    doc.gap()
    _user(doc, opts.user_uid)
    doc.add("COPY . .", why="The source, owned by root and read-only for the app user")
    if svc.framework == "flask":
        doc.add(f"RUN mkdir -p instance && chown {opts.user_uid}:{opts.user_uid} instance",
                why="Flask's instance folder (app.instance_path): the one directory the app may write")
    doc.add(f"USER {opts.user_uid}")
    doc.gap()
    _expose(doc, svc, svc.port)
    health = False
    if svc.port and svc.serves_http:
        _healthcheck(doc, ["python", "-c", f"import urllib.request; urllib.request.urlopen('{_url(svc.port, svc.health_path)}', timeout=4)"],
                     "No curl in slim images: probe with the Python runtime")
        health = True
    if server == "gunicorn":
        notes.append("runs under gunicorn (production WSGI server), not the framework's development server")
    elif server == "uvicorn":
        notes.append("runs under uvicorn (ASGI server)")
    doc.add(f"CMD {_json(cmd)}")
    return image, None, opts.user_uid, health, notes


def _node_install(svc: ServiceAnalysis, production: bool, buildkit: bool) -> tuple[str, str]:
    cache = "--mount=type=cache,target=/root/.npm " if buildkit else ""
    omit = " --omit=dev" if production else ""
    if svc.package_manager == "yarn":
        return "COPY package.json yarn.lock ./", f"RUN corepack enable && yarn install --frozen-lockfile{' --production' if production else ''}"
    if svc.package_manager == "pnpm":
        return "COPY package.json pnpm-lock.yaml ./", f"RUN corepack enable && pnpm install --frozen-lockfile{' --prod' if production else ''}"
    if svc.lockfile:
        return f"COPY package.json {svc.lockfile} ./", f"RUN {cache}npm ci{omit} --no-audit --no-fund"
    return "COPY package.json ./", f"RUN {cache}npm install{omit} --no-audit --no-fund"


NODE_SPA = {"react", "vue", "angular", "svelte"}


def _node(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image = opts.images.pick("node", version, "node")
    if svc.framework in NODE_SPA and svc.port == 8080 and not svc.start_command:
        return _spa(doc, svc, opts, version, image)
    needs_build = bool(svc.build_command)
    notes: list[str] = []
    if needs_build:
        copy, install = _node_install(svc, production=False, buildkit=opts.buildkit)
        doc.add(f"FROM {image} AS build", "WORKDIR /app", copy, install, why="Build stage: all dependencies, then compile")
        doc.add("COPY . .", f"RUN {' '.join(svc.build_command or [])} && npm prune --omit=dev")
        doc.gap()
    doc.add(f"FROM {image}")
    doc.add("ENV NODE_ENV=production", why="Production mode for Node and most frameworks")
    doc.add("WORKDIR /app")
    if needs_build:
        outputs = [svc.build_output or "dist"] if svc.framework != "nextjs" else [".next", "public"]
        doc.add("COPY --from=build /app/package.json ./", "COPY --from=build /app/node_modules ./node_modules",
                *(f"COPY --from=build /app/{o} ./{o}" for o in outputs), why="Only the build output and production dependencies")
        if svc.framework == "nextjs":
            notes.append("Next.js needs a public/ directory; create an empty one if the app has none")
    else:
        copy, install = _node_install(svc, production=True, buildkit=opts.buildkit)
        doc.add(copy, install, why="Production dependencies first: cached until the lockfile changes")
        doc.add("COPY . .", why="The source, owned by root and read-only for the app user")
    doc.gap()
    _user(doc, opts.user_uid)
    doc.add(f"USER {opts.user_uid}")
    _expose(doc, svc, svc.port)
    health = False
    if svc.port and svc.serves_http:
        probe = (f"require('http').get('{_url(svc.port, svc.health_path)}', r => process.exit(r.statusCode < 500 ? 0 : 1))"
                 ".on('error', () => process.exit(1))")
        _healthcheck(doc, ["node", "-e", probe], "No curl in slim images: probe with the Node runtime")
        health = True
    cmd = list(svc.start_command or ["node", svc.entrypoint or "index.js"])
    if cmd[:2] == ["npm", "start"]:
        notes.append("starts with `npm start`; prefer `node <entry>` so signals reach the app")
    if svc.framework == "nextjs" and svc.port:
        cmd = [*cmd, "-p", str(svc.port)]
    doc.add(f"CMD {_json(cmd)}")
    return image, image if needs_build else None, opts.user_uid, health, notes


NGINX_CONF = (
    "client_body_temp_path /tmp/client_temp;\\n"
    "proxy_temp_path /tmp/proxy_temp;\\n"
    "fastcgi_temp_path /tmp/fastcgi_temp;\\n"
    "uwsgi_temp_path /tmp/uwsgi_temp;\\n"
    "scgi_temp_path /tmp/scgi_temp;\\n"
    "server {{\\n"
    "    listen {port};\\n"
    "    root /usr/share/nginx/html;\\n"
    "    location / {{ try_files $uri $uri/ /index.html; }}\\n"
    "    location = /healthz {{ access_log off; return 200 ok; }}\\n"
    "}}\\n"
)


def _nginx_runtime(doc: _Doc, opts: RenderOptions, port: int, copy_from: str) -> tuple[str, bool]:
    image = opts.images.pick("static", None, "static")
    doc.add(f"FROM {image}")
    doc.add("# hadolint ignore=SC2016  # $uri is nginx's variable, not the shell's",
            "RUN sed -i -e 's#^pid .*#pid /tmp/nginx.pid;#' -e '/^user /d' -e '/_temp_path/d' /etc/nginx/nginx.conf && \\",
            f"    printf '{NGINX_CONF.format(port=port)}' > /etc/nginx/conf.d/default.conf",
            why=f"Serve on {port} as a non-root user: pid and temp files in /tmp (works with a read-only root filesystem)")
    doc.add(copy_from)
    doc.add(f"USER {opts.user_uid}")
    doc.add(f"EXPOSE {port}")
    doc.add(f"HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD {_json(['nginx', '-t', '-q'])}",
            why="nginx images have no HTTP client; check the configuration is valid (the /healthz route serves HTTP probes)")
    doc.add(f"CMD {_json(['nginx', '-g', 'daemon off;'])}")
    return image, True


def _spa(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str, node_image: str) -> Result:
    copy, install = _node_install(svc, production=False, buildkit=opts.buildkit)
    doc.add(f"FROM {node_image} AS build", "WORKDIR /app", copy, install, why="Build the single-page app with Node")
    doc.add("COPY . .", f"RUN {' '.join(svc.build_command or ['npm', 'run', 'build'])}")
    doc.gap()
    out = svc.build_output or "dist"
    image, health = _nginx_runtime(doc, opts, svc.port or 8080, f"COPY --from=build /app/{out}/ /usr/share/nginx/html/")
    return image, node_image, opts.user_uid, health, ["static files served by nginx; /healthz answers 200 for probes"]


def _static(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image, health = _nginx_runtime(doc, opts, svc.port or 8080, "COPY . /usr/share/nginx/html/")
    return image, None, opts.user_uid, health, ["static files served by nginx; /healthz answers 200 for probes"]


def _runtime_files(doc: _Doc, svc: ServiceAnalysis, source: str) -> None:
    """Files the binary reads at run time (templates, assets, config) go beside it; relative paths resolve from /app."""
    if svc.runtime_files:
        doc.add(*(f"COPY --from=build {source}/{name} /app/{name}" for name in svc.runtime_files), "WORKDIR /app",
                why=f"Read at run time: {', '.join(svc.runtime_files)}")


def _go(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    build = opts.images.pick("go-build", version, "go")
    runtime = opts.images.pick("go-runtime", version, "go")
    cache = "--mount=type=cache,target=/go/pkg/mod " if opts.buildkit else ""
    target = (svc.build_command or ["."])[-1]
    doc.add(f"FROM {build} AS build", "WORKDIR /src", why="Build stage: compile a static binary")
    doc.add("COPY go.mod go.sum* ./", f"RUN {cache}go mod download", why="Modules first: cached until go.mod/go.sum change")
    doc.add("COPY . .", f'RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server {target}')
    doc.gap()
    doc.add(f"FROM {runtime}", why="Small runtime image: only the binary and CA certificates")
    doc.add("COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
            "COPY --from=build /out/server /app/server")
    _runtime_files(doc, svc, "/src")
    doc.add(f"USER {opts.user_uid}:{opts.user_uid}", why="Numeric non-root user (no user database needed for a static binary)")
    _expose(doc, svc, svc.port)
    doc.add("# No HEALTHCHECK: the runtime image has no HTTP client; Kubernetes probes and `containerkit smoke` check the port")
    doc.add(f"CMD {_json(['/app/server', *(svc.start_command or [])[1:]])}")
    return runtime, build, opts.user_uid, False, ["static Go binary on a slim runtime image"]


def _java(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    maven = svc.package_manager == "maven"
    build = opts.images.pick("java-build-maven" if maven else "java-build-gradle", version, "java")
    runtime = opts.images.pick("java-runtime", version, "java")
    doc.add(f"FROM {build} AS build", "WORKDIR /src", why="Build stage: compile and package with the build tool")
    if maven:
        cache = "--mount=type=cache,target=/root/.m2 " if opts.buildkit else ""
        doc.add("COPY pom.xml ./", f"RUN {cache}mvn -B -q dependency:go-offline", why="Dependencies first: cached until pom.xml changes")
        doc.add("COPY src ./src", f"RUN {cache}mvn -B -q package -DskipTests")
        if svc.framework not in ("quarkus", "spring-boot"):
            doc.add(f"RUN {cache}mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib",
                    why="The runtime dependencies beside the jar: a plain jar does not bundle them")
    else:
        doc.add("COPY build.gradle* settings.gradle* gradle.properties* ./", "RUN gradle --no-daemon -q dependencies",
                why="Dependencies first: cached until the build files change")
        doc.add("COPY src ./src", "RUN gradle --no-daemon -q build -x test")
    out = "target" if maven else "build"
    quarkus = svc.framework == "quarkus"
    if quarkus:
        doc.gap()
        doc.add(f"FROM {runtime}")
        doc.add("WORKDIR /app")
        doc.add(f"COPY --from=build /src/{out}/quarkus-app/ /app/", why="Quarkus fast-jar layout")
        jar = "/app/quarkus-run.jar"
    else:
        libs = "target" if maven else "build/libs"
        # one runnable jar among what the build wrote: the largest (a fat jar from shade, assembly or shadow bundles the
        # dependencies), never a -plain, original-, -sources, -javadoc or -tests jar
        doc.add(f"WORKDIR /src/{libs}", "RUN set -e; jar=$({ ls -S -- *.jar 2>/dev/null || true; } "
                "| { grep -v -e '-plain.jar$' -e '^original-' -e '-sources.jar$' -e '-javadoc.jar$' -e '-tests.jar$' || true; } | head -n 1); "
                'test -n "$jar" || { echo "no runnable jar in ' + libs + '" >&2; exit 1; }; cp "$jar" /src/app.jar; mkdir -p /src/lib'
                + ("; cp -r lib/. /src/lib/ 2>/dev/null || true" if maven else ""),
                why="Pick the runnable jar the build produced")
        doc.gap()
        doc.add(f"FROM {runtime}")
        doc.add("WORKDIR /app")
        doc.add("COPY --from=build /src/app.jar /app/app.jar", "COPY --from=build /src/lib/ /app/lib/",
                why="The application jar and its runtime dependencies")
        jar = "/app/app.jar"
    doc.add(f"USER {opts.user_uid}:{opts.user_uid}")
    _expose(doc, svc, svc.port)
    doc.add("ENV JAVA_TOOL_OPTIONS=\"-XX:MaxRAMPercentage=75\"", why="Size the heap from the container memory limit")
    doc.add("# No HEALTHCHECK: the JRE image has no HTTP client; Kubernetes probes use the health endpoint")
    plain_jar = not quarkus and svc.framework != "spring-boot" and svc.entrypoint
    doc.add(f"CMD {_json(['java', '-cp', '/app/app.jar:/app/lib/*', str(svc.entrypoint)] if plain_jar else ['java', '-jar', jar])}")
    return runtime, build, opts.user_uid, False, ([] if not quarkus else ["Quarkus fast-jar"])


def _dotnet(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    build = opts.images.pick("dotnet-build", version, "dotnet")
    runtime = opts.images.pick("dotnet-runtime", version, "dotnet")
    project = svc.entrypoint or "*.csproj"
    doc.add(f"FROM {build} AS build", "WORKDIR /src", why="Build stage: restore, then publish")
    doc.add(f"COPY {project} ./", f"RUN dotnet restore {project.rsplit('/', 1)[-1]}", why="Restore first: cached until the project file changes")
    doc.add("COPY . .", f"RUN dotnet publish {project.rsplit('/', 1)[-1]} -c Release -o /out --no-restore")
    doc.gap()
    doc.add(f"FROM {runtime}", "WORKDIR /app", "COPY --from=build /out ./")
    port = svc.port or 8080
    doc.add(f"ENV ASPNETCORE_HTTP_PORTS={port}", why="Kestrel listens on this port")
    doc.add(f"USER {opts.user_uid}:{opts.user_uid}")
    doc.add(f"EXPOSE {port}")
    doc.add("# No HEALTHCHECK: the ASP.NET runtime image has no HTTP client; Kubernetes probes use the health endpoint")
    doc.add(f"ENTRYPOINT {_json(svc.start_command or ['dotnet', 'app.dll'])}")
    return runtime, build, opts.user_uid, False, []


def _ruby(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image = opts.images.pick("ruby", version, "ruby")
    doc.add(f"FROM {image}")
    doc.add("ENV BUNDLE_WITHOUT=development:test BUNDLE_DEPLOYMENT=1" + (" RAILS_ENV=production RAILS_LOG_TO_STDOUT=1" if svc.framework == "rails" else ""),
            why="Production gems only")
    doc.add("WORKDIR /app")
    _apt(doc, [*(svc.system_packages or ["build-essential"]), *opts.extra_system_packages], "Compilers for native gems")
    doc.add("COPY Gemfile Gemfile.lock ./" if svc.lockfile else "COPY Gemfile ./",
            "RUN bundle install --jobs 4" if svc.lockfile else "RUN bundle config set deployment false && bundle install --jobs 4",
            why="Gems first: cached until the Gemfile changes")
    _user(doc, opts.user_uid)
    doc.add("COPY . .")
    doc.add(f"USER {opts.user_uid}")
    _expose(doc, svc, svc.port)
    health = False
    if svc.port:
        probe = f"require 'net/http'; exit(Net::HTTP.get_response(URI('{_url(svc.port, svc.health_path)}')).code.to_i < 500)"
        _healthcheck(doc, ["ruby", "-e", probe], "No curl in slim images: probe with the Ruby runtime")
        health = True
    doc.add(f"CMD {_json(svc.start_command or ['bundle', 'exec', 'ruby', 'app.rb'])}")
    return image, None, opts.user_uid, health, []


def _php(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image = opts.images.pick("php", version, "php")
    composer = opts.images.pick("composer", None, "php")
    port = svc.port or 8080
    docroot = "/var/www/html" + ("/public" if svc.build_output == "public" else "")
    uid = 33
    doc.add(f"FROM {image}")
    doc.add(f"COPY --from={composer} /usr/bin/composer /usr/bin/composer", why="Composer from its official image")
    doc.add("WORKDIR /var/www/html")
    doc.add(f"RUN sed -i 's/Listen 80/Listen {port}/' /etc/apache2/ports.conf && \\",
            f"    sed -i -e 's/:80>/:{port}>/' -e 's#DocumentRoot /var/www/html#DocumentRoot {docroot}#' "
            "/etc/apache2/sites-available/000-default.conf && \\",
            "    a2enmod rewrite", why=f"Apache on {port} (non-root users cannot bind 80), document root {docroot}")
    doc.add("COPY composer.json composer.lock* ./",
            "RUN composer install --no-dev --no-scripts --no-autoloader --no-interaction --prefer-dist",
            why="Dependencies first: cached until composer.json/lock change")
    doc.add("COPY . .", "RUN composer dump-autoload --optimize --no-dev && chown -R www-data:www-data storage bootstrap/cache 2>/dev/null || true")
    doc.add(f"USER {uid}", why="Apache runs as www-data (uid 33), the image's unprivileged user")
    doc.add(f"EXPOSE {port}")
    probe = f"exit(@file_get_contents('{_url(port, svc.health_path)}') === false ? 1 : 0);"
    _healthcheck(doc, ["php", "-r", probe], "No curl in the image: probe with the PHP runtime")
    doc.add(f"CMD {_json(['apache2-foreground'])}")
    return image, None, uid, True, ["runs as www-data (uid 33)"]


def _rust(doc: _Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    build = opts.images.pick("rust-build", version, "rust")
    runtime = opts.images.pick("rust-runtime", version, "rust")
    binary = (svc.start_command or ["/app/app"])[0].rsplit("/", 1)[-1]
    locked = " --locked" if svc.lockfile else ""
    doc.add(f"FROM {build} AS build", "WORKDIR /src", why="Build stage: fetch crates, then compile in release mode")
    if svc.entrypoint == "src/main.rs":
        doc.add(f"COPY Cargo.toml {svc.lockfile or ''}".rstrip() + " ./",
                'RUN mkdir src && echo "fn main() {}" > src/main.rs && cargo build --release' + locked + " && rm -rf src",
                why="Dependencies first: a stub main compiles the crates once; cached until Cargo.toml/lock change")
        doc.add("COPY . .", f"RUN touch src/main.rs && cargo build --release{locked}")
    else:
        doc.add("COPY . .", f"RUN cargo build --release{locked} --bin {binary}",
                why="Binaries, a library or other targets: no stub main can stand in for them, so build with the sources")
    doc.gap()
    doc.add(f"FROM {runtime}", f"COPY --from=build /src/target/release/{binary} /app/{binary}")
    _runtime_files(doc, svc, "/src")
    doc.add(f"USER {opts.user_uid}:{opts.user_uid}")
    _expose(doc, svc, svc.port)
    doc.add("# No HEALTHCHECK: the runtime image has no HTTP client; Kubernetes probes and `containerkit smoke` check the port")
    doc.add(f"CMD {_json([f'/app/{binary}', *(svc.start_command or [])[1:]])}")
    return runtime, build, opts.user_uid, False, []
