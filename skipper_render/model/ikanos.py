"""The renderer's view of an ikanos (or older naftiko) capability spec, both dialects normalised.

Only what rendering needs is modelled; the spec itself is passed to the engine verbatim.
`naftiko:` 0.4 ... 1.0.0-alpha2 use arrays with `name:`, `info.label` and imports by `location`;
`ikanos:` 1.0.0-alpha3 ... 1.0.0-beta5 use maps keyed by name, `info.display` and imports by `from`.
"""

from __future__ import annotations

import hashlib
from typing import Literal, NamedTuple

from skipper_render.errors import Where

Dialect = Literal["ikanos", "naftiko"]
ExposeType = Literal["rest", "mcp", "skill", "control"]
EXPOSE_TYPES: tuple[ExposeType, ...] = ("rest", "mcp", "skill", "control")

IKANOS_VERSIONS = (
    "1.0.0-alpha3",
    "1.0.0-alpha4",
    "1.0.0-beta1",
    "1.0.0-beta2",
    "1.0.0-beta3",
    "1.0.0-beta4",
    "1.0.0-beta5",
)
NAFTIKO_VERSIONS = ("0.4", "0.5", "1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-alpha3")


class SpecFile(NamedTuple):
    """A file of the capability bundle: the spec or one of its imports, as read from disk."""

    path: str  # fleet-relative
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


class Expose(NamedTuple):
    type: ExposeType
    namespace: str | None
    port: int | None
    address: str | None
    transport: Literal["http", "stdio"]
    tools: tuple[str, ...]
    resource_paths: tuple[str, ...]
    auth: str | None
    where: Where
    tags: tuple[str, ...] = ()
    lifecycle: str | None = None
    token_ref: str | None = None  # bearer auth: the bind variable in `token: "{{VAR}}"`
    sampling: float | None = None  # control expose: observability.traces.sampling
    propagation: str | None = None  # control expose: observability.traces.propagation


class Consume(NamedTuple):
    namespace: str
    base_uri: str | None
    where: Where


class Bind(NamedTuple):
    namespace: str
    location: str | None
    keys: tuple[tuple[str, str], ...]
    where: Where


class Import(NamedTuple):
    section: str  # consumes | exposes | aggregates | binds
    name: str  # the `import` namespace
    alias: str | None
    file: str  # fleet-relative path of the imported file
    mount: str  # path relative to the spec's directory, as the engine resolves it under /data
    where: Where


class Port(NamedTuple):
    """A container port of the engine: named `control`, else after the expose type, then
    `{type}-2`, `{type}-3` (every generator and check names ports through this)."""

    name: str
    number: int
    expose: Expose


def port_names(exposes: tuple[Expose, ...]) -> tuple[Port, ...]:
    """One named port per non-stdio expose, in the spec's order."""
    out: list[Port] = []
    seen: dict[str, int] = {}
    for expose in exposes:
        if expose.port is None:
            continue
        seen[expose.type] = seen.get(expose.type, 0) + 1
        count = seen[expose.type]
        out.append(Port(expose.type if count == 1 else f"{expose.type}-{count}", expose.port, expose))
    return tuple(out)


class CapabilitySpec(NamedTuple):
    dialect: Dialect
    version: str
    display: str | None
    description: str | None
    labels: dict[str, str]
    exposes: tuple[Expose, ...]
    consumes: tuple[Consume, ...]
    binds: tuple[Bind, ...]
    imports: tuple[Import, ...]
    files: tuple[SpecFile, ...] = ()
    ports: tuple[Port, ...] = ()  # port_names(exposes), named once per spec

    @property
    def main(self) -> SpecFile:
        return self.files[0]

    @property
    def digest(self) -> str:
        """Content digest of the bundle: sha256 over sorted `path<TAB>sha256` lines."""
        root = self.main.path.rsplit("/", 1)[0] + "/" if "/" in self.main.path else ""
        lines = sorted(f"{f.path.removeprefix(root)}\t{f.digest}\n" for f in self.files)
        return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()

    @property
    def control(self) -> Expose | None:
        return next((e for e in self.exposes if e.type == "control"), None)
