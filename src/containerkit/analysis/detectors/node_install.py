"""What installing a Node.js project's dependencies needs, and how its own scripts start it.

The package manager release the project pins (Yarn classic and Berry install differently), the files the install
reads besides package.json and the lockfile (``.npmrc`` with ``legacy-peer-deps``, Berry's ``.yarnrc.yml`` and its
``yarnPath`` release, patch-package's ``patches/``), whether a dependency builds native code (then the build stage
needs a compiler), whether the package's own install scripts read its source, and the ``node`` command its npm
scripts end in.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from containerkit.analysis.detectors import ServiceDir
from containerkit.analysis.walk import Tree

#: dependencies that compile native code with node-gyp when no prebuilt binary can be had
NATIVE = frozenset(
    {
        "sqlite3",
        "@louislam/sqlite3",
        "better-sqlite3",
        "bcrypt",
        "node-sass",
        "canvas",
        "argon2",
        "bufferutil",
        "utf-8-validate",
        "cpu-features",
        "re2",
        "leveldown",
        "zeromq",
        "node-pty",
        "usb",
        "serialport",
        "@serialport/bindings-cpp",
        "kerberos",
        "libxmljs",
        "libxmljs2",
        "farmhash",
        "microtime",
        "unix-dgram",
        "isolated-vm",
        "deasync",
        "lmdb",
        "sharp",
        "oracledb",
        "node-expat",
        "iconv",
        "ffi-napi",
        "ref-napi",
        "grpc",
        "hiredis",
        "epoll",
        "diskusage",
        "node-rdkafka",
        "@mapbox/node-pre-gyp",
        "node-gyp",
        "ssh2",
        "dtrace-provider",
        "sodium-native",
    }
)
#: install scripts that only print, download a prebuilt binary of their own or set up git hooks: no compiler needed
NOT_NATIVE = frozenset(
    {
        "core-js",
        "core-js-pure",
        "es5-ext",
        "protobufjs",
        "nodemon",
        "husky",
        "esbuild",
        "@swc/core",
        "@parcel/watcher",
        "fsevents",
        "yarn",
        "spawn-sync",
        "styled-components",
        "ejs",
        "@prisma/client",
        "prisma",
        "@prisma/engines",
        "puppeteer",
        "cypress",
        "electron",
        "msw",
        "@biomejs/biome",
        "@sentry/cli",
        "playwright",
        "playwright-core",
        "@nestjs/core",
        "gatsby",
        "gatsby-cli",
        "gatsby-telemetry",
        "highlight.js",
        "swiper",
        "vue-demi",
        "@scarf/scarf",
    }
)
INSTALL_CONFIG = (".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs", "pnpm-workspace.yaml")
#: a config file that holds a registry credential never goes into an image (it is passed as a build secret instead)
CREDENTIALS = re.compile(r"_authToken|_auth\s*=|_password|npmAuthToken|npmAuthIdent|:password", re.I)
LIFECYCLE = ("preinstall", "install", "postinstall")


@dataclass
class Install:
    version: str | None = None
    files: list[str] = field(default_factory=list)
    native: list[str] = field(default_factory=list)
    needs_source: bool = False


def install_facts(tree: Tree, svc: ServiceDir, pkg: dict[str, Any], manager: str, lockfile: str | None) -> Install:
    out = Install(version=_pinned(tree, svc, pkg, manager, lockfile))
    out.files = [
        name for name in INSTALL_CONFIG if svc.has(tree, name) and not CREDENTIALS.search(tree.read(svc.rel(name)))
    ]
    yarn_path = _yarn_path(tree, svc)
    if yarn_path:
        out.files.append(yarn_path)
    for directory in (".yarn/plugins", ".yarn/patches"):
        if any(f.startswith(svc.rel(directory) + "/") for f in svc.files):
            out.files.append(directory)
    raw_scripts = pkg.get("scripts")
    scripts: dict[str, Any] = raw_scripts if isinstance(raw_scripts, dict) else {}
    patches = "patch-package" in json.dumps(scripts) or bool(
        pkg.get("pnpm", {}).get("patchedDependencies") if isinstance(pkg.get("pnpm"), dict) else False
    )
    if patches and any(f.startswith(svc.rel("patches") + "/") for f in svc.files):
        out.files.append("patches")
    out.native = sorted(_native(tree, svc, pkg, lockfile))
    out.needs_source = any(isinstance(scripts.get(name), str) and scripts[name].strip() for name in LIFECYCLE)
    return out


def _version_of(spec: object) -> str | None:
    match = re.match(r"^\s*(?:[a-z]+@)?(\d+(?:\.\d+){0,2})", str(spec or ""))
    return match.group(1) if match else None


def _pinned(tree: Tree, svc: ServiceDir, pkg: dict[str, Any], manager: str, lockfile: str | None) -> str | None:
    field_value = pkg.get("packageManager")
    if isinstance(field_value, str) and field_value.split("@", 1)[0] == manager:
        return _version_of(field_value.split("@", 1)[1] if "@" in field_value else None)
    if manager == "yarn":
        path = _yarn_path(tree, svc)
        found = re.search(r"yarn-(\d+\.\d+\.\d+)", path or "")
        if found:
            return found.group(1)
        if lockfile:
            head = tree.read(svc.rel(lockfile), limit=4096)
            if "# yarn lockfile v1" in head:
                return "1"
            meta = re.search(r"__metadata:\s*\n\s*version:\s*(\d+)", head)
            if meta:  # Berry's lockfile format: 4-5 Yarn 2, 6-7 Yarn 3, 8 and later Yarn 4
                return "2" if int(meta.group(1)) <= 5 else "3" if int(meta.group(1)) <= 7 else "4"
        return None
    if manager == "pnpm" and lockfile:
        lock = re.search(r"lockfileVersion:\s*'?(\d+)(?:\.(\d+))?", tree.read(svc.rel(lockfile), limit=4096))
        if lock:  # the lockfile format each pnpm major writes
            major = int(lock.group(1))
            return (
                "9"
                if major >= 9
                else "8"
                if major == 6
                else "7"
                if major == 5 and (lock.group(2) or "0") >= "4"
                else "6"
            )
    return None


def _yarn_path(tree: Tree, svc: ServiceDir) -> str | None:
    """Berry's ``yarnPath`` (``.yarn/releases/yarn-4.1.1.cjs``) when the release file is in the repository."""
    if not svc.has(tree, ".yarnrc.yml"):
        return None
    found = re.search(r"^yarnPath:\s*['\"]?([^'\"\s]+)", tree.read(svc.rel(".yarnrc.yml")), re.M)
    path = found.group(1).removeprefix("./") if found else None
    return path if path and svc.has(tree, path) else None


