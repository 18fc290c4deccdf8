"""Who may reach a capability, on which ports: the one table every policy layer is rendered from.

Declared paths into a capability (SPEC 2.4, 4.1):
- its callers (capabilities whose `calls:` name it, unless absent) -> its business ports;
- the MCP gateway -> its MCP ports;
- the ingress controller -> its public exposes, and its `rest` exposes when the REST gateway
  routes them;
- anyone (probes, Prometheus; no mesh identity) -> its `control` port.
NetworkPolicy, Istio AuthorizationPolicy, Linkerd Server policies and Consul intentions are all
rendered from these grants; `wiring.reachability` checks the rendered policies admit exactly them.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from skipper_render import names
from skipper_render.generators.base import Context
from skipper_render.model.ikanos import Port
from skipper_render.resolve import ResolvedCapability, ResolvedFleet

PeerKind = Literal["capability", "mcp-gateway", "ingress", "anyone"]
DEFAULT_INGRESS_NAMESPACE = "ingress-nginx"  # ingress-nginx's own default
DEFAULT_INGRESS_IDENTITY = "ingress-nginx"  # its ServiceAccount (and, under Consul, its service name)


class Peer(NamedTuple):
    """A client: its mesh identity (ServiceAccount or, for Consul, service name) and pod labels."""

    kind: PeerKind
    name: str  # capability name, gateway name, ingress ServiceAccount; "" for anyone
    namespace: str  # where its pods run ("" for anyone)
    labels: tuple[tuple[str, str], ...] = ()  # labels of its pods (NetworkPolicy podSelector)


class Grant(NamedTuple):
    peer: Peer
    ports: tuple[Port, ...]


class IngressSource(NamedTuple):
    """The ingress controller as the policies see it."""

    namespace: str
    identity: str | None  # its ServiceAccount; None: admit its namespace (Istio, Linkerd)
    consul: str  # its Consul service name (intention source)


def ingress_source(fleet: ResolvedFleet) -> IngressSource | None:
    """Where the ingress controller runs and who it is, or None without `routing.ingress`."""
    ingress = fleet.spec.routing.ingress
    if ingress is None:
        return None
    gateway = ingress.gateway
    if ingress.controllerNamespace:
        namespace = ingress.controllerNamespace
    elif ingress.api == "gateway":  # a Gateway without a namespace lives beside its routes
        namespace = (gateway.namespace if gateway else None) or fleet.namespace
    else:
        namespace = DEFAULT_INGRESS_NAMESPACE
    if ingress.api == "gateway" and gateway is not None:
        consul = ingress.serviceAccount or gateway.name  # a Consul API gateway registers as its Gateway
    else:
        consul = ingress.serviceAccount or DEFAULT_INGRESS_IDENTITY
    return IngressSource(namespace, ingress.serviceAccount, consul)


def mcp_gateway_peer(fleet: ResolvedFleet) -> Peer | None:
    settings = fleet.spec.routing.mcpGateway
    if settings is None or not settings.enabled:
        return None
    name = names.mcp_gateway(fleet)
    return Peer("mcp-gateway", name, fleet.namespace, (("app.kubernetes.io/instance", name),))


def grants(cap: ResolvedCapability, ctx: Context) -> list[Grant]:
    """Every declared path into `cap`, by peer."""
    fleet = ctx.fleet
    ports = names.ports(cap)
    business = tuple(p for p in ports if p.expose.type != "control")
    out: list[Grant] = []
    for caller in sorted(fleet.callers.get(cap.name, ())):
        peer = Peer("capability", caller, cap.namespace, ((names.CAPABILITY, caller),))
        if business:
            out.append(Grant(peer, business))
    gateway = mcp_gateway_peer(fleet)
    mcp = tuple(p for p in business if p.expose.type == "mcp")
    if gateway is not None and mcp:
        out.append(Grant(gateway, mcp))
    source = ingress_source(fleet)
    public = tuple(names.ingress_ports(cap, fleet))
    if source is not None and public:
        out.append(Grant(Peer("ingress", source.identity or "", source.namespace), public))
    control = tuple(p for p in ports if p.expose.type == "control")
    if control:
        out.append(Grant(Peer("anyone", "", ""), control))
    return out
