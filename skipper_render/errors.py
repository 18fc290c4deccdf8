"""Errors and findings: every message says where (file, line, column, path).

One base error, `SkipperError`, carries one or more `Diagnostic`s so a stage can report every
problem it found at once. Warnings are plain `Diagnostic`s with severity "warning" that travel in
the render result; they never abort a render unless the request is strict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple, Protocol

Severity = Literal["error", "warning"]
PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Path) -> str:
    """`('capabilities', 'shipyard', 'exposes', 0)` -> `capabilities.shipyard.exposes[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part
        if not name.isprintable() or len(name) > 60:  # a key with a newline must not break the line
            name = repr(name[:57] + "..." if len(name) > 60 else name)
        out += f".{name}" if out else name
    return out


class Location(NamedTuple):
    """Where a finding points: a file relative to the fleet root, 1-based line/col, and a data path."""

    file: str = ""
    line: int = 0
    col: int = 0
    path: Path = ()

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}:{self.col}"
        return where


class Locator(Protocol):
    """Anything that can place a data path in a file: a parsed document, an overlay's source map."""

    def loc(self, path: Path) -> Location: ...


class Lazy(NamedTuple):
    """A location not looked up yet: positions cost a second parse, so only messages pay for them."""

    source: Locator
    path: Path

    def resolve(self) -> Location:
        return self.source.loc(self.path)

    def __str__(self) -> str:
        return str(self.resolve())


Where = Location | Lazy


def resolve_where(where: Where) -> Location:
    return where.resolve() if isinstance(where, Lazy) else where


def shorten(text: str, limit: int = 80) -> str:
    """A value quoted in a message: long values are cut (messages stay readable, and short)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Diagnostic(NamedTuple):
    location: Location
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        path = format_path(self.location.path)
        prefix = f"{self.location}: {path}: " if path else f"{self.location}: "
        tag = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{tag}{self.message}"


class SkipperError(Exception):
    """A render or validation failure; `diagnostics` holds every error found, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic] = ()) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics))
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)

    @classmethod
    def at(cls, where: Where, message: str) -> SkipperError:
        return cls([Diagnostic(resolve_where(where), message)])


class LoadError(SkipperError):
    """A file could not be read or parsed (YAML syntax, limits, duplicate keys, path escape)."""


class ValidationError(SkipperError):
    """The inputs parsed but do not describe a fleet the renderer can render."""


class Collector:
    """Gathers diagnostics across a stage so all errors are reported together."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, where: Where, message: str) -> None:
        self.items.append(Diagnostic(resolve_where(where), message, "error"))

    def warn(self, where: Where, message: str) -> None:
        self.items.append(Diagnostic(resolve_where(where), message, "warning"))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_errors(self, kind: type[SkipperError] = ValidationError) -> None:
        if self.errors:  # a problem seen by two generators is reported once
            raise kind(sorted(set(self.errors)))
