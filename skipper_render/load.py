"""The only stage that reads files: YAML -> plain data + source positions.

Safety rules live here: every path is confined to the fleet directory (no absolute paths, no `..`
escape, no symlink leaving the tree); files are size-limited; YAML is parsed with libyaml's safe
composer and turned into plain data by our own constructor, which refuses duplicate keys, unknown
tags, nesting deeper than `Limits.max_depth` and alias expansion beyond `Limits.max_alias_nodes`
(a "billion laughs" document stops after a few milliseconds). Loading does not validate content.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any, NamedTuple

import yaml

from skipper_render.errors import Diagnostic, LoadError, Location, Path

try:  # libyaml is an order of magnitude faster; the pure-Python composer is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_SCALAR_RULES = yaml.SafeLoader("")  # stateless use: its int/float/bool rules and tag resolver


@lru_cache(maxsize=65536)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    """PyYAML's implicit tag resolution, memoised: libyaml calls back into Python for every scalar."""
    return str(_SCALAR_RULES.resolve(yaml.ScalarNode, value, implicit))  # type: ignore[no-untyped-call]


class _Loader(_BaseLoader):
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            return _scalar_tag(value, implicit)
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_TEXTUAL = frozenset({_STR, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class Limits(NamedTuple):
    """Input limits; generous for real fleets, tight enough that hostile input fails fast."""

    max_file_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_alias_nodes: int = 10_000


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: plain data plus the (line, col) of every mapping key and list item."""

    file: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    text: str = field(default="", compare=False, repr=False)

    def loc(self, path: Path) -> Location:
        """Location of `path`, or of its nearest ancestor that has a recorded position."""
        probe = path
        while True:
            pos = self.positions.get(probe)
            if pos is not None:
                return Location(self.file, pos[0], pos[1], path)
            if not probe:
                return Location(self.file, 1, 1, path)
            probe = probe[:-1]


@dataclass(frozen=True)
class FleetDir:
    """A fleet repository on disk; every read goes through `resolve`, which confines paths."""

    root: FsPath
    limits: Limits = Limits()

    def resolve(self, ref: str, where: Location, base: str = "") -> str:
        """Normalise `ref` (relative to the fleet-relative dir `base`) to a fleet-relative path."""
        if not ref or ref.startswith(("/", "\\")) or (len(ref) > 1 and ref[1] == ":"):
            raise LoadError.at(where, f"path {ref!r} must be relative to the fleet directory")
        rel = posixpath.normpath(posixpath.join(base, ref.replace("\\", "/")))
        if rel == ".." or rel.startswith("../"):
            raise LoadError.at(where, f"path {ref!r} escapes the fleet directory")
        real_root = self.real_root
        real = os.path.realpath(self.root / rel)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise LoadError.at(where, f"path {ref!r} leaves the fleet directory through a symlink")
        return rel

    @cached_property
    def real_root(self) -> str:
        return os.path.realpath(self.root)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read_bytes(self, rel: str, where: Location) -> bytes:
        path = self.root / rel
        try:
            size = path.stat().st_size
            if size > self.limits.max_file_bytes:
                raise LoadError.at(
                    where, f"{rel}: file is {size} bytes, over the {self.limits.max_file_bytes}-byte limit"
                )
            return path.read_bytes()
        except FileNotFoundError:
            raise LoadError.at(where, f"file not found: {rel}") from None
        except IsADirectoryError:
            raise LoadError.at(where, f"{rel} is a directory, not a file") from None
        except OSError as exc:
            raise LoadError.at(where, f"cannot read {rel}: {exc.strerror}") from None

    def load(self, rel: str, where: Location) -> Document:
        return parse_yaml(self.read_bytes(rel, where), rel, self.limits)


def package_documents(folder: str) -> dict[str, Document]:
    """The YAML files shipped in `skipper_render/data/<folder>/` (package data, not user input)."""
    root = resources.files("skipper_render") / "data" / folder
    return {
        entry.name.removesuffix(".yaml"): parse_yaml(entry.read_bytes(), f"<builtin>/{folder}/{entry.name}")
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError.at(Location(file, 1, 1), f"not UTF-8 text (byte {exc.start})") from None


def parse_yaml(raw: bytes, file: str, limits: Limits = Limits()) -> Document:
    """Parse exactly one YAML document into plain data with positions; never runs tags."""
    if len(raw) > limits.max_file_bytes:
        raise LoadError.at(Location(file), f"file is {len(raw)} bytes, over the {limits.max_file_bytes}-byte limit")
    text = decode(raw, file)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise LoadError.at(Location(file, line, col), f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise LoadError.at(Location(file, 1, 1), f"YAML error: {exc}") from None
    if len(nodes) != 1:
        found = "no document" if not nodes else f"{len(nodes)} documents"
        raise LoadError.at(Location(file, 1, 1), f"expected one YAML document, found {found}")
    builder = _Builder(file, limits)
    data = builder.build(nodes[0], (), 0)
    return Document(file, data, builder.positions, text)


class _Builder:
    """Node graph -> plain data. Aliased nodes are rebuilt (no shared objects) under a budget."""

    def __init__(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.positions: dict[Path, tuple[int, int]] = {}
        self.seen: set[int] = set()
        self.alias_nodes = 0

    def fail(self, node: yaml.Node, path: Path, message: str) -> LoadError:
        mark = node.start_mark
        return LoadError([Diagnostic(Location(self.file, mark.line + 1, mark.column + 1, path), message)])

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise self.fail(node, path, f"nesting deeper than {self.limits.max_depth} levels")
        if id(node) in self.seen:
            self.alias_nodes += 1
            if self.alias_nodes > self.limits.max_alias_nodes:
                raise self.fail(node, path, f"alias expansion exceeds {self.limits.max_alias_nodes} nodes")
        else:
            self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            items = []
            for index, item in enumerate(node.value):
                sub = (*path, index)
                self.positions[sub] = (item.start_mark.line + 1, item.start_mark.column + 1)
                items.append(self.build(item, sub, depth + 1))
            return items
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
        out: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.append(value_node)
                continue
            key = self.key(key_node, path)
            if key in out:
                raise self.fail(key_node, (*path, key), f"duplicate key {key!r}")
            sub = (*path, key)
            self.positions[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, sub, depth + 1)
        for source in merged:  # YAML merge keys: explicit keys win, earlier merges win
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for item in sources:
                extra = self.build(item, path, depth + 1)
                if not isinstance(extra, dict):
                    raise self.fail(item, path, "merge key '<<' needs a mapping")
                for key, value in extra.items():
                    out.setdefault(key, value)
        return out

    def key(self, node: yaml.Node, path: Path) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, "mapping keys must be plain scalars")
        value = self.scalar(node, path)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            # `on:`/`yes:`/`null:` keys are YAML 1.1 traps; keep the text the author wrote.
            return str(node.value)
        return str(value)

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag in _TEXTUAL:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _SCALAR_RULES.construct_yaml_bool(node)
        if tag == _INT:
            return _SCALAR_RULES.construct_yaml_int(node)
        if tag == _FLOAT:
            return _SCALAR_RULES.construct_yaml_float(node)
        raise self.fail(node, path, f"unsupported YAML tag {tag!r}")
