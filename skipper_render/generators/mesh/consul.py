"""Consul: ServiceDefaults (bulkhead as inbound connection limit; the circuit breakers of the
capabilities it calls as upstream passive health checks), ServiceRouter (retries),
ServiceResolver (datacenter failover; canary subsets), ServiceIntentions, and a ServiceSplitter
the Argo Rollouts Consul plugin weights."""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, retries
from skipper_render.generators.rollout import CANARY_SUBSET, STABLE_SUBSET, traffic_router
from skipper_render.resolve import ResolvedCapability

API = "consul.hashicorp.com/v1alpha1"


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


def generate(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    meta = names.metadata(cap.name, cap, ctx.fleet)
    destination: dict[str, Any] = {"service": cap.name, "requestTimeout": REQUEST_TIMEOUT}
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
    if traffic_router(cap, ctx) == "consul":
        # The Consul plugin of Argo Rollouts points the subsets' filters at pod revisions and moves
        # the split weights; both start matching every instance, all traffic to `stable`.
        resolver |= {
            "defaultSubset": STABLE_SUBSET,
            "subsets": {STABLE_SUBSET: {"filter": ""}, CANARY_SUBSET: {"filter": ""}},
        }
        splits = [{"serviceSubset": STABLE_SUBSET, "weight": 100}, {"serviceSubset": CANARY_SUBSET, "weight": 0}]
        canary.append({"apiVersion": API, "kind": "ServiceSplitter", "metadata": meta, "spec": {"splits": splits}})
    sources = [{"name": name, "action": "allow"} for name in sorted(allowed)] + [{"name": "*", "action": "deny"}]
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
            "spec": {"destination": {"name": cap.name}, "sources": sources},
        },
    ]
