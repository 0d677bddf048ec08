"""The pieces every Dockerfile template is made of: a document of commented lines, the app user, apt installs, an
init process, health checks and the exposed port."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from containerkit.analysis.models import ServiceAnalysis
from containerkit.dockerfile.images import ImagePicker

APT_IGNORE = "# hadolint ignore=DL3008  # the base image tag pins the Debian release; take its current security fixes"


@dataclass(frozen=True)
class RenderOptions:
    user_uid: int = 10001
    buildkit: bool = False
    extra_system_packages: tuple[str, ...] = ()
    images: ImagePicker = field(default_factory=ImagePicker)


class Doc:
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
                if (
                    _SINGLE_PIPE.search(joined)
                    and not guarded
                    and stage_from is not None
                    and "set -o pipefail" not in joined
                ):
                    shell = "/bin/ash" if "alpine" in out[stage_from] else "/bin/bash"
                    out.insert(stage_from + 1, f'SHELL ["{shell}", "-o", "pipefail", "-c"]')
                    guarded = True
                run = []
        out.append(line)
    return "\n".join(out)


def json_argv(argv: list[str]) -> str:
    return json.dumps(argv)


def own_writes(doc: Doc, svc: ServiceAnalysis, uid: int) -> None:
    """The directories the app creates and writes at run time, made the app user's (the rest of its tree is root's)."""
    if svc.writes:
        dirs = " ".join(svc.writes)
        doc.add(
            f"RUN mkdir -p {dirs} && chown {uid}:{uid} {dirs}",
            why="The directories the app writes at run time (Flask's instance folder, its logs): the app user's",
        )


def add_user(doc: Doc, uid: int, shell_has_useradd: bool = True) -> None:
    if shell_has_useradd:
        doc.add(
            f"RUN groupadd --system --gid {uid} app && \\",
            f"    useradd --system --uid {uid} --gid {uid} --no-create-home --home-dir /nonexistent --shell "
            "/usr/sbin/nologin app",
            why=f"A fixed numeric non-root user; Kubernetes manifests use runAsUser: {uid}",
        )


def apt(doc: Doc, packages: list[str], why: str) -> None:
    if not packages:
        return
    doc.add(
        APT_IGNORE,
        "RUN apt-get update && \\",
        f"    apt-get install -y --no-install-recommends {' '.join(sorted(set(packages)))} && \\",
        "    rm -rf /var/lib/apt/lists/*",
        why=why,
    )


#: PID 1 for servers that install no SIGTERM handler (Node.js, a plain Python script, Rust binaries): the kernel drops
#: a signal that PID 1 has no handler for, so `docker stop` and Kubernetes would wait out the grace period and kill
TINI = "/usr/bin/tini"


def init_packages(who: str) -> tuple[list[str], str]:
    return (
        ["tini"],
        f"tini as PID 1 hands SIGTERM to {who} (which as PID 1 would ignore it, at least while it starts) and reaps "
        "zombies",
    )


def entrypoint_init(doc: Doc) -> None:
    doc.add(f"ENTRYPOINT {json_argv([TINI, '--'])}")


def healthcheck(doc: Doc, argv: list[str], why: str) -> None:
    doc.add(f"HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD {json_argv(argv)}", why=why)


def expose(doc: Doc, svc: ServiceAnalysis, port: int | None) -> None:
    if port is None:
        return
    if svc.reads_port_env:
        doc.add(f"ENV PORT={port}", why="The app reads PORT; keep it equal to the exposed port")
    doc.add(f"EXPOSE {port}")


def env_lines(doc: Doc, env: dict[str, str], why: str) -> None:
    """ENV lines, sorted (same analysis in, same bytes out)."""
    if env:
        doc.add(*(f"ENV {name}={_env_value(value)}" for name, value in sorted(env.items())), why=why)


_NEEDS_QUOTES = re.compile(r"[\s\"$\\]")


def _env_value(value: str) -> str:
    return json.dumps(value) if _NEEDS_QUOTES.search(value) or not value else value


def url(port: int, path: str | None) -> str:
    return f"http://127.0.0.1:{port}{path or '/'}"


#: what a template returns: (runtime image, build image, user id, has a HEALTHCHECK, notes)
Result = tuple[str, str | None, int, bool, list[str]]
