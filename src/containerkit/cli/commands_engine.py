"""`build`, `tag`, `push`, `pull`, `inspect` and `registry tags|retag` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import fail, invoke, key_values
from containerkit.errors import InvalidInputError
from containerkit.redaction import register_secret

if TYPE_CHECKING:
    from containerkit.tools.engine import BuildImageResult, ImageResult
    from containerkit.tools.images import TransferResult


JSON_OPT = typer.Option(False, "--json", help="Print the tool's result model as JSON.")
USER_OPT = typer.Option(None, "--username", "-u", help="Registry username for this call.")
PW_STDIN_OPT = typer.Option(False, "--password-stdin", help="Read the password from standard input.")
PW_FILE_OPT = typer.Option(None, "--password-file", help="Read the password from this file.", dir_okay=False)


def _password(username: str | None, password_stdin: bool, password_file: Path | None) -> dict[str, Any]:
    """Credentials params; the password comes only from stdin or a file, never argv."""
    if password_stdin and password_file is not None:
        fail(InvalidInputError("use --password-stdin or --password-file, not both"))
    if not (password_stdin or password_file):
        if username:
            fail(
                InvalidInputError(
                    "--username needs --password-stdin or --password-file",
                    hint="e.g. `cat token | containerkit push REF --username me --password-stdin`.",
                )
            )
        return {}
    if not username:
        fail(InvalidInputError("a password needs --username"))
    try:
        secret = sys.stdin.read() if password_stdin else Path(str(password_file)).read_text(encoding="utf-8")
    except OSError as e:
        fail(InvalidInputError(f"cannot read the password file: {e.strerror}"))
    secret = secret.rstrip("\r\n")
    register_secret(secret)
    if not secret:
        fail(InvalidInputError("the password is empty"))
    return {"username": username, "password": secret}


def _render_build(out: Console, r: BuildImageResult) -> None:
    table = Table(title=f"Built {r.image_id[:19]} with {r.strategy.name}", show_lines=False)
    for col in ("step", "instruction", "line", "cached", "seconds"):
        table.add_column(col)
    for s in r.steps:
        table.add_row(
            str(s.number), s.instruction[:80], str(s.line or "-"), "yes" if s.cached else "", f"{s.duration_s:.1f}"
        )
    out.print(table)
    out.print(
        f"tags: {', '.join(r.tags) or '-'}   size: {r.size_bytes / 1024 / 1024:.1f} MB   layers: {r.layers}   "
        f"cache: {r.cache.cached}/{r.cache.steps} steps   took {r.duration_s:.1f}s"
    )
    out.print(
        f"context: {r.context_size_bytes / 1024:.1f} KB in {r.context_files} files   strategy: {r.strategy.reason}"
    )
    out.print(f"log: artifact {r.log_artifact_id} (session {r.session_id})")


def _render_image(out: Console, r: ImageResult) -> None:
    i = r.image
    out.print(Text.assemble((r.reference, "bold"), f" {i.id}"))
    out.print(f"tags: {', '.join(i.repo_tags) or '-'}   digests: {', '.join(i.repo_digests) or '-'}")
    out.print(
        f"size: {i.size_bytes / 1024 / 1024:.1f} MB   layers: {i.layers}   {i.os}/{i.architecture}   created "
        f"{i.created}"
    )
    for key, value in sorted(i.labels.items()):
        out.print(f"  {key}={value}")


def _render_transfer(out: Console, r: TransferResult) -> None:
    t = r.transfer
    check = " (verified: the registry serves this manifest of this image)" if t.verified and t.registry_digest else ""
    out.print(f"{t.reference}  digest {t.digest or '-'}{check}")
    if t.image:
        out.print(f"image: {t.image}")
    if t.verification and not t.verified:
        out.print(f"not verified: {t.verification}")
    out.print(
        f"layers: {t.layers} ({t.layers_existing} already present)   attempts: {t.attempts}   "
        f"credentials: {t.credentials}   {t.duration_s:.1f}s"
    )


PASSWORD = {"password": "read from --password-stdin or --password-file, never from the command line"}


def register(app: typer.Typer) -> None:
    registry = typer.Typer(help="Talk to a registry directly (OCI distribution API).", no_args_is_help=True)
    app.add_typer(registry, name="registry")

    @app.command("build")
    @tool_options(
        "build_image",
        given={"tags": "tag", "build_args": "build_arg", "timeout_s": "timeout", "session_id": "session"},
    )
    def build(
        path: Path = typer.Argument(..., help="Build context directory."),
        tag: list[str] = typer.Option([], "--tag", "-t", help="Reference to tag the image with (repeatable)."),
        dockerfile: str = typer.Option(None, "--dockerfile", "-f", help="Dockerfile (default PATH/Dockerfile)."),
        build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE (repeatable)."),
        target: str = typer.Option(None, "--target", help="Stage to build."),
        platform: str = typer.Option(None, "--platform", help="e.g. linux/amd64."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the build cache."),
        strategy: str = typer.Option(None, "--strategy", help="auto | buildkit | docker | podman."),
        timeout: float = typer.Option(None, "--timeout", help="Build deadline in seconds."),
        session: str = typer.Option(None, "--session", help="Session to record the build in."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Build an image from PATH (steps shown live; the log is kept as a session artifact)."""
        args = key_values(build_arg, "--build-arg", "--build-arg VERSION=1.2")
        invoke(
            "build_image",
            {
                "path": str(path),
                "tags": tag,
                "dockerfile": dockerfile,
                "build_args": args,
                "target": target,
                "platform": platform,
                "no_cache": no_cache,
                "strategy": strategy,
                "timeout_s": timeout,
                "session_id": session,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_build,
            progress_title="build",
        )

    @app.command("tag")
    @tool_options("tag_image")
    def tag_cmd(source: str, target: str, as_json: bool = JSON_OPT, derived: dict[str, object] | None = None) -> None:
        """Tag the local image SOURCE as TARGET."""
        invoke(
            "tag_image", {"source": source, "target": target, **(derived or {})}, as_json=as_json, render=_render_image
        )

    @app.command("inspect")
    @tool_options("inspect_image")
    def inspect_cmd(reference: str, as_json: bool = JSON_OPT, derived: dict[str, object] | None = None) -> None:
        """Show a local image (id, tags, digests, size, layers, labels)."""
        invoke("inspect_image", {"reference": reference, **(derived or {})}, as_json=as_json, render=_render_image)

    @app.command("push")
    @tool_options("push_image", without=PASSWORD)
    def push_cmd(
        reference: str,
        image: str = typer.Option(
            None,
            "--image",
            help="Push this local image id (sha256:...) under REFERENCE (tagged first, under a lock per reference).",
        ),
        username: str = USER_OPT,
        password_stdin: bool = PW_STDIN_OPT,
        password_file: Path = PW_FILE_OPT,
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Push REFERENCE (registry/repository:tag) and verify the registry serves that manifest of that image."""
        creds = _password(username, password_stdin, password_file)
        invoke(
            "push_image",
            {"reference": reference, **({"image": image} if image else {}), **creds, **(derived or {})},
            as_json=as_json,
            render=_render_transfer,
            progress_title="push",
        )

    @app.command("pull")
    @tool_options("pull_image", without=PASSWORD)
    def pull_cmd(
        reference: str,
        username: str = USER_OPT,
        password_stdin: bool = PW_STDIN_OPT,
        password_file: Path = PW_FILE_OPT,
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Pull REFERENCE (tag or @sha256 digest)."""
        creds = _password(username, password_stdin, password_file)
        invoke(
            "pull_image",
            {"reference": reference, **creds, **(derived or {})},
            as_json=as_json,
            render=_render_transfer,
            progress_title="pull",
        )

    @registry.command("tags")
    @tool_options("registry_tags", without=PASSWORD)
    def registry_tags(
        repository: str,
        username: str = USER_OPT,
        password_stdin: bool = PW_STDIN_OPT,
        password_file: Path = PW_FILE_OPT,
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """List the tags of REPOSITORY in its registry."""
        creds = _password(username, password_stdin, password_file)
        invoke(
            "registry_tags",
            {"repository": repository, **creds, **(derived or {})},
            as_json=as_json,
            render=lambda out, r: out.print("\n".join(r.tags) if r.tags else f"no tags in {r.repository}"),
        )

    @registry.command("retag")
    @tool_options("retag_image", without=PASSWORD)
    def registry_retag(
        source: str,
        new_tag: str,
        username: str = USER_OPT,
        password_stdin: bool = PW_STDIN_OPT,
        password_file: Path = PW_FILE_OPT,
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Add NEW_TAG to the remote image SOURCE without pulling it."""
        creds = _password(username, password_stdin, password_file)
        invoke(
            "retag_image",
            {"source": source, "new_tag": new_tag, **creds, **(derived or {})},
            as_json=as_json,
            render=lambda out, r: out.print(f"{r.target} -> {r.digest}"),
        )
