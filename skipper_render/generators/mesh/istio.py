"""Istio: DestinationRule (resilience, locality failover), VirtualService (per-port routes: retries
and a timeout for REST, neither for MCP; the routes a canary weights), PeerAuthentication (STRICT
mTLS, PERMISSIVE on `control`) and one ALLOW AuthorizationPolicy holding exactly the grants.

Istio applies a VirtualService without `gateways` to sidecar (mesh) traffic only; north-south
traffic of a public canary is split on its Gateway API route instead (see rollout.py).
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators import access, warden
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, host, resilient, retries
from skipper_render.generators.rollout import canary_service, routers
from skipper_render.resolve import ResolvedCapability

NET = "networking.istio.io/v1"
SEC = "security.istio.io/v1"
RETRY_ON = "5xx,reset,connect-failure,retriable-status-codes"


def principal(namespace: str, account: str) -> str:
    return f"cluster.local/ns/{namespace}/sa/{account}"


def _source(grant: access.Grant) -> dict[str, Any] | None:
    """An AuthorizationPolicy `from` source for a grant's peer (None: any source)."""
    peer = grant.peer
    if peer.kind == "anyone":
        return None
    if peer.kind == "ingress" and not peer.name:
        return {"namespaces": [peer.namespace]}  # no ServiceAccount given: its namespace
    return {"principals": [principal(peer.namespace, peer.name)]}


def _rules(cap: ResolvedCapability, ctx: Context) -> list[dict[str, Any]]:
    """One ALLOW rule per grant; no rule at all denies everything."""
    rules = []
    for grant in access.grants(cap, ctx):
        to = [{"operation": {"ports": [str(p.number) for p in grant.ports]}}]
        source = _source(grant)
        rules.append({"from": [{"source": source}], "to": to} if source else {"to": to})
    return rules


def route_names(cap: ResolvedCapability) -> list[str]:
    """The VirtualService's routes, one per served port (Argo Rollouts weights every one of them)."""
    return [p.name for p in names.ports(cap) if p.expose.type != "control"]


def _routes(cap: ResolvedCapability, ctx: Context) -> list[dict[str, Any]]:
    canary = "istio" in routers(cap, ctx)
    out = []
    for port in (p for p in names.ports(cap) if p.expose.type != "control"):
        destination = {"host": host(cap), "port": {"number": port.number}}
        route: dict[str, Any] = {"name": port.name, "match": [{"port": port.number}]}
        if canary:  # Argo Rollouts moves these weights
            canary_destination = {"host": host(cap, canary_service(cap)), "port": {"number": port.number}}
            route["route"] = [
                {"destination": destination, "weight": 100},
                {"destination": canary_destination, "weight": 0},
            ]
        else:
            route["route"] = [{"destination": destination}]
        if resilient(port):
            route["timeout"] = REQUEST_TIMEOUT
            if retries(cap):
                route["retries"] = {"attempts": retries(cap), "perTryTimeout": "10s", "retryOn": RETRY_ON}
        else:  # Istio retries by default: switch it off for tool calls
            route["retries"] = {"attempts": 0}
        out.append(route)
    return out


def _failover(ctx: Context) -> list[dict[str, str]]:
    """Istio locality failover from the environment's primary regions to its standby regions."""
    primaries = [c.region for c in ctx.fleet.clusters if c.role == "primary" and c.region]
    standbys = [c.region for c in ctx.fleet.standbys if c.region]
    return [{"from": p, "to": s} for p in primaries for s in standbys if p != s]


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    resilience = cap.klass.resilience
    meta = names.metadata(cap.name, cap, ctx.fleet)
    policy: dict[str, Any] = {"tls": {"mode": "ISTIO_MUTUAL"}}
    if resilience and resilience.bulkhead and resilience.bulkhead.maxConcurrentCalls:
        limit = resilience.bulkhead.maxConcurrentCalls
        policy["connectionPool"] = {"http": {"http2MaxRequests": limit, "http1MaxPendingRequests": limit}}
    found = ejection(cap.klass)
    regions = _failover(ctx)
    if found is None and regions:  # locality failover only works with outlier detection
        found = (5, "30s")
    if found is not None:
        failures, ejected = found
        policy["outlierDetection"] = {
            "consecutive5xxErrors": failures,
            "interval": "10s",
            "baseEjectionTime": ejected,
            "maxEjectionPercent": 100,
        }
    if regions:
        policy["loadBalancer"] = {"localityLbSetting": {"enabled": True, "failover": regions}}
    selector = {"matchLabels": names.selector(cap)}
    control = names.control_port(cap)
    peer: dict[str, Any] = {"selector": selector, "mtls": {"mode": "STRICT"}}
    if control is not None:  # probes and Prometheus reach the control port without mesh identity
        peer["portLevelMtls"] = {str(control.number): {"mode": "PERMISSIVE"}}
    objects: list[Obj] = [
        {
            "apiVersion": NET,
            "kind": "DestinationRule",
            "metadata": meta,
            "spec": {"host": host(cap), "trafficPolicy": policy},
        },
    ]
    routes = _routes(cap, ctx)
    if routes:
        objects.append(
            {
                "apiVersion": NET,
                "kind": "VirtualService",
                "metadata": meta,
                "spec": {"hosts": [host(cap)], "http": routes},
            }
        )
    served = [str(p.number) for p in names.served_ports(cap)]
    if warden.enforces_capabilities(ctx) and served:  # the OPA sidecar decides on every request
        custom = {
            "selector": selector,
            "action": "CUSTOM",
            "provider": {"name": warden.PROVIDER},
            "rules": [{"to": [{"operation": {"ports": served}}]}],  # a CUSTOM policy without rules never applies
        }
        warden_meta = names.metadata(f"{cap.name}-warden", cap, ctx.fleet)
        objects.append({"apiVersion": SEC, "kind": "AuthorizationPolicy", "metadata": warden_meta, "spec": custom})
    objects += [
        {"apiVersion": SEC, "kind": "PeerAuthentication", "metadata": meta, "spec": peer},
        {
            "apiVersion": SEC,
            "kind": "AuthorizationPolicy",
            "metadata": meta,
            "spec": {"selector": selector, "action": "ALLOW", "rules": _rules(cap, ctx)},
        },
    ]
    return objects
