"""Names, labels and ports, following the Skipper operator's conventions in one place."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from skipper_render.model.common import dns_part
from skipper_render.model.ikanos import Port
from skipper_render.resolve import ResolvedCapability, ResolvedFleet

MANAGED_BY = "skipper-render"
CAPABILITY = "naftiko.io/capability"
TIER = "naftiko.io/tier"
ENVIRONMENT = "naftiko.io/environment"
CLUSTER = "naftiko.io/cluster"  # only when rendering one cluster of a multi-cluster environment
TRAFFIC = "naftiko.io/traffic"  # on the canary and preview Services: scrape and mesh registration skip them
SPEC_DIGEST = "naftiko.io/spec-digest"
CONTAINER = "ikanos"
SPEC_KEY = "capability.yaml"
SPEC_MOUNT = "/data/capability.yaml"
ENGINE_WORKDIR = "/app"
# Restricted Pod Security for every container we render (engine, gateway, Warden sidecar).
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
_UNSAFE_KEY = re.compile(r"[^-._a-zA-Z0-9]+")


def spec_configmap(cap: str) -> str:
    return f"{cap}-spec"


def import_configmap(cap: str, name: str) -> str:
    """`{cap}-import-{import}`; a real import name may hold spaces or capitals (made DNS-safe)."""
    return short(f"{cap}-import-{dns_part(name)}", 253)


def configmap_key(file_name: str) -> str:
    """A file name as a ConfigMap key (`[-._a-zA-Z0-9]+`); the mount keeps the real name."""
    return _UNSAFE_KEY.sub("-", file_name)


def bind_secret(cap: str, part: str) -> str:
    """`{cap}-bind-{part}`: the part (a bind dir or namespace) made DNS-safe."""
    return f"{cap}-bind-{dns_part(part)}"


def version_label(version: str) -> str:
    """Label values cannot hold ':'; a digest becomes `sha256-<12 hex>`."""
    return f"sha256-{version[7:19]}" if version.startswith("sha256:") else version[:63]


def selector(cap: ResolvedCapability) -> dict[str, str]:
    """The pod selector: one label that never changes across renders."""
    return {CAPABILITY: cap.name}


def labels(cap: ResolvedCapability, fleet: ResolvedFleet) -> dict[str, str]:
    """User labels first; the standard labels win so selectors and tooling can rely on them."""
    per_cluster = {CLUSTER: fleet.cluster.name} if fleet.cluster is not None else {}
    return {
        **cap.labels,
        **per_cluster,
        "app.kubernetes.io/name": cap.name,
        "app.kubernetes.io/instance": cap.name,
        "app.kubernetes.io/part-of": fleet.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": version_label(cap.version),
        CAPABILITY: cap.name,
        TIER: cap.class_name,
        ENVIRONMENT: fleet.environment,
    }


def short(name: str, limit: int = 63) -> str:
    """`name`, or a stable shortening (`<prefix>-<8 hex of sha256>`) when it exceeds `limit`."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def mcp_gateway(fleet: ResolvedFleet) -> str:
    """The MCP gateway's name: its Deployment, Service (a DNS-1035 label, <= 63) and account."""
    return short(f"{fleet.name}-mcp-gateway")


def fleet_labels(fleet: ResolvedFleet, component: str) -> dict[str, str]:
    """Fleet-level objects (gateways, dashboards, rules): no capability, tier or engine version."""
    per_cluster = {CLUSTER: fleet.cluster.name} if fleet.cluster is not None else {}
    return {
        **per_cluster,
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": short(f"{fleet.name}-{component}"),
        "app.kubernetes.io/part-of": fleet.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        ENVIRONMENT: fleet.environment,
    }


def fleet_meta(fleet: ResolvedFleet, name: str, component: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Metadata of a fleet-level object in the fleet's namespace."""
    return {"name": name, "namespace": fleet.namespace, "labels": {**fleet_labels(fleet, component), **(labels or {})}}


def metadata(
    name: str, cap: ResolvedCapability, fleet: ResolvedFleet, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    out = {"name": name, "namespace": cap.namespace, "labels": labels(cap, fleet)}
    if annotations:  # an absent map is not written (pruning would drop it anyway)
        out["annotations"] = annotations
    return out


def ports(cap: ResolvedCapability) -> tuple[Port, ...]:
    """One named port per non-stdio expose: `control`, else the type, then `{type}-2`, `{type}-3`
    (`model.ikanos.port_names`, computed once when the spec is read)."""
    return cap.spec.ports


def served_ports(cap: ResolvedCapability) -> list[Port]:
    """The business ports: every port but `control`."""
    return [p for p in ports(cap) if p.expose.type != "control"]


def control_port(cap: ResolvedCapability) -> Port | None:
    return next((p for p in ports(cap) if p.expose.type == "control"), None)


def ingress_ports(cap: ResolvedCapability, fleet: ResolvedFleet) -> list[Port]:
    """Ports the fleet's ingress reaches: exposes marked public, and `rest` exposes the REST gateway routes."""
    rest = fleet.spec.routing.restGateway
    routed = rest is not None and rest.enabled
    return [p for p in served_ports(cap) if cap.is_public(p.expose.namespace) or (routed and p.expose.type == "rest")]
