"""The only stage that reads files: YAML -> plain data, with source positions on demand.

Safety rules live here. Every path is confined to the fleet directory (no absolute paths, no `..`
escape, no symlink leaving the tree, no NUL byte); only regular files are read (a FIFO or a device
is refused before it is opened for reading), and at most `Limits.max_file_bytes` of them.
YAML is parsed by libyaml's event parser and turned into plain data by our own builder, which
counts while it reads, so hostile input stops early and never builds a node graph first:
duplicate keys, explicit tags, nesting deeper than `max_depth`, more than `max_nodes` nodes or
`max_bytes` of text (aliases included: a "billion laughs" or a 1 MB string aliased 1,000 times
stop after a few milliseconds) are errors with their position. Loading does not validate content.

Positions (line and column of every mapping key and list item) cost as much as the data itself,
so a `Document` computes them only when a message needs one: it parses its text again.
"""

from __future__ import annotations

import copy
import errno
import os
import posixpath
import stat
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any, NamedTuple

import yaml
from yaml import events

from skipper_render import skim
from skipper_render.errors import Diagnostic, Lazy, LoadError, Location, Path, Where, shorten

try:  # libyaml is an order of magnitude faster; the pure-Python parser is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_SCALAR_RULES = yaml.SafeLoader("")  # stateless use: its implicit int/float/bool rules and resolver


@lru_cache(maxsize=65536)
def _scalar_tag(value: str, implicit: bool) -> str:
    """PyYAML's implicit tag resolution (YAML 1.1 rules), memoised."""
    return str(_SCALAR_RULES.resolve(yaml.ScalarNode, value, (implicit, False)))  # type: ignore[no-untyped-call]


@lru_cache(maxsize=65536)
def _plain_key(text: str) -> str:
    """A plain mapping key as a string: `on:`/`yes:`/`null:`/`1.5:` keep the text the author wrote
    (YAML 1.1 traps), an integer key is its number (`0x1f:` is `31`); ValueError: no valid number."""
    if _scalar_tag(text, True) == _INT:
        return str(_SCALAR_RULES.construct_yaml_int(yaml.ScalarNode(_INT, text)))
    return text


def plain_value(text: str) -> Any:
    """A plain (unquoted) scalar's value: YAML 1.1's null, bool, int and float; timestamps and other
    implicit types stay the text the author wrote. ValueError: looks like a number, is none (`0x_`,
    an integer of more than 4,300 digits)."""
    tag = _scalar_tag(text, True)
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _SCALAR_RULES.construct_yaml_bool(yaml.ScalarNode(tag, text))
    if tag == _INT:
        return _SCALAR_RULES.construct_yaml_int(yaml.ScalarNode(tag, text))
    if tag == _FLOAT:
        return _SCALAR_RULES.construct_yaml_float(yaml.ScalarNode(tag, text))
    return text


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SIZE = 16  # bytes charged per node besides its text: a fleet of empty nodes is not free either


class Limits(NamedTuple):
    """Input limits; generous for real fleets, tight enough that hostile input fails fast."""

    max_file_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_alias_nodes: int = 10_000  # nodes produced by expanding aliases
    max_nodes: int = 1_000_000  # nodes of one document, aliases expanded (also caps overlay patches)
    max_bytes: int = 64 * 1024 * 1024  # text of one document, aliases expanded (also caps overlay patches)


