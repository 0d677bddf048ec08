"""Dockerfiles for Node.js servers, single-page apps and static sites (the last two served by nginx).

Dependencies are installed with the package manager and release the project pins: npm from the lockfile; Yarn
classic with the yarn the official images ship (Node 24 and older); Yarn Berry with the release committed under
``.yarn/releases``, else through corepack; pnpm at the release its lockfile format implies. Native modules get a
compiler in the build stage only. The runtime stage holds the pruned app and runs it under tini.
"""

from __future__ import annotations

import re

from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile.stages import (
    Doc,
    RenderOptions,
    Result,
    add_user,
    apt,
    entrypoint_init,
    expose,
    healthcheck,
    init_packages,
    json_argv,
    own_writes,
    url,
)

#: frameworks whose build is a set of static files (served by nginx when the app has no server of its own)
NODE_SPA = frozenset({"react", "vue", "angular", "svelte", "gatsby", "vite"})
#: the newest Node.js line whose official image ships yarn 1.22 and corepack (Node 25 dropped corepack, and the
#: images dropped yarn with it)
LAST_NODE_WITH_YARN = 24
YARN_CLASSIC = "1.22.22"
NODE_GYP = "Compilers for the native modules (node-gyp builds them when no prebuilt binary fits)"


def serves_static(svc: ServiceAnalysis) -> bool:
    """The Dockerfile serves static files with nginx (which answers /healthz); the manifests follow this choice."""
    return svc.language == "static" or (svc.framework in NODE_SPA and svc.port == 8080 and not svc.start_command)


class _Installer:
    """The install, run and prune commands of the project's package manager in a given Node.js image."""

    def __init__(self, svc: ServiceAnalysis, node_major: int, buildkit: bool) -> None:
        self.svc = svc
        self.manager = svc.package_manager if svc.package_manager in ("yarn", "pnpm") else "npm"
        version = svc.package_manager_version or ""
        self.berry = self.manager == "yarn" and version[:1].isdigit() and int(version.split(".")[0]) >= 2
        self.image_has_yarn = node_major <= LAST_NODE_WITH_YARN
        self.cache = "--mount=type=cache,target=/root/.npm " if buildkit else ""
        self.yarn_path = next((f for f in svc.install_files if f.startswith(".yarn/releases/")), None)
        self.setup = ""
        if self.manager == "pnpm":
            self.setup = f"npm install -g --no-audit --no-fund pnpm@{version or '9'} && "
        elif self.berry and not self.yarn_path:
            corepack = "" if self.image_has_yarn else "npm install -g --no-audit --no-fund corepack && "
            self.setup = f"{corepack}corepack enable && "
        elif self.manager == "yarn" and not self.berry and not self.image_has_yarn:
            pinned = version if version.count(".") == 2 else YARN_CLASSIC
            self.setup = f"npm install -g --no-audit --no-fund yarn@{pinned} && "

    @property
    def yarn(self) -> str:
        return f"node {self.yarn_path}" if self.berry and self.yarn_path else "yarn"

    def copy_lines(self) -> list[str]:
        files = ["package.json", *([self.svc.lockfile] if self.svc.lockfile else [])]
        single = [f for f in self.svc.install_files if "/" not in f and not f.startswith("patches")]
        lines = [f"COPY {' '.join([*files, *single])} ./"]
        lines += [f"COPY {d} ./{d}" for d in self.svc.install_files if d not in single]
        return lines

    def install(self, production: bool) -> str:
        lock = bool(self.svc.lockfile)
        if self.manager == "pnpm":
            command = f"pnpm install{' --frozen-lockfile' if lock else ''}{' --prod' if production else ''}"
        elif self.berry:
            command = f"{self.yarn} install{' --immutable' if lock else ''}"
        elif self.manager == "yarn":
            command = f"yarn install{' --frozen-lockfile' if lock else ''}{' --production' if production else ''}"
        else:
            command = f"npm {'ci' if lock else 'install'}{' --omit=dev' if production else ''} --no-audit --no-fund"
        return f"RUN {self.cache}{self.setup}{command}"

    def run(self, argv: list[str]) -> str:
        """A build command, with the pinned Yarn release where the project runs ``yarn``."""
        return " ".join([self.yarn, *argv[1:]] if argv[:1] == ["yarn"] else argv)

    def prune(self) -> str | None:
        """Drop the development dependencies after the build; None when the package manager cannot."""
        if self.manager == "pnpm":
            return "pnpm prune --prod"
        if self.berry:
            version = int((self.svc.package_manager_version or "0").split(".")[0])
            return f"{self.yarn} workspaces focus --all --production" if version >= 4 else None
        if self.manager == "yarn":
            return "yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline"
        return "npm prune --omit=dev"


def _major(image: str, version: str) -> int:
    """The Node.js line of the chosen image (its tag), else of the version asked for."""
    found = re.match(r"(\d+)", image.rsplit(":", 1)[-1]) or re.match(r"(\d+)", version)
    return int(found.group(1)) if found else LAST_NODE_WITH_YARN + 1


