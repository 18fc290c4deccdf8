"""Generator families, in one ordered registry. Each is pure: resolved input -> plain dicts."""

from __future__ import annotations

from skipper_render.generators import (
    config,
    dashboard,
    ingress,
    mcp_gateway,
    mesh,
    monitoring,
    namespace,
    observability,
    operator,
    rest_gateway,
    scaling,
    secrets,
    security,
    warden,
    workload,
)
from skipper_render.generators.base import Context, Family, Obj
from skipper_render.resolve import Target

KUBERNETES: frozenset[Target] = frozenset({"kubernetes"})
OPERATOR: frozenset[Target] = frozenset({"operator"})
BOTH: frozenset[Target] = KUBERNETES | OPERATOR

FAMILIES: tuple[Family, ...] = (
    Family("namespace", BOTH, fleet=namespace.generate),
    Family("config", BOTH, per_capability=config.generate),
    Family("workload", KUBERNETES, per_capability=workload.generate),
    Family("scaling", KUBERNETES, per_capability=scaling.generate),
    Family("ingress", KUBERNETES, per_capability=ingress.generate),
    Family("secrets", BOTH, per_capability=secrets.capability, fleet=secrets.fleet),
    Family("security", KUBERNETES, per_capability=security.generate),
    Family("warden", KUBERNETES, per_capability=warden.capability_configmap),
    Family("mesh", KUBERNETES, per_capability=mesh.generate),
    Family("monitoring", KUBERNETES, per_capability=monitoring.generate),
    Family("observability", KUBERNETES, per_capability=observability.alert_rules, fleet=observability.fleet_objects),
    Family("dashboard", KUBERNETES, fleet=dashboard.dashboard),
    Family("mcp-gateway", BOTH, fleet=mcp_gateway.generate),
    Family("rest-gateway", BOTH, fleet=rest_gateway.generate),
    Family("operator", OPERATOR, per_capability=operator.capability, fleet=operator.classes),
)

__all__ = ["FAMILIES", "Context", "Family", "Obj"]
