"""Consul: connect-inject pod annotations, ServiceDefaults (bulkhead as inbound connection limit;
the circuit breakers of the capabilities it calls as upstream passive health checks),
ServiceRouter (retries and timeout, not for MCP), ServiceResolver (datacenter failover; canary
subsets), ServiceIntentions (exactly the grants), and a ServiceSplitter Argo Rollouts weights.

consul-k8s rules encoded here (hashicorp/consul-k8s v2.0, `connect-inject` webhook and endpoints
controller): with ACLs the webhook refuses a pod without the service-account token mounted, so a
meshed pod mounts it; Consul CE registers one port per service and its transparent proxy forwards
all inbound mesh traffic to that one port, so a capability serves at most one business port
(control is excluded from the mesh: plain HTTP for probes and Prometheus); the service is named
explicitly (`connect-service`), and a second Service selecting the same pods (canary, preview)
is labelled `service-ignore` or the pods' connect-init never finishes.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.errors import Where
from skipper_render.generators import access
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, resilient, retries
from skipper_render.generators.rollout import CANARY_SUBSET, STABLE_SUBSET, routers
from skipper_render.resolve import ResolvedCapability

API = "consul.hashicorp.com/v1alpha1"
ANNOTATION = "consul.hashicorp.com"
SERVICE_IGNORE = {f"{ANNOTATION}/service-ignore": "true"}


def pod_annotations(
    ctx: Context, service: str, served: list[tuple[str, int]], excluded: list[int], where: Where | None
) -> dict[str, str]:
    """connect-inject with transparent proxy for a workload serving `served` through the mesh as
    Consul service `service`, and the `excluded` ports (plain HTTP: probes, metrics) outside it."""
    if len(served) > 1 and where is not None:
        listed = ", ".join(f"{name} {number}" for name, number in served)
        ctx.diags.error(
            where,
            f"under Consul a capability serves one port through the mesh (Consul registers one port per "
            f"service and forwards all mesh traffic to it), but {service} serves {listed}: split it, or "
            "serve its exposes from one capability per port",
        )
    annotations = {
        f"{ANNOTATION}/connect-inject": "true",
        f"{ANNOTATION}/transparent-proxy": "true",
        f"{ANNOTATION}/connect-service": service,
    }
    if served:
        annotations[f"{ANNOTATION}/connect-service-port"] = served[0][0]
    if excluded:  # probes and Prometheus speak plain HTTP to them: outside the mesh
        annotations[f"{ANNOTATION}/transparent-proxy-exclude-inbound-ports"] = ",".join(map(str, excluded))
    return annotations


def _defaults(cap: ResolvedCapability, ctx: Context) -> dict[str, Any]:
    """ServiceDefaults: Consul breaks circuits client-side, so a capability's defaults carry the
    ejection policy of each capability it calls (from that callee's class)."""
    spec: dict[str, Any] = {"protocol": "http"}
    bulkhead = cap.klass.resilience.bulkhead if cap.klass.resilience else None
    if bulkhead is not None and bulkhead.maxConcurrentCalls:
        spec["maxInboundConnections"] = bulkhead.maxConcurrentCalls
    overrides = []
    for callee, klass in ctx.fleet.callees(cap.name):
        found = ejection(klass)
        if found is not None:
            check = {"interval": "10s", "maxFailures": found[0], "baseEjectionTime": found[1]}
            overrides.append({"name": callee, "passiveHealthCheck": check})
    if overrides:
        spec["upstreamConfig"] = {"overrides": overrides}
    return spec


def sources(cap: ResolvedCapability, ctx: Context) -> list[str]:
    """Consul service names the intentions admit: the grants' peers (not `anyone`: control is
    outside the mesh)."""
    found = set()
    ingress = access.ingress_source(ctx.fleet)
    for grant in access.grants(cap, ctx):
        if grant.peer.kind == "ingress" and ingress is not None:
            found.add(ingress.consul)
        elif grant.peer.kind in ("capability", "mcp-gateway"):
            found.add(grant.peer.name)
    return sorted(found)


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    meta = names.metadata(cap.name, cap, ctx.fleet)
    served = [p for p in names.ports(cap) if p.expose.type != "control"]
    destination: dict[str, Any] = {"service": cap.name}
    if served and resilient(served[0]):
        destination["requestTimeout"] = REQUEST_TIMEOUT
        if retries(cap):
            destination |= {
                "numRetries": retries(cap),
                "retryOnConnectFailure": True,
                "retryOnStatusCodes": [500, 502, 503, 504],
            }
    resolver: dict[str, Any] = {"connectTimeout": "5s"}
    standby = [c.region for c in ctx.fleet.standbys if c.region]
    if standby:
        resolver["failover"] = {"*": {"datacenters": standby}}
    canary: list[Obj] = []
    if "consul" in routers(cap, ctx):
        # The Consul plugin of Argo Rollouts points the subsets' filters at pod revisions and moves
        # the split weights; both start matching every instance, all traffic to `stable`.
        resolver |= {
            "defaultSubset": STABLE_SUBSET,
            "subsets": {STABLE_SUBSET: {"filter": ""}, CANARY_SUBSET: {"filter": ""}},
        }
        splits = [{"serviceSubset": STABLE_SUBSET, "weight": 100}, {"serviceSubset": CANARY_SUBSET, "weight": 0}]
        canary.append({"apiVersion": API, "kind": "ServiceSplitter", "metadata": meta, "spec": {"splits": splits}})
    allowed = [{"name": name, "action": "allow"} for name in sources(cap, ctx)]
    return [
        *canary,
        {"apiVersion": API, "kind": "ServiceDefaults", "metadata": meta, "spec": _defaults(cap, ctx)},
        {
            "apiVersion": API,
            "kind": "ServiceRouter",
            "metadata": meta,
            "spec": {"routes": [{"match": {"http": {"pathPrefix": "/"}}, "destination": destination}]},
        },
        {"apiVersion": API, "kind": "ServiceResolver", "metadata": meta, "spec": resolver},
        {
            "apiVersion": API,
            "kind": "ServiceIntentions",
            "metadata": meta,
            "spec": {"destination": {"name": cap.name}, "sources": [*allowed, {"name": "*", "action": "deny"}]},
        },
    ]
