"""What every generator family shares: the render context and the generator signatures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from skipper_render.errors import Collector
from skipper_render.resolve import ResolvedCapability, ResolvedFleet, Target

Obj = dict[str, Any]


class Context(NamedTuple):
    """Everything a generator may depend on; generators read nothing else (no env, clock, files)."""

    fleet: ResolvedFleet
    target: Target
    diags: Collector
    api_versions: frozenset[str] | None = None  # None: assume every kind is served

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the cluster serves `kind` (explicit input, as Argo CD's KUBE_API_VERSIONS)."""
        return self.api_versions is None or f"{api_version}/{kind}" in self.api_versions


CapabilityGenerator = Callable[[ResolvedCapability, Context], list[Obj]]
FleetGenerator = Callable[[Context], list[Obj]]


class Family(NamedTuple):
    """One generator family: objects per capability and/or fleet-level objects, for some targets."""

    name: str
    targets: frozenset[Target]
    per_capability: CapabilityGenerator | None = None
    fleet: FleetGenerator | None = None
