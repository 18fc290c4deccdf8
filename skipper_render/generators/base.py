"""What every generator family shares: the render context and the generator signatures."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
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
        """Whether the cluster serves `kind` (explicit input, as Argo CD's KUBE_API_VERSIONS, which
        lists `group/version` and `group/version/Kind`; a hand-written list of group/versions only
        serves every kind of those)."""
        served = self.api_versions
        if served is None or f"{api_version}/{kind}" in served:
            return True
        return api_version in served and api_version not in _with_kinds(served)


@lru_cache(maxsize=8)
def _with_kinds(served: frozenset[str]) -> frozenset[str]:
    """The group/versions a served list names kinds of (`apps/v1/Deployment` -> `apps/v1`)."""
    return frozenset(v.rpartition("/")[0] for v in served if v.rpartition("/")[2][:1].isupper())


CapabilityGenerator = Callable[[ResolvedCapability, Context], list[Obj]]
FleetGenerator = Callable[[Context], list[Obj]]


class Family(NamedTuple):
    """One generator family: objects per capability and/or fleet-level objects, for some targets."""

    name: str
    targets: frozenset[Target]
    per_capability: CapabilityGenerator | None = None
    fleet: FleetGenerator | None = None