def node(doc: Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    image = opts.images.pick("node", version, "node")
    installer = _Installer(svc, _major(image, version), opts.buildkit)
    if serves_static(svc):
        return _spa(doc, svc, opts, image, installer)
    build = svc.build_command
    compilers = [*svc.system_packages, *opts.extra_system_packages]
    staged = bool(build or compilers or installer.berry)
    notes: list[str] = []
    if staged:
        doc.add(
            f"FROM {image} AS build",
            "WORKDIR /app",
            why="Build stage: dependencies (and compilers for native modules), then the build; pruned to production",
        )
        apt(doc, compilers, NODE_GYP)
        everything = bool(build) or installer.berry
        _install(doc, svc, installer, production=not everything)
        steps = [installer.run(build)] if build else []
        prune = installer.prune() if everything else None
        if prune:
            steps.append(prune)
        elif everything:
            notes.append(
                "Yarn Berry before 4 cannot drop development dependencies without a plugin: the image keeps them"
            )
        if steps:
            doc.add(f"RUN {' && '.join(steps)}")
        doc.gap()
    doc.add(f"FROM {image}")
    doc.add("ENV NODE_ENV=production", why="Production mode for Node and most frameworks")
    doc.add("WORKDIR /app")
    packages, why_init = init_packages("node")
    apt(doc, packages, why_init)
    standalone = svc.framework == "nextjs" and (svc.build_output or "").endswith("standalone")
    if staged and standalone:
        doc.add(
            f"COPY --from=build /app/{svc.build_output} ./",
            "COPY --from=build /app/.next/static ./.next/static",
            *(f"COPY --from=build /app/{f} ./{f}" for f in svc.runtime_files),
            why="Next.js standalone output: the server, its traced dependencies and the static assets",
        )
    elif staged:
        doc.add(
            "COPY --from=build /app /app",
            why="The app as built: its sources, the build output and the production dependencies only",
        )
    else:
        _install(doc, svc, installer, production=True)
    doc.gap()
    add_user(doc, opts.user_uid)
    own_writes(doc, svc, opts.user_uid)
    doc.add(f"USER {opts.user_uid}")
    if standalone and svc.port:
        doc.add("ENV HOSTNAME=0.0.0.0", why="Next.js' standalone server binds to HOSTNAME: all interfaces")
        if not svc.reads_port_env:
            doc.add(f"ENV PORT={svc.port}")
    expose(doc, svc, svc.port)
    health = False
    if svc.port and svc.serves_http:
        probe = (
            f"require('http').get('{url(svc.port, svc.health_path)}', r => process.exit(r.statusCode < 500 ? 0 : 1))"
            ".on('error', () => process.exit(1))"
        )
        healthcheck(doc, ["node", "-e", probe], "No curl in slim images: probe with the Node runtime")
        health = True
    cmd = list(svc.start_command or ["node", svc.entrypoint or "index.js"])
    if cmd[:2] == ["npm", "start"]:
        notes.append("starts with `npm start`; prefer `node <entry>` so signals reach the app")
    if svc.framework == "nextjs" and svc.port and not standalone:
        cmd = [*cmd, "-p", str(svc.port)]
    entrypoint_init(doc)
    doc.add(f"CMD {json_argv(cmd)}")
    return image, image if staged else None, opts.user_uid, health, notes


def _install(doc: Doc, svc: ServiceAnalysis, installer: _Installer, production: bool) -> None:
    what = "Production dependencies" if production else "All dependencies"
    if svc.install_needs_source:
        doc.add(
            "COPY . .",
            installer.install(production),
            why=f"{what}: the package's own install scripts (postinstall) read its source, so it is copied first",
        )
        return
    doc.add(
        *installer.copy_lines(),
        installer.install(production),
        why=f"{what} first: this layer is rebuilt only when the manifest or lockfile changes",
    )
    doc.add("COPY . .", why="The source, owned by root and read-only for the app user" if production else "The source")


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


def _nginx_runtime(doc: Doc, opts: RenderOptions, port: int, copy_from: str) -> tuple[str, bool]:
    image = opts.images.pick("static", None, "static")
    doc.add(f"FROM {image}")
    doc.add(
        "# hadolint ignore=SC2016  # $uri is nginx's variable, not the shell's",
        "RUN sed -i -e 's#^pid .*#pid /tmp/nginx.pid;#' -e '/^user /d' -e '/_temp_path/d' /etc/nginx/nginx.conf && \\",
        f"    printf '{NGINX_CONF.format(port=port)}' > /etc/nginx/conf.d/default.conf",
        why=f"Serve on {port} as a non-root user: pid and temp files in /tmp (works with a read-only root filesystem)",
    )
    doc.add(copy_from)
    doc.add(f"USER {opts.user_uid}")
    doc.add(f"EXPOSE {port}")
    doc.add(
        f"HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD {json_argv(['nginx', '-t', '-q'])}",
        why="nginx images have no HTTP client; check the configuration is valid (the /healthz route serves HTTP "
        "probes)",
    )
    doc.add(f"CMD {json_argv(['nginx', '-g', 'daemon off;'])}")
    return image, True


def _spa(doc: Doc, svc: ServiceAnalysis, opts: RenderOptions, node_image: str, installer: _Installer) -> Result:
    doc.add(f"FROM {node_image} AS build", "WORKDIR /app", why="Build the site with Node")
    apt(doc, [*svc.system_packages, *opts.extra_system_packages], NODE_GYP)
    _install(doc, svc, installer, production=False)
    doc.add(f"RUN {installer.run(svc.build_command or ['npm', 'run', 'build'])}")
    doc.gap()
    out = svc.build_output or "dist"
    image, health = _nginx_runtime(doc, opts, svc.port or 8080, f"COPY --from=build /app/{out}/ /usr/share/nginx/html/")
    return image, node_image, opts.user_uid, health, ["static files served by nginx; /healthz answers 200 for probes"]


def static(doc: Doc, svc: ServiceAnalysis, opts: RenderOptions, version: str) -> Result:
    source = "." if svc.build_output in (None, ".") else f"{svc.build_output}/"
    image, health = _nginx_runtime(doc, opts, svc.port or 8080, f"COPY {source} /usr/share/nginx/html/")
    return image, None, opts.user_uid, health, ["static files served by nginx; /healthz answers 200 for probes"]
