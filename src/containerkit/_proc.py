"""The only subprocess runner: argv lists, timeouts, streamed lines, redaction.

Never ``shell=True``. Secrets go by ``stdin``; output lines are redacted before
they reach callbacks, results or errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from containerkit import tracing
from containerkit.errors import CommandFailedError, InvalidInputError, TimeoutError_, ToolMissingError
from containerkit.redaction import redact

LineCallback = Callable[[str, str], None]  # (stream name "stdout"/"stderr", line)


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    def tail(self, lines: int = 20) -> str:
        text = (self.stderr or self.stdout).rstrip("\n").splitlines()
        return "\n".join(text[-lines:])


def which(program: str) -> str | None:
    """Find a program on PATH or beside the running interpreter (venv bin dir)."""
    found = shutil.which(program)
    if found:
        return found
    import sys

    candidate = Path(sys.executable).parent / program
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _check_argv(argv: Sequence[str]) -> list[str]:
    if not argv:
        raise InvalidInputError("empty command")
    out = [str(a) for a in argv]
    exe = which(out[0]) if "/" not in out[0] else out[0]
    if exe is None:
        raise ToolMissingError(
            f"program {out[0]!r} is not installed", hint=f"Install {out[0]} and make sure it is on PATH."
        )
    out[0] = exe
    return out


async def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    on_line: LineCallback | None = None,
    ok_codes: Sequence[int] = (0,),
    max_capture: int = 4_000_000,
    redact_output: bool = True,
) -> ProcResult:
    """Run a program to completion, streaming its lines, with a deadline.

    Raises:
        ToolMissingError: the program is not on PATH.
        TimeoutError_: the deadline passed (the process is killed).
        CommandFailedError: exit status not in ``ok_codes`` and ``check`` is true.

    ``redact_output=False`` returns stdout as the program wrote it, for a program whose answer *is* a secret (a
    credential helper): the caller registers the secret at once; streamed lines and error tails stay redacted.
    """
    args = _check_argv(argv)
    program = os.path.basename(args[0])
    # traced as a call out, named by the program (``exec syft``), never by its arguments: they can hold a secret
    with tracing.span(f"exec {program}", client=True, program=program):
        full_env = dict(os.environ) if env is None else {**os.environ, **env}
        started = time.monotonic()
        out_parts: list[str] = []
        err_parts: list[str] = []
        sizes = {"stdout": 0, "stderr": 0}

        async def pump(stream: anyio.abc.ByteReceiveStream | None, name: str, sink: list[str]) -> None:
            if stream is None:
                return
            buffer = ""
            async for chunk in TextReceiveStream(stream, errors="replace"):
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    _emit(line + "\n", name, sink)
            if buffer:
                _emit(buffer, name, sink)

        def _emit(line: str, name: str, sink: list[str]) -> None:
            clean = redact(line)
            if sizes[name] < max_capture:
                sink.append(clean if redact_output or name != "stdout" else line)
            sizes[name] += len(line)
            if on_line is not None:
                on_line(name, clean.rstrip("\n"))

        process: Process | None = None
        try:
            with anyio.fail_after(timeout):
                process = await anyio.open_process(
                    args,
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=cwd,
                    env=full_env,
                    start_new_session=True,
                )
                async with anyio.create_task_group() as tg:
                    tg.start_soon(pump, process.stdout, "stdout", out_parts)
                    tg.start_soon(pump, process.stderr, "stderr", err_parts)
                    if stdin is not None and process.stdin is not None:
                        await process.stdin.send(stdin)
                        await process.stdin.aclose()
                returncode = await process.wait()
        except TimeoutError as e:
            raise TimeoutError_(
                f"{Path(args[0]).name} did not finish within {timeout:g}s",
                details={"argv": [redact(a) for a in args], "tail": redact("".join(err_parts or out_parts)[-2000:])},
            ) from e
        finally:
            if process is not None and process.returncode is None:
                with anyio.CancelScope(shield=True):
                    _kill_group(process)
                    await process.wait()
        result = ProcResult(
            argv=tuple(redact(a) for a in args),
            returncode=returncode,
            stdout="".join(out_parts),
            stderr="".join(err_parts),
            duration_s=time.monotonic() - started,
        )
        if check and returncode not in ok_codes:
            raise CommandFailedError(
                f"{Path(args[0]).name} exited with status {returncode}",
                details={"argv": list(result.argv), "returncode": returncode, "tail": redact(result.tail())},
            )
        return result


def _kill_group(process: Process) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        process.kill()
