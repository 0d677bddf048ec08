"""The one way YAML enters Container Kit: PyYAML's safe loader with limits.

A 700-byte alias bomb ("billion laughs") passed ``workflow validate`` and grew ``workflow run`` to 3.8 GB: safe_load
builds the shared references cheaply, and everything after it (validation, JSON, the store) expands them. Here every
document is measured at the node level before anything is constructed: its size in bytes, its nesting depth, how many
aliases it uses and how many nodes it expands to. Anchors used the normal way (a few ``<<: *defaults``) stay fine.

Limit breaches raise :class:`YAMLLimitError`, a :class:`yaml.YAMLError`, so every caller's existing handling of bad YAML
(with its file name and its error type) reports them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 8 * 1024 * 1024
    max_depth: int = 100
    max_aliases: int = 1_000
    max_nodes: int = 1_000_000  # after alias expansion


DEFAULT = Limits()


class YAMLLimitError(yaml.YAMLError):
    """The document is over a limit; ``problem`` says which (the same attribute PyYAML's own errors carry)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None

    def __str__(self) -> str:
        return self.problem


def read(path: Path, limits: Limits = DEFAULT) -> str:
    """A YAML file's text. Larger than the limit is refused before it is read; not UTF-8 is a :class:`YAMLLimitError`
    naming the offset (YAML is UTF-8 text); OSError passes."""
    _check_size(path.stat().st_size, limits)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise YAMLLimitError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from e


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str, limits: Limits) -> None:
        super().__init__(stream)
        self.limits = limits
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise YAMLLimitError(f"more than {self.limits.max_aliases} aliases (a YAML alias bomb?)")
        self.depth += 1
        try:
            if self.depth > self.limits.max_depth:
                raise YAMLLimitError(f"nested deeper than {self.limits.max_depth} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes the document holds once every alias is expanded. Memoised per node and iterative (a chain of aliases is
    deeper than Python's recursion limit), so it costs about the composed size."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > limit:
                raise YAMLLimitError(f"expands to more than {limit} nodes through its aliases (a YAML alias bomb?)")
            sizes[key] = total
            on_path.discard(key)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YAMLLimitError("a recursive alias (a node that contains itself)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise YAMLLimitError(f"larger than {limits.max_bytes // (1024 * 1024)} MiB")


@contextmanager
def _loading(text: str, limits: Limits) -> Iterator[_Loader]:
    _check_size(len(text), limits)
    loader = _Loader(text, limits)
    try:
        yield loader
    finally:
        loader.dispose()


def _documents(loader: _Loader, limits: Limits) -> Iterator[Node | None]:
    """Each document's node tree, measured before anything is constructed from it."""
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            _expanded_size(node, limits.max_nodes)
        yield node


def compose_all(text: str, limits: Limits = DEFAULT) -> list[Node | None]:
    """The node trees of every document (for line numbers), checked against the limits."""
    with _loading(text, limits) as loader:
        return list(_documents(loader, limits))


def load_all_with_nodes(text: str, limits: Limits = DEFAULT) -> list[tuple[Node | None, Any]]:
    """Every document with its node tree (line numbers), composed once and constructed after it passed the limits."""
    with _loading(text, limits) as loader:
        return [
            (node, None if node is None else loader.construct_document(node)) for node in _documents(loader, limits)
        ]


def load_all(text: str, limits: Limits = DEFAULT) -> list[Any]:
    """Every document, constructed only after its node tree passed the limits."""
    return [doc for _, doc in load_all_with_nodes(text, limits)]


def load(text: str, limits: Limits = DEFAULT) -> Any:
    """The single document of ``text`` (None when empty); more than one document is an error, as in
    ``yaml.safe_load``."""
    with _loading(text, limits) as loader:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, limits.max_nodes)
        return loader.construct_document(node)
