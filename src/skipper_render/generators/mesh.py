"""Service mesh integration, selected by `routing.mesh` (istio | linkerd | consul).

From the class's resilience: retries (retry.maxAttempts - 1 re-tries, Resilience4j counts the first
call), connection limits (bulkhead) and ejection (circuit breaker). Authorization allows only the
declared callers (`calls:` and consumes whose baseUri is another capability's Service), the fleet
gateways, the ingress for public exposes, and anyone on the `control` port (probes, Prometheus).
Workload identity is the per-capability ServiceAccount `{cap}`.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.rollout import CANARY_SUBSET, STABLE_SUBSET, canary_service, traffic_router
from skipper_render.resolve import ResolvedCapability

ISTIO_NET = "networking.istio.io/v1"
ISTIO_SEC = "security.istio.io/v1"
LINKERD = "policy.linkerd.io/v1beta3"
LINKERD_AUTH = "policy.linkerd.io/v1alpha1"
CONSUL = "consul.hashicorp.com/v1alpha1"
RETRY_ON = "5xx,reset,connect-failure,retriable-status-codes"


def gateway_accounts(ctx: Context) -> list[str]:
    routing = ctx.fleet.spec.routing
    return [names.mcp_gateway(ctx.fleet)] if routing.mcpGateway and routing.mcpGateway.enabled else []


def pod_metadata(ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) a meshed pod template needs."""
    mesh = ctx.fleet.spec.routing.mesh
    if mesh == "istio":
        return {"sidecar.istio.io/inject": "true"}, {}
    if mesh == "linkerd":
        return {}, {"linkerd.io/inject": "enabled"}
    if mesh == "consul":
        return {}, {"consul.hashicorp.com/connect-inject": "true", "consul.hashicorp.com/transparent-proxy": "true"}
    return {}, {}


def _host(cap: ResolvedCapability) -> str:
    return f"{cap.name}.{cap.namespace}.svc.cluster.local"


def _principal(namespace: str, account: str) -> str:
    return f"cluster.local/ns/{namespace}/sa/{account}"


def _retries(cap: ResolvedCapability) -> int:
    retry = cap.klass.resilience.retry if cap.klass.resilience else None
    return max((retry.maxAttempts or 1) - 1, 0) if retry else 0


def _allow(namespace: str, accounts: set[str], ports: list[int]) -> list[dict[str, Any]]:
    """One ALLOW rule: these service accounts, to these ports."""
    if not accounts or not ports:
        return []
    principals = sorted(_principal(namespace, a) for a in accounts)
    return [
        {"from": [{"source": {"principals": principals}}], "to": [{"operation": {"ports": [str(p) for p in ports]}}]}
    ]


def istio(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    resilience = cap.klass.resilience
    meta = names.metadata(cap.name, cap, ctx.fleet)
    policy: dict[str, Any] = {"tls": {"mode": "ISTIO_MUTUAL"}}
    if resilience and resilience.bulkhead and resilience.bulkhead.maxConcurrentCalls:
        limit = resilience.bulkhead.maxConcurrentCalls
        policy["connectionPool"] = {"http": {"http2MaxRequests": limit, "http1MaxPendingRequests": limit}}
    breaker = resilience.circuitBreaker if resilience else None
    if breaker is not None:
        errors = max(1, round((breaker.slidingWindowSize or 10) * (breaker.failureRateThreshold or 50) / 100))
        policy["outlierDetection"] = {
            "consecutive5xxErrors": errors,
            "interval": "10s",
            "baseEjectionTime": breaker.waitDurationInOpenState or "30s",
            "maxEjectionPercent": 100,
        }
    regions = _failover(ctx)
    if regions:
        policy["loadBalancer"] = {"localityLbSetting": {"enabled": True, "failover": regions}}
    route: dict[str, Any] = {"route": [{"destination": {"host": _host(cap)}}]}
    if traffic_router(cap, ctx) == "istio":  # Argo Rollouts moves the weights of route `primary`
        canary = f"{canary_service(cap)}.{cap.namespace}.svc.cluster.local"
        destinations = [
            {"destination": {"host": _host(cap)}, "weight": 100},
            {"destination": {"host": canary}, "weight": 0},
        ]
        route = {"name": "primary", "route": destinations}
    if _retries(cap):
        route["retries"] = {"attempts": _retries(cap), "perTryTimeout": "10s", "retryOn": RETRY_ON}
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
            "apiVersion": ISTIO_NET,
            "kind": "DestinationRule",
            "metadata": meta,
            "spec": {"host": _host(cap), "trafficPolicy": policy},
        },
        {
            "apiVersion": ISTIO_NET,
            "kind": "VirtualService",
            "metadata": meta,
            "spec": {"hosts": [_host(cap)], "http": [route]},
        },
        {"apiVersion": ISTIO_SEC, "kind": "PeerAuthentication", "metadata": meta, "spec": peer},
        {
            "apiVersion": ISTIO_SEC,
            "kind": "AuthorizationPolicy",
            "metadata": meta,
            "spec": {"selector": selector, "action": "ALLOW", "rules": rules},  # no rules: deny all
        },
    ]


