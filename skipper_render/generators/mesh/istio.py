"""Istio: DestinationRule (resilience, locality failover), VirtualService (retries; the canary's
`primary` route), PeerAuthentication (STRICT mTLS) and one AuthorizationPolicy per capability."""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, gateway_accounts, host, retries
from skipper_render.generators.rollout import canary_service, traffic_router
from skipper_render.resolve import ResolvedCapability

NET = "networking.istio.io/v1"
SEC = "security.istio.io/v1"
RETRY_ON = "5xx,reset,connect-failure,retriable-status-codes"


def _principal(namespace: str, account: str) -> str:
    return f"cluster.local/ns/{namespace}/sa/{account}"


def _allow(namespace: str, accounts: set[str], ports: list[int]) -> list[dict[str, Any]]:
    """One ALLOW rule: these service accounts, to these ports."""
    if not accounts or not ports:
        return []
    principals = sorted(_principal(namespace, a) for a in accounts)
    return [
        {"from": [{"source": {"principals": principals}}], "to": [{"operation": {"ports": [str(p) for p in ports]}}]}
    ]


def _failover(ctx: Context) -> list[dict[str, str]]:
    """Istio locality failover from the environment's primary regions to its standby regions."""
    primaries = [c.region for c in ctx.fleet.clusters if c.role == "primary" and c.region]
    standbys = [c.region for c in ctx.fleet.standbys if c.region]
    return [{"from": p, "to": s} for p in primaries for s in standbys if p != s]


def generate(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    resilience = cap.klass.resilience
    meta = names.metadata(cap.name, cap, ctx.fleet)
    policy: dict[str, Any] = {"tls": {"mode": "ISTIO_MUTUAL"}}
    if resilience and resilience.bulkhead and resilience.bulkhead.maxConcurrentCalls:
        limit = resilience.bulkhead.maxConcurrentCalls
        policy["connectionPool"] = {"http": {"http2MaxRequests": limit, "http1MaxPendingRequests": limit}}
    found = ejection(cap.klass)
    if found is not None:
        failures, ejected = found
        policy["outlierDetection"] = {
            "consecutive5xxErrors": failures,
            "interval": "10s",
            "baseEjectionTime": ejected,
            "maxEjectionPercent": 100,
        }
    regions = _failover(ctx)
    if regions:
        policy["loadBalancer"] = {"localityLbSetting": {"enabled": True, "failover": regions}}
    route: dict[str, Any] = {"route": [{"destination": {"host": host(cap)}}]}
    if traffic_router(cap, ctx) == "istio":  # Argo Rollouts moves the weights of route `primary`
        destinations = [
            {"destination": {"host": host(cap)}, "weight": 100},
            {"destination": {"host": host(cap, canary_service(cap))}, "weight": 0},
        ]
        route = {"name": "primary", "route": destinations}
    route["timeout"] = REQUEST_TIMEOUT
    if retries(cap):
        route["retries"] = {"attempts": retries(cap), "perTryTimeout": "10s", "retryOn": RETRY_ON}
    selector = {"matchLabels": names.selector(cap)}
    control = names.control_port(cap)
    peer: dict[str, Any] = {"selector": selector, "mtls": {"mode": "STRICT"}}
    gateways = set(gateway_accounts(ctx))
    business = [p.number for p in names.ports(cap) if p.expose.type != "control"]
    mcp = [p.number for p in names.ports(cap) if p.expose.type == "mcp"]
    rules = _allow(cap.namespace, allowed - gateways, business) + _allow(cap.namespace, allowed & gateways, mcp)
    public = names.ingress_ports(cap, ctx.fleet)
    namespace = names.ingress_namespace(cap, ctx.fleet)
    if public and namespace is not None:
        rules.append(
            {
                "from": [{"source": {"namespaces": [namespace]}}],
                "to": [{"operation": {"ports": sorted(str(p.number) for p in public)}}],
            }
        )
    if control is not None:  # probes and Prometheus scrape the control port without mesh identity
        peer["portLevelMtls"] = {str(control.number): {"mode": "PERMISSIVE"}}
        rules.append({"to": [{"operation": {"ports": [str(control.number)]}}]})
    return [
        {
            "apiVersion": NET,
            "kind": "DestinationRule",
            "metadata": meta,
            "spec": {"host": host(cap), "trafficPolicy": policy},
        },
        {
            "apiVersion": NET,
            "kind": "VirtualService",
            "metadata": meta,
            "spec": {"hosts": [host(cap)], "http": [route]},
        },
        {"apiVersion": SEC, "kind": "PeerAuthentication", "metadata": meta, "spec": peer},
        {
            "apiVersion": SEC,
            "kind": "AuthorizationPolicy",
            "metadata": meta,
            "spec": {"selector": selector, "action": "ALLOW", "rules": rules},  # no rules: deny all
        },
    ]
