"""A fast, safe repository walk.

Honours ``.gitignore`` files (nested ones too), skips vendored and build
directories, never follows a symlink out of the root (nor loops), caps the bytes
read per file and tolerates binary and non-UTF-8 content and names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from pathspec.pattern import Pattern

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "env",
        ".env",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "target",
        "dist",
        "build",
        "bin",
        "obj",
        "out",
        ".next",
        ".nuxt",
        ".svelte-kit",
        "vendor",
        "bower_components",
        ".gradle",
        ".idea",
        ".vscode",
        "coverage",
        ".terraform",
        ".cache",
        "site-packages",
        ".angular",
        ".parcel-cache",
        "tmp",
        ".bundle",
    }
)
MAX_READ = 512 * 1024
MAX_FILES = 200_000
# a directory to walk: (absolute dir, relative dir, active ignore specs as (base rel dir, spec))
_Frame = tuple[str, str, list[tuple[str, pathspec.PathSpec[Pattern]]]]


@dataclass
class Tree:
    """The files of a repository (relative POSIX paths) and what was skipped."""

    root: Path
    files: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    #: directories not walked because of their name (dist, build, vendor, ...) although no .gitignore excludes them:
    #: committed build output or vendored dependencies, which a detector may need to know of
    unwalked: set[str] = field(default_factory=set)

    def read(self, rel: str, limit: int = MAX_READ) -> str:
        """Text of a file (first ``limit`` bytes, undecodable bytes replaced); '' when unreadable or binary."""
        try:
            with open(self.root / rel, "rb") as f:
                data = f.read(limit)
        except OSError:
            return ""
        if b"\x00" in data[:4096]:
            return ""
        return data.decode("utf-8", "replace")

    def lines(self, rel: str) -> list[str]:
        return self.read(rel).splitlines()

    def exists(self, rel: str) -> bool:
        return rel in self.sizes

    def unwalked_file(self, rel: str) -> bool:
        """``rel`` is a regular file inside a directory the walk skipped by name (see ``unwalked``), within the root."""
        if not any(rel == d or rel.startswith(d + "/") for d in self.unwalked):
            return False
        path = os.path.realpath(self.root / rel)
        root = os.path.realpath(self.root)
        return path.startswith(root + os.sep) and os.path.isfile(path)

    def under(self, directory: str) -> Iterator[str]:
        prefix = "" if directory in ("", ".") else directory.rstrip("/") + "/"
        for rel in self.files:
            if rel.startswith(prefix):
                yield rel


def _gitignore(directory: Path) -> pathspec.PathSpec[Pattern] | None:
    try:
        text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.PathSpec.from_lines("gitignore", text.splitlines())


def walk(root: Path, max_files: int = MAX_FILES) -> Tree:
    """Walk ``root`` (already resolved) and return its tree."""
    tree = Tree(root=root)
    real_root = os.path.realpath(root)
    try:
        st_root = os.stat(root)
        seen_dirs: set[tuple[int, int]] = {(st_root.st_dev, st_root.st_ino)}
    except OSError:
        seen_dirs = set()
    stack: list[_Frame] = [(str(root), "", [])]
    # Symlinked directories are walked after every real one, and only when their target was not walked:
    # a link such as ``dot -> .`` or ``api -> services/api`` must not make a second copy of a directory.
    linked: list[tuple[str, _Frame]] = []
    while stack or linked:
        if not stack:
            rel_link, frame = linked.pop()
            if not _first_visit(frame[0], seen_dirs):
                tree.skipped.append(f"{rel_link}: symlink to a directory already walked")
                continue
            stack.append(frame)
        abs_dir, rel_dir, specs = stack.pop()
        spec = _gitignore(Path(abs_dir))
        if spec is not None:
            specs = [*specs, (rel_dir, spec)]
        try:
            entries = list(os.scandir(abs_dir))
        except OSError:
            tree.skipped.append(f"{rel_dir or '.'}: unreadable directory")
            continue
        for entry in sorted(entries, key=lambda e: e.name, reverse=True):
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                continue
            if is_link:
                target = os.path.realpath(entry.path)
                if not (target == real_root or target.startswith(real_root + os.sep)):
                    tree.skipped.append(f"{rel}: symlink escapes the repository")
                    continue
            if _ignored(rel, is_dir, specs):
                continue
            if is_dir:
                if name in SKIP_DIRS and not (name == "bin" and rel_dir.rsplit("/", 1)[-1] == "src"):  # Rust's src/bin
                    tree.unwalked.add(rel)
                    continue
                if is_link:
                    linked.insert(0, (rel, (entry.path, rel, specs)))
                elif _first_visit(entry.path, seen_dirs):
                    stack.append((entry.path, rel, specs))
            else:
                try:
                    size = entry.stat(follow_symlinks=True).st_size
                except OSError:
                    continue
                tree.files.append(rel)
                tree.sizes[rel] = size
                if size > MAX_READ:
                    tree.skipped.append(f"{rel}: larger than {MAX_READ // 1024} KiB, read partially")
                if len(tree.files) >= max_files:
                    tree.skipped.append(f"stopped after {max_files} files")
                    return tree
    tree.files.sort()
    return tree


def _first_visit(path: str, seen_dirs: set[tuple[int, int]]) -> bool:
    """Record a directory by device and inode; False when it was walked already (or cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        return False
    seen_dirs.add(key)
    return True


def _ignored(rel: str, is_dir: bool, specs: list[tuple[str, pathspec.PathSpec[Pattern]]]) -> bool:
    for base, spec in specs:
        sub = rel[len(base) + 1 :] if base else rel
        if spec.match_file(sub + "/" if is_dir else sub):
            return True
    return False