def _failover(ctx: Context) -> list[dict[str, str]]:
    """Istio locality failover from the environment's primary regions to its standby regions."""
    primaries = [c.region for c in ctx.fleet.clusters if c.role == "primary" and c.region]
    standbys = [c.region for c in ctx.fleet.standbys if c.region]
    return [{"from": p, "to": s} for p in primaries for s in standbys if p != s]


def _linkerd_clients(cap: ResolvedCapability, ctx: Context, allowed: set[str], port: names.Port) -> list[Any]:
    """identityRefs of who may call `port`: callers, the gateways (MCP ports), the ingress namespace."""
    gateways = set(gateway_accounts(ctx))
    accounts = allowed - gateways if port.expose.type != "mcp" else allowed
    refs: list[Any] = [{"kind": "ServiceAccount", "name": a} for a in sorted(accounts)]
    namespace = names.ingress_namespace(cap, ctx.fleet)
    if namespace is not None and port in names.ingress_ports(cap, ctx.fleet):
        refs.append({"kind": "Namespace", "name": namespace})
    return refs


def _linkerd_authorization(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    """A Server denies every client it does not authorize: one AuthorizationPolicy per Server.

    The control port admits any network (probes and Prometheus carry no mesh identity); the others
    admit the mesh identities of their callers. A port nobody may call gets no policy: denied.
    """
    objects: list[Obj] = []
    control = names.control_port(cap)
    if control is not None:
        meta = names.metadata(f"{cap.name}-any-network", cap, ctx.fleet)
        networks = [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
        objects.append(
            {
                "apiVersion": LINKERD_AUTH,
                "kind": "NetworkAuthentication",
                "metadata": meta,
                "spec": {"networks": networks},
            }
        )
    for port in names.ports(cap):
        name = f"{cap.name}-{port.name}"
        if port == control:
            authn = {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": f"{cap.name}-any-network"}
        else:
            refs = _linkerd_clients(cap, ctx, allowed, port)
            if not refs:
                continue
            meta = names.metadata(name, cap, ctx.fleet)
            objects.append(
                {
                    "apiVersion": LINKERD_AUTH,
                    "kind": "MeshTLSAuthentication",
                    "metadata": meta,
                    "spec": {"identityRefs": refs},
                }
            )
            authn = {"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication", "name": name}
        spec = {
            "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": name},
            "requiredAuthenticationRefs": [authn],
        }
        meta = names.metadata(name, cap, ctx.fleet)
        objects.append({"apiVersion": LINKERD_AUTH, "kind": "AuthorizationPolicy", "metadata": meta, "spec": spec})
    return objects


def linkerd(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    objects: list[Obj] = []
    for port in names.ports(cap):
        meta = names.metadata(f"{cap.name}-{port.name}", cap, ctx.fleet)
        spec = {"podSelector": {"matchLabels": names.selector(cap)}, "port": port.name, "proxyProtocol": "HTTP/1"}
        objects.append({"apiVersion": LINKERD, "kind": "Server", "metadata": meta, "spec": spec})
    objects += _linkerd_authorization(cap, ctx, allowed)
    annotations = {"timeout.linkerd.io/request": "30s"}
    if _retries(cap):
        annotations |= {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": str(_retries(cap))}
    # A canary needs routes Argo Rollouts' Gateway API plugin can weight: Gateway API (GAMMA)
    # routes, which Linkerd honours like its own policy routes.
    canary = traffic_router(cap, ctx) == "linkerd"
    api, group = ("gateway.networking.k8s.io/v1", "") if canary else (LINKERD, "core")
    for port in (p for p in names.ports(cap) if p.expose.type != "control"):
        backends: list[dict[str, Any]] = [{"name": cap.name, "port": port.number}]
        if canary:
            backends = [{**backends[0], "weight": 100}, {"name": canary_service(cap), "port": port.number, "weight": 0}]
        parent = {"group": group, "kind": "Service", "name": cap.name, "port": port.number}
        objects.append(
            {
                "apiVersion": api,
                "kind": "HTTPRoute",
                "metadata": names.metadata(mesh_route(cap, port.name), cap, ctx.fleet, annotations),
                "spec": {"parentRefs": [parent], "rules": [{"backendRefs": backends}]},
            }
        )
    return objects


def mesh_route(cap: ResolvedCapability, port_name: str) -> str:
    """Not `{cap}`: `kubectl get httproute {cap}` would be ambiguous beside the public route."""
    return f"{cap.name}-{port_name}-mesh"


def consul(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    meta = names.metadata(cap.name, cap, ctx.fleet)
    destination: dict[str, Any] = {"service": cap.name}
    if _retries(cap):
        destination |= {
            "numRetries": _retries(cap),
            "retryOnConnectFailure": True,
            "retryOnStatusCodes": [500, 502, 503, 504],
        }
    resolver: dict[str, Any] = {"connectTimeout": "5s"}
    standby = [c.region for c in ctx.fleet.standbys if c.region]
    if standby:
        resolver["failover"] = {"*": {"datacenters": standby}}
    canary: list[Obj] = []
    if traffic_router(cap, ctx) == "consul":
        # The Consul plugin of Argo Rollouts points the subsets' filters at pod revisions and moves
        # the split weights; both start matching every instance, all traffic to `stable`.
        resolver |= {
            "defaultSubset": STABLE_SUBSET,
            "subsets": {STABLE_SUBSET: {"filter": ""}, CANARY_SUBSET: {"filter": ""}},
        }
        splits = [{"serviceSubset": STABLE_SUBSET, "weight": 100}, {"serviceSubset": CANARY_SUBSET, "weight": 0}]
        canary.append({"apiVersion": CONSUL, "kind": "ServiceSplitter", "metadata": meta, "spec": {"splits": splits}})
    sources = [{"name": name, "action": "allow"} for name in sorted(allowed)] + [{"name": "*", "action": "deny"}]
    return [
        *canary,
        {"apiVersion": CONSUL, "kind": "ServiceDefaults", "metadata": meta, "spec": {"protocol": "http"}},
        {
            "apiVersion": CONSUL,
            "kind": "ServiceRouter",
            "metadata": meta,
            "spec": {"routes": [{"match": {"http": {"pathPrefix": "/"}}, "destination": destination}]},
        },
        {"apiVersion": CONSUL, "kind": "ServiceResolver", "metadata": meta, "spec": resolver},
        {
            "apiVersion": CONSUL,
            "kind": "ServiceIntentions",
            "metadata": meta,
            "spec": {"destination": {"name": cap.name}, "sources": sources},
        },
    ]


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    mesh = ctx.fleet.spec.routing.mesh
    if mesh == "none":
        return []
    allowed = set(ctx.fleet.callers.get(cap.name, ())) | set(gateway_accounts(ctx))
    if mesh == "istio":
        return istio(cap, ctx, allowed)
    if mesh == "linkerd":
        return linkerd(cap, ctx, allowed)
    if mesh == "consul":
        return consul(cap, ctx, allowed)
    return []
