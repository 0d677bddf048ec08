"""Build context preparation: ``.dockerignore`` with Docker's semantics, size limit, tar.

The exclusion rules are docker-py's ``exclude_paths`` (Docker's own matcher:
``**``, ``!`` exceptions, last match wins, the Dockerfile and ``.dockerignore``
always sent). The size is measured on the files that would be sent, before any
tar is written, so an oversized context is refused cheaply.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths, tar

from containerkit import dockerignore
from containerkit.errors import BuildError, InvalidInputError, JSONValue

#: Name the Dockerfile gets inside the tar when it lives outside the context directory.
OUTSIDE_DOCKERFILE_NAME = ".containerkit.Dockerfile"


@dataclass(frozen=True)
class BuildContext:
    root: Path
    dockerfile: Path
    #: the Dockerfile's path inside the context as the engine sees it
    dockerfile_in_context: str
    dockerfile_outside: bool
    patterns: tuple[str, ...]
    files: int
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1024 / 1024, 3)

    def tar(self) -> IO[bytes]:
        """A temporary file holding the context tar (the caller closes it)."""
        fileobj = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller who closes it
        extra = None
        if self.dockerfile_outside:
            extra = (OUTSIDE_DOCKERFILE_NAME, self.dockerfile.read_text(encoding="utf-8"))
        tar(str(self.root), exclude=list(self.patterns), dockerfile=extra, fileobj=fileobj)
        fileobj.seek(0)
        return fileobj


def read_dockerignore(root: Path) -> list[str]:
    """Patterns of ``root/.dockerignore`` (comments and blank lines dropped), as Docker reads them."""
    return dockerignore.read(root) or []


def prepare_context(root: Path, dockerfile: Path | None, *, max_mb: int) -> BuildContext:
    """Measure the context as the engine will receive it.

    Raises:
        InvalidInputError: the context is not a directory or the Dockerfile is missing.
        BuildError: (CONTEXT_TOO_LARGE) the included files exceed ``max_mb``.
    """
    if not root.is_dir():
        raise InvalidInputError(f"build context {root} is not a directory", hint="Pass the directory holding the app.")
    df = dockerfile if dockerfile is not None else root / "Dockerfile"
    if not df.is_absolute():
        df = root / df
    if not df.is_file():
        raise InvalidInputError(
            f"Dockerfile {df} does not exist",
            hint="Generate one first (generate_dockerfile) or pass --dockerfile.",
            details={"dockerfile": str(df)},
        )
    outside = not df.resolve().is_relative_to(root.resolve())
    in_context = OUTSIDE_DOCKERFILE_NAME if outside else df.resolve().relative_to(root.resolve()).as_posix()
    patterns = read_dockerignore(root)
    included = exclude_paths(str(root), list(patterns), dockerfile=None if outside else in_context)
    files, size = 0, 0
    for rel in included:
        path = root / rel
        if path.is_file() and not path.is_symlink():
            files += 1
            size += path.stat().st_size
    if outside:
        size += df.stat().st_size
        files += 1
    limit = max_mb * 1024 * 1024
    if size > limit:
        biggest = _largest_top_level(root, included)
        raise BuildError(
            f"build context {root} is {size / 1024 / 1024:.1f} MB, over the {max_mb} MB limit",
            code="CONTEXT_TOO_LARGE",
            hint="Exclude build outputs, dependencies and data from the context in .dockerignore "
            "(largest entries are in the details), or raise CONTAINERKIT_ENGINE__MAX_CONTEXT_MB.",
            retryable=False,
            details={
                "size_bytes": size,
                "limit_mb": max_mb,
                "largest": list(biggest),
                "dockerignore_patterns": len(patterns),
            },
        )
    return BuildContext(root, df, in_context, outside, tuple(patterns), files, size)


def _largest_top_level(root: Path, included: set[str]) -> list[JSONValue]:
    sizes: dict[str, int] = {}
    for rel in included:
        path = root / rel
        if path.is_file() and not path.is_symlink():
            top = rel.split("/", 1)[0]
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    ranked = sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)[:5]
    return [f"{name} ({size / 1024 / 1024:.1f} MB)" for name, size in ranked]
