"""Errors and findings: every message says where (file, line, column, path).

One base error, `SkipperError`, carries one or more `Diagnostic`s so a stage can report every
problem it found at once. Warnings are plain `Diagnostic`s with severity "warning" that travel in
the render result; they never abort a render unless the request is strict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]
PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Path) -> str:
    """`('capabilities', 'shipyard', 'exposes', 0)` -> `capabilities.shipyard.exposes[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
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
    def at(cls, location: Location, message: str) -> SkipperError:
        return cls([Diagnostic(location, message)])


class LoadError(SkipperError):
    """A file could not be read or parsed (YAML syntax, limits, duplicate keys, path escape)."""


class ValidationError(SkipperError):
    """The inputs parsed but do not describe a fleet the renderer can render."""


class Collector:
    """Gathers diagnostics across a stage so all errors are reported together."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, message, "error"))

    def warn(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, message, "warning"))

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