def _native(tree: Tree, svc: ServiceDir, pkg: dict[str, Any], lockfile: str | None) -> set[str]:
    deps = {**(pkg.get("devDependencies") or {}), **(pkg.get("dependencies") or {})}
    found = {name for name in deps if name in NATIVE}
    if lockfile == "package-lock.json" or lockfile == "npm-shrinkwrap.json":
        try:
            lock = json.loads(tree.read(svc.rel(lockfile), limit=64 * 1024 * 1024))
        except json.JSONDecodeError:
            lock = {}
        packages = lock.get("packages") if isinstance(lock, dict) else None
        for key, entry in (packages or {}).items():
            name = key.rsplit("node_modules/", 1)[-1]
            if (
                key
                and isinstance(entry, dict)
                and entry.get("hasInstallScript")
                and not entry.get("optional")
                and name not in NOT_NATIVE
            ):
                found.add(name)
    elif lockfile:
        text = tree.read(svc.rel(lockfile), limit=64 * 1024 * 1024)
        names = set(re.findall(r"^\s{0,2}[\"'/]?(@?[a-z0-9][\w.-]*(?:/[\w.-]+)?)@", text, re.M))
        found |= names & NATIVE
        # pnpm marks packages with install scripts
        found |= {
            m
            for m in re.findall(
                r"^\s{2}['/]?(@?[\w.-]+(?:/[\w.-]+)?)@[^\n]*:\n(?:\s{4}.*\n)*?\s{4}requiresBuild: true", text, re.M
            )
            if m not in NOT_NATIVE
        }
    return found


def node_command(scripts: dict[str, str], name: str = "start", depth: int = 0) -> list[str] | None:
    """The ``node …`` command an npm script ends in, following ``npm run X`` (``npm run build && node dist/server.js``
    -> ``node dist/server.js``); None when it ends in a development server or anything else."""
    text = scripts.get(name)
    if not isinstance(text, str) or depth > 5:
        return None
    for segment in reversed([s.strip() for s in re.split(r"&&|;|\|\|", text) if s.strip()]):
        try:
            argv = shlex.split(segment)
        except ValueError:
            return None
        while argv and (
            re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]) or argv[0] in ("cross-env", "env", "exec", "dotenv")
        ):
            argv = argv[1:]
        if not argv:
            continue
        if argv[0] == "node":
            return argv
        if argv[0] in ("npm", "yarn", "pnpm") and len(argv) >= 2:
            target = argv[2] if argv[1] == "run" and len(argv) > 2 else argv[1]
            if target in scripts and target != name:
                return node_command(scripts, target, depth + 1)
            return None
        return None
    return None
