"""Linkerd: a Server per port with an AuthorizationPolicy admitting exactly the grants, per-port
routes carrying timeouts and retries (not for MCP; Gateway API routes when Argo Rollouts weights a
canary on them), and failure accrual (circuit breaking) as annotations of the capability's Service.

linkerd2 policy controller rules encoded here: a Server denies every client no AuthorizationPolicy
admits; identityRefs name ServiceAccounts (mesh identities) or Namespaces; a NetworkAuthentication
admits clients without mesh identity (probes, Prometheus).

Failover (linkerd2 multicluster): a standby cluster exports its Services (`mirror.linkerd.io/exported`),
which the primary's service mirror names `{service}-{link}`; the primary's mesh routes carry each
mirrored standby as a second backend at weight 0: the failover route. Moving the weight (an
emergency edit, or linkerd-failover where it is still run: it is deprecated) fails calls over
without a deploy; linking each standby with `--cluster-name` = its name in the overlay is assumed.
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
EXPORT = {"mirror.linkerd.io/exported": "true"}


def exporting(ctx: Context) -> bool:
    cluster = ctx.fleet.cluster
    return cluster is not None and cluster.role == "standby" and len(ctx.fleet.clusters) > 1


def _mirrors(ctx: Context) -> list[str]:
    """The standby clusters whose mirrored Services a primary's routes fail over to."""
    cluster = ctx.fleet.cluster
    if cluster is None or cluster.role != "primary":
        return []
    return [c.name for c in ctx.fleet.standbys]


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
    standbys = _mirrors(ctx)
    for port in names.served_ports(cap):
        annotations: dict[str, str] = {}
        if resilient(port):
            annotations["timeout.linkerd.io/request"] = REQUEST_TIMEOUT
            if retries(cap):
                annotations |= {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": str(retries(cap))}
        backends: list[dict[str, Any]] = [{"name": cap.name, "port": port.number}]
        if canary:  # the Rollouts plugin weights exactly stable and canary
            backends = [{**backends[0], "weight": 100}, {"name": canary_service(cap), "port": port.number, "weight": 0}]
        elif standbys:
            mirrored = [{"name": f"{cap.name}-{c}", "port": port.number, "weight": 0} for c in standbys]
            backends = [{**backends[0], "weight": 100}, *mirrored]
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
