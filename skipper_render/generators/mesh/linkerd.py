"""Linkerd: a Server per port with an AuthorizationPolicy admitting exactly the grants, per-port
routes carrying timeouts and retries (not for MCP; Gateway API routes when Argo Rollouts weights a
canary on them), and failure accrual (circuit breaking) as annotations of the capability's Service.

linkerd2 policy controller rules encoded here: a Server denies every client no AuthorizationPolicy
admits; identityRefs name ServiceAccounts (mesh identities) or Namespaces; a NetworkAuthentication
admits clients without mesh identity (probes, Prometheus).
"""

from __future__ import annotations

from typing import Any

from skipper_render import names, quantity
from skipper_render.generators import access
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, resilient, retries
from skipper_render.generators.rollout import canary_service, routers
from skipper_render.resolve import ResolvedCapability

POLICY = "policy.linkerd.io/v1beta3"
AUTH = "policy.linkerd.io/v1alpha1"
ACCRUAL = "balancer.linkerd.io/failure-accrual"
DEFAULT_MAX_PENALTY_MS = 60_000  # the proxy's; the min penalty may not exceed the max


def service_annotations(cap: ResolvedCapability) -> dict[str, str]:
    """The class's circuit breaker as consecutive failure accrual, read by every client's proxy."""
    found = ejection(cap.klass)
    if found is None:
        return {}
    failures, ejected = found
    penalty = max(1, round(quantity.seconds(ejected) * 1000))
    return {
        ACCRUAL: "consecutive",
        f"{ACCRUAL}-consecutive-max-failures": str(failures),
        f"{ACCRUAL}-consecutive-min-penalty": _duration(penalty),
        f"{ACCRUAL}-consecutive-max-penalty": _duration(max(penalty, DEFAULT_MAX_PENALTY_MS)),
    }


def _duration(ms: int) -> str:
    """The proxy parses one integer and one unit: `30s`, `1500ms`."""
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _identity(peer: access.Peer) -> dict[str, Any]:
    if peer.kind == "ingress" and not peer.name:
        return {"kind": "Namespace", "name": peer.namespace}  # no ServiceAccount given: its namespace
    return {"kind": "ServiceAccount", "name": peer.name, "namespace": peer.namespace}


def _authorization(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    """One AuthorizationPolicy per Server that someone may call; a port nobody may call is denied."""
    grants = access.grants(cap, ctx)
    objects: list[Obj] = []
    if any(g.peer.kind == "anyone" for g in grants):
        networks = [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
        meta = names.metadata(f"{cap.name}-any-network", cap, ctx.fleet)
        objects.append(
            {"apiVersion": AUTH, "kind": "NetworkAuthentication", "metadata": meta, "spec": {"networks": networks}}
        )
    for port in names.ports(cap):
        name = f"{cap.name}-{port.name}"
        peers = [g.peer for g in grants if port in g.ports]
        if not peers:
            continue
        if all(p.kind == "anyone" for p in peers):
            authn = {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": f"{cap.name}-any-network"}
        else:
            refs = sorted((_identity(p) for p in peers if p.kind != "anyone"), key=lambda r: (r["kind"], r["name"]))
            meta = names.metadata(name, cap, ctx.fleet)
            objects.append(
                {"apiVersion": AUTH, "kind": "MeshTLSAuthentication", "metadata": meta, "spec": {"identityRefs": refs}}
            )
            authn = {"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication", "name": name}
        spec = {
            "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": name},
            "requiredAuthenticationRefs": [authn],
        }
        objects.append(
            {
                "apiVersion": AUTH,
                "kind": "AuthorizationPolicy",
                "metadata": names.metadata(name, cap, ctx.fleet),
                "spec": spec,
            }
        )
    return objects


def mesh_route(cap: ResolvedCapability, port_name: str) -> str:
    """Not `{cap}`: `kubectl get httproute {cap}` would be ambiguous beside the public route."""
    return f"{cap.name}-{port_name}-mesh"


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    objects: list[Obj] = []
    for port in names.ports(cap):
        meta = names.metadata(f"{cap.name}-{port.name}", cap, ctx.fleet)
        spec = {"podSelector": {"matchLabels": names.selector(cap)}, "port": port.name, "proxyProtocol": "HTTP/1"}
        objects.append({"apiVersion": POLICY, "kind": "Server", "metadata": meta, "spec": spec})
    objects += _authorization(cap, ctx)
    # A canary needs routes Argo Rollouts' Gateway API plugin can weight: Gateway API (GAMMA)
    # routes, which Linkerd honours like its own policy routes.
    canary = "linkerd" in routers(cap, ctx)
    api, group = ("gateway.networking.k8s.io/v1", "") if canary else (POLICY, "core")
    for port in names.served_ports(cap):
        annotations: dict[str, str] = {}
        if resilient(port):
            annotations["timeout.linkerd.io/request"] = REQUEST_TIMEOUT
            if retries(cap):
                annotations |= {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": str(retries(cap))}
        backends: list[dict[str, Any]] = [{"name": cap.name, "port": port.number}]
        if canary:
            backends = [{**backends[0], "weight": 100}, {"name": canary_service(cap), "port": port.number, "weight": 0}]
        parent = {"group": group, "kind": "Service", "name": cap.name, "port": port.number}
        objects.append(
            {
                "apiVersion": api,
                "kind": "HTTPRoute",
                "metadata": names.metadata(mesh_route(cap, port.name), cap, ctx.fleet, annotations or None),
                "spec": {"parentRefs": [parent], "rules": [{"backendRefs": backends}]},
            }
        )
    return objects