class Positions:
    """The (line, col) of every mapping key and list item of one file, found on first use.

    Only the text is kept, never the parsed data: a message made late (a lazy location held by a
    resolved capability) must not keep every parsed spec of a large fleet alive."""

    __slots__ = ("__dict__", "file", "limits", "text")

    def __init__(self, file: str, text: str, limits: Limits) -> None:
        self.file = file
        self.text = text
        self.limits = limits

    @cached_property
    def positions(self) -> dict[Path, tuple[int, int]]:
        """Computed on first use by parsing the text again (only messages need positions)."""
        if not self.text:
            return {}
        builder = _Builder(self.file, self.limits, positions=True)
        builder.run(self.text)
        return builder.positions

    def loc(self, path: Path) -> Location:
        """Location of `path`, or of its nearest ancestor that has a recorded position."""
        positions = self.positions
        probe = path
        while True:
            pos = positions.get(probe)
            if pos is not None:
                return Location(self.file, pos[0], pos[1], path)
            if not probe:
                return Location(self.file, 1, 1, path)
            probe = probe[:-1]


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: plain data, and where each of its keys and items is (lazily)."""

    file: str
    data: Any
    text: str = field(default="", compare=False, repr=False)
    limits: Limits = field(default=Limits(), compare=False, repr=False)

    @cached_property
    def locator(self) -> Positions:
        return Positions(self.file, self.text, self.limits)

    @property
    def positions(self) -> dict[Path, tuple[int, int]]:
        return self.locator.positions

    def loc(self, path: Path) -> Location:
        """Location of `path`, or of its nearest ancestor that has a recorded position."""
        return self.locator.loc(path)

    def at(self, path: Path) -> Lazy:
        """`loc(path)`, resolved only if a message is ever made of it (holding no parsed data)."""
        return Lazy(self.locator, path)


@dataclass(frozen=True)
class FleetDir:
    """A fleet repository on disk; every read goes through `read_bytes`, which confines paths."""

    root: FsPath
    limits: Limits = Limits()

    def resolve(self, ref: str, where: Where, base: str = "") -> str:
        """Normalise `ref` (relative to the fleet-relative dir `base`) to a fleet-relative path."""
        if "\0" in ref:
            raise LoadError.at(where, "a path may not contain a NUL byte")
        if not ref or ref.startswith(("/", "\\")) or (len(ref) > 1 and ref[1] == ":"):
            raise LoadError.at(where, f"path {shorten(ref)!r} must be relative to the fleet directory")
        rel = posixpath.normpath(posixpath.join(base, ref.replace("\\", "/")))
        if rel == ".." or rel.startswith("../"):
            raise LoadError.at(where, f"path {shorten(ref)!r} escapes the fleet directory")
        self.confine(rel, where, ref)
        return rel

    def confine(self, rel: str, where: Where, shown: str | None = None) -> None:
        """`rel` may not leave the fleet directory through a symlink."""
        real = self.real_path(rel)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise LoadError.at(where, f"path {shorten(shown or rel)!r} leaves the fleet directory through a symlink")

    @cached_property
    def real_root(self) -> str:
        return os.path.realpath(self.root)

    def real_path(self, rel: str) -> str:
        """`realpath(root/rel)` for a normalised `rel`, one `lstat` per new path component: a
        directory's real path is its parent's plus its name unless it is a symlink (a 1,000-spec
        fleet would otherwise lstat every component of every path, twice)."""
        parent, name = posixpath.split(rel)
        if name in ("", "."):
            return self.real_root if not parent else self.real_path(parent)
        base = self._real_dirs.get(parent)
        if base is None:
            base = self._real_dirs[parent] = self.real_path(parent) if parent else self.real_root
        candidate = os.path.join(base, name)
        return os.path.realpath(candidate) if name == ".." or os.path.islink(candidate) else candidate

    @cached_property
    def _real_dirs(self) -> dict[str, str]:
        return {}

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read_bytes(self, rel: str, where: Where) -> bytes:
        """The bytes of a regular file inside the fleet directory, at most `max_file_bytes`."""
        self.confine(rel, where)
        return read_regular(self.root / rel, rel, where, self.limits.max_file_bytes)

    def load(self, rel: str, where: Where, keep: Keep | None = None) -> Document:
        return parse_yaml(self.read_bytes(rel, where), rel, self.limits, keep)


def read_regular(path: FsPath, shown: str, where: Where, limit: int) -> bytes:
    """Read a regular file (never a FIFO, socket or device: they are refused before any read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise LoadError.at(where, f"file not found: {shown}") from None
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise LoadError.at(where, f"{shown} is a directory, not a file") from None
        raise LoadError.at(where, f"cannot read {shown}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise LoadError.at(where, f"{shown} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise LoadError.at(where, f"{shown} is not a regular file (a FIFO, socket or device is never read)")
        if info.st_size > limit:
            raise LoadError.at(where, f"{shown}: file is {info.st_size} bytes, over the {limit}-byte limit")
        chunks = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:  # it grew while we read
                raise LoadError.at(where, f"{shown}: file is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise LoadError.at(where, f"cannot read {shown}: {exc.strerror}") from None
    finally:
        os.close(fd)


def package_documents(folder: str) -> dict[str, Document]:
    """The YAML files shipped in `skipper_render/data/<folder>/` (package data, not user input)."""
    here = FsPath(__file__).parent / "data" / folder  # installed as files: the usual case, no zip reader
    root = here if here.is_dir() else resources.files("skipper_render") / "data" / folder
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


def parse_yaml(raw: bytes, file: str, limits: Limits = Limits(), keep: Keep | None = None) -> Document:
    """Parse exactly one YAML document into plain data; never runs tags.

    With `keep`, of the mapping at `keep.parent` only the entries `keep.whole` are built whole and
    the others' `keep.fields`: first from the text `skim.fold` leaves (other entries' values folded
    away before libyaml reads them), else by skipping their events (counted against the limits);
    a document whose skipped parts hold anchors is parsed whole instead."""
    if len(raw) > limits.max_file_bytes:
        raise LoadError.at(Location(file), f"file is {len(raw)} bytes, over the {limits.max_file_bytes}-byte limit")
    text = decode(raw, file)
    if keep is not None:
        folded = _parse_folded(text, file, limits, keep)
        if folded is not None:
            return folded
        try:
            return Document(file, _Builder(file, limits, keep=keep).run(text), text, limits)
        except _AnchorSkipped:
            pass
    return Document(file, _Builder(file, limits).run(text), text, limits)


def _parse_folded(text: str, file: str, limits: Limits, keep: Keep) -> Document | None:
    """The partial build of `text` made from its folded form, or None when `skim.fold` proves
    nothing or libyaml does not find the keys where the folding expects them (see `skim`)."""
    if len(keep.parent) != 2:
        return None
    top, key = str(keep.parent[0]), str(keep.parent[1])
    folded = skim.fold(text, (top, key), keep.whole, keep.fields)
    if folded is None:
        return None
    builder = _Builder(file, limits, keep=keep)
    try:
        data = builder.run(folded.text)
    except (LoadError, _AnchorSkipped):  # the original's own error (if any) comes from its own parse
        return None
    if builder.heads != folded.heads:
        return None
    values: dict[str, Any] = {}  # text -> value: a fleet writes the same few classes and states

    def value(text: str) -> Any:
        if text not in values:
            values[text] = plain_value(text)
        return values[text]

    try:  # the roster fields read from folded entries, as the builder would make them; entries that
        # read alike share their Read (`skim`), so each distinct one is made once and shared
        made = {
            id(fs): {f: [value(i) for i in v] if isinstance(v, list) else value(v) for f, v in fs.items()}
            for fs in {id(fs): fs for fs in folded.read.values()}.values()
        }
    except ValueError:  # `class: 0x_`: the original's parse says where
        return None
    read = {name: made[id(fs)] for name, fs in folded.read.items()}
    entries = data[top][key]
    data[top][key] = {name: read[name] if name in read else entries.get(name, {}) for name in folded.names}
    return Document(file, data, folded.text, limits)


def parse_yaml_stream(raw: bytes, file: str, limits: Limits = Limits()) -> list[Any]:
    """Every document of a YAML stream (what a kustomize transformer receives), under one budget."""
    if len(raw) > limits.max_file_bytes:
        raise LoadError.at(Location(file), f"input is {len(raw)} bytes, over the {limits.max_file_bytes}-byte limit")
    return _Builder(file, limits).stream(decode(raw, file))


class Keep(NamedTuple):
    """Build, of the mapping at `parent`, the entries `whole` whole and of every other entry `fields`."""

    parent: Path
    whole: frozenset[str]
    fields: frozenset[str]


class _AnchorSkipped(Exception):
    """A skipped value defines an anchor another part may use: parse the whole document."""


class _Anchor(NamedTuple):
    value: Any
    nodes: int
    size: int


class _Builder:
    """libyaml events -> plain data, counting nodes and bytes as it goes.

    Aliased values are copied (no shared objects) and charged again to the budgets.
    """

    def __init__(self, file: str, limits: Limits, positions: bool = False, keep: Keep | None = None) -> None:
        self.file = file
        self.limits = limits
        self.keep = keep
        self.record = positions
        self.positions: dict[Path, tuple[int, int]] = {}
        self.heads: list[tuple[int, str]] = []  # (line, key text) of each key under keep.parent
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0
        self.size = 0
        self.alias_nodes = 0
        self.loader: Any = None

    def run(self, text: str) -> Any:
        """Exactly one document."""
        documents = self.stream(text, one=True)
        if not documents:
            raise LoadError.at(Location(self.file, 1, 1), "expected one YAML document, found no document")
        return documents[0]

    def stream(self, text: str, one: bool = False) -> list[Any]:
        """Every document of a stream (with `one`, a second document is an error)."""
        self.loader = _BaseLoader(text)
        documents: list[Any] = []
        try:
            self.next(events.StreamStartEvent)
            while True:
                start = self.loader.get_event()
                if isinstance(start, events.StreamEndEvent):
                    return documents
                if one and documents:
                    raise self.fail(start, (), "expected one YAML document, found several")
                documents.append(self.node(self.loader.get_event(), (len(documents),) if not one else (), 0))
                self.next(events.DocumentEndEvent)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            index = getattr(mark, "index", -1) if mark else -1
            if "'\\t'" in problem or (0 <= index < len(text) and text[index] == "\t"):
                problem = "a tab character: YAML indents with spaces only"
            raise LoadError.at(Location(self.file, line, col), f"YAML syntax error: {problem}") from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow, before any parsing
            before = text[: exc.position]
            line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
            code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
            message = f"character U+{code:04X} is not allowed in YAML (control characters are not)"
            raise LoadError.at(Location(self.file, line, col), message) from None
        except yaml.YAMLError as exc:
            first = (str(exc).splitlines() or ["invalid YAML"])[0]
            raise LoadError.at(Location(self.file, 1, 1), f"YAML error: {shorten(first)}") from None
        finally:
            self.loader.dispose()

    def next(self, kind: type[events.Event]) -> None:
        event = self.loader.get_event()
        if not isinstance(event, kind):  # pragma: no cover - libyaml guarantees the stream shape
            raise self.fail(event, (), "unexpected YAML structure")

    def fail(self, event: events.Event, path: Path, message: str) -> LoadError:
        mark = event.start_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return LoadError([Diagnostic(Location(self.file, line, col, path), message)])

    def charge(self, event: events.Event, path: Path, nodes: int, size: int) -> None:
        self.nodes += nodes
        self.size += size
        if self.nodes > self.limits.max_nodes:
            raise self.fail(event, path, f"more than {self.limits.max_nodes} YAML nodes (aliases expanded)")
        if self.size > self.limits.max_bytes:
            raise self.fail(event, path, f"more than {self.limits.max_bytes} bytes of YAML text (aliases expanded)")

    def node(self, event: events.Event, path: Path, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise self.fail(event, path, f"nesting deeper than {self.limits.max_depth} levels")
        if isinstance(event, events.AliasEvent):
            return self.alias(event, path)
        anchor = event.anchor  # type: ignore[attr-defined]
        before = (self.nodes, self.size)
        if isinstance(event, events.ScalarEvent):
            value = self.scalar(event, path)
        elif isinstance(event, events.SequenceStartEvent):
            value = self.sequence(event, path, depth)
        elif isinstance(event, events.MappingStartEvent):
            value = self.mapping(event, path, depth)
        else:  # pragma: no cover - libyaml guarantees the stream shape
            raise self.fail(event, path, "unsupported YAML node")
        if anchor is not None:
            self.anchors[anchor] = _Anchor(value, self.nodes - before[0], self.size - before[1])
        return value

    def alias(self, event: events.AliasEvent, path: Path) -> Any:
        found = self.anchors.get(event.anchor or "")
        if found is None:  # pragma: no cover - libyaml reports unknown aliases itself
            raise self.fail(event, path, f"unknown alias {event.anchor!r}")
        self.alias_nodes += found.nodes
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise self.fail(event, path, f"alias expansion exceeds {self.limits.max_alias_nodes} nodes")
        self.charge(event, path, found.nodes, found.size)
        return copy.deepcopy(found.value) if isinstance(found.value, dict | list) else found.value

    def tagged(self, event: events.NodeEvent, path: Path) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ("!",) and not (isinstance(event, events.ScalarEvent) and tag == _MERGE):
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise self.fail(
                event, path, f"explicit YAML tag {shorten(shown)!r} is not allowed: write the value plainly"
            )

    def sequence(self, event: events.SequenceStartEvent, path: Path, depth: int) -> list[Any]:
        if event.tag is not None:
            self.tagged(event, path)
        self.charge(event, path, 1, _SIZE)
        items: list[Any] = []
        while True:
            item = self.loader.get_event()
            if isinstance(item, events.SequenceEndEvent):
                return items
            sub = (*path, len(items))
            if self.record:
                self.positions[sub] = (item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(self.node(item, sub, depth + 1))

    def mapping(self, event: events.MappingStartEvent, path: Path, depth: int) -> dict[str, Any]:
        if event.tag is not None:
            self.tagged(event, path)
        self.charge(event, path, 1, _SIZE)
        out: dict[str, Any] = {}
        merged: list[Any] = []
        merge_seen = False
        get_event = self.loader.get_event
        scalar_event = events.ScalarEvent
        leaf_ok = depth + 1 <= self.limits.max_depth
        while True:
            key_event = get_event()
            kind = type(key_event)
            if kind is scalar_event and key_event.tag is None and key_event.anchor is None and key_event.value != "<<":
                self.entry(key_event, path, depth, out, leaf_ok)  # the common case
                continue
            if kind is events.MappingEndEvent:
                break
            if (
                isinstance(key_event, events.ScalarEvent)
                and key_event.tag is None
                and key_event.implicit[0]
                and key_event.value == "<<"
            ):
                if merge_seen:
                    raise self.fail(key_event, (*path, "<<"), "duplicate key '<<': merge several maps as <<: [*a, *b]")
                merge_seen = True
                value_event = self.loader.get_event()
                merged.append((value_event, self.node(value_event, path, depth + 1)))
                continue
            key = self.key(key_event, path)
            sub = (*path, key)
            if key in out:
                raise self.fail(key_event, sub, f"duplicate key {shorten(key)!r}")
            if self.record:
                self.positions[sub] = (key_event.start_mark.line + 1, key_event.start_mark.column + 1)
            if self.keep is not None and path == self.keep.parent:
                self.heads.append((key_event.start_mark.line, key_event.value))
                if key not in self.keep.whole:
                    out[key] = self.partial(self.loader.get_event(), sub, depth + 1, self.keep.fields)
                    continue
            out[key] = self.node(self.loader.get_event(), sub, depth + 1)
        for source_event, source in merged:  # YAML merge keys: explicit keys win, earlier merges win
            for item in source if isinstance(source, list) else [source]:
                if not isinstance(item, dict):
                    raise self.fail(source_event, path, "merge key '<<' needs a mapping or a list of mappings")
                for key, value in item.items():
                    out.setdefault(key, value)
        return out

    def entry(self, key_event: events.ScalarEvent, path: Path, depth: int, out: dict[str, Any], leaf_ok: bool) -> None:
        """One `key: value` of a mapping whose key is an untagged scalar (the hot path of every load)."""
        text = key_event.value
        self.nodes += 1  # `charge`, inlined on the two hot paths
        self.size += _SIZE + len(text)
        if self.nodes > self.limits.max_nodes or self.size > self.limits.max_bytes:
            self.charge(key_event, path, 0, 0)
        if key_event.implicit[0]:
            try:
                key = _plain_key(text)
            except ValueError:
                message = f"{shorten(text, 40)!r} is not a valid number; quote it if it is text"
                raise self.fail(key_event, path, message) from None
        else:
            key = text
        sub = (*path, key)
        if key in out:
            raise self.fail(key_event, sub, f"duplicate key {shorten(key)!r}")
        mark = key_event.start_mark
        if self.record and mark is not None:
            self.positions[sub] = (mark.line + 1, mark.column + 1)
        keep = self.keep
        if keep is not None and path == keep.parent:
            self.heads.append((mark.line if mark is not None else -1, text))
            if key not in keep.whole:
                out[key] = self.partial(self.loader.get_event(), sub, depth + 1, keep.fields)
                return
        value_event = self.loader.get_event()
        if type(value_event) is events.ScalarEvent and value_event.anchor is None and leaf_ok:
            out[key] = self.scalar(value_event, sub)
        else:
            out[key] = self.node(value_event, sub, depth + 1)

    def partial(self, event: events.Event, path: Path, depth: int, fields: frozenset[str]) -> Any:
        """A mapping of which only `fields` are built (anything else is built whole)."""
        if not isinstance(event, events.MappingStartEvent) or event.anchor is not None or event.tag is not None:
            return self.node(event, path, depth)
        self.charge(event, path, 1, _SIZE)
        out: dict[str, Any] = {}
        get_event, scalar = self.loader.get_event, events.ScalarEvent
        while True:
            key_event = get_event()
            if type(key_event) is not scalar or key_event.anchor is not None:
                if isinstance(key_event, events.MappingEndEvent):
                    return out
                self.skip(key_event, path)
                self.skip(get_event(), path)
                continue
            key = key_event.value
            self.charge(key_event, path, 1, _SIZE + len(key))
            if key in fields:  # plain or quoted, `class` is `class`
                if key in out:
                    raise self.fail(key_event, (*path, key), f"duplicate key {key!r}")
                out[key] = self.node(get_event(), (*path, key), depth + 1)
                continue
            value = get_event()
            if type(value) is scalar and value.anchor is None:
                self.charge(value, path, 1, _SIZE + len(value.value))
            else:
                self.skip(value, path)

    def skip(self, event: events.Event, path: Path) -> None:
        """Consume one value's events unbuilt, charging them to the limits like built ones."""
        depth = 0
        while True:
            if not isinstance(event, events.AliasEvent) and getattr(event, "anchor", None) is not None:
                raise _AnchorSkipped  # a later alias may need it: parse the document whole
            if isinstance(event, events.ScalarEvent):
                self.charge(event, path, 1, _SIZE + len(event.value))
            elif isinstance(event, events.AliasEvent):
                found = self.anchors.get(event.anchor or "")
                if found is None:
                    raise _AnchorSkipped
                self.alias_nodes += found.nodes
                if self.alias_nodes > self.limits.max_alias_nodes:
                    raise self.fail(event, path, f"alias expansion exceeds {self.limits.max_alias_nodes} nodes")
                self.charge(event, path, found.nodes, found.size)
            elif isinstance(event, events.CollectionStartEvent):
                depth += 1
                if len(path) + depth > self.limits.max_depth:
                    raise self.fail(event, path, f"nesting deeper than {self.limits.max_depth} levels")
                self.charge(event, path, 1, _SIZE)
            elif isinstance(event, events.CollectionEndEvent):
                depth -= 1
            if depth == 0:
                return
            event = self.loader.get_event()

    def key(self, event: events.Event, path: Path) -> str:
        if not isinstance(event, events.ScalarEvent):
            raise self.fail(event, path, "mapping keys must be plain scalars")
        value = self.scalar(event, path)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            # `on:`/`yes:`/`null:` keys are YAML 1.1 traps; keep the text the author wrote.
            return str(event.value)
        return str(value)

    def scalar(self, event: events.ScalarEvent, path: Path) -> Any:
        text = event.value
        self.nodes += 1
        self.size += _SIZE + len(text)
        if self.nodes > self.limits.max_nodes or self.size > self.limits.max_bytes:
            self.charge(event, path, 0, 0)
        if event.tag is not None:
            self.tagged(event, path)
            return text  # the non-specific tag `!`: a string
        if not event.implicit[0]:  # quoted or block scalar: a string
            return text
        try:
            return plain_value(text)
        except ValueError:
            raise self.fail(
                event, path, f"{shorten(text, 40)!r} is not a valid number; quote it if it is text"
            ) from None
