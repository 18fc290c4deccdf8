"""Linkerd: a Server per port with its AuthorizationPolicy, per-port routes carrying timeouts and
retries (Gateway API routes when Argo Rollouts weights a canary on them), and failure accrual
(circuit breaking) as annotations of the capability's Service."""

from __future__ import annotations

from typing import Any

from skipper_render import names, quantity
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh.base import REQUEST_TIMEOUT, ejection, gateway_accounts, retries
from skipper_render.generators.rollout import canary_service, traffic_router
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


def _clients(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> dict[str, list[Any]]:
    """port name -> identityRefs of who may call it: callers, the gateways (MCP ports), the ingress."""
    gateways = set(gateway_accounts(ctx))
    namespace = names.ingress_namespace(cap, ctx.fleet)
    ingress = {p.name for p in names.ingress_ports(cap, ctx.fleet)} if namespace is not None else set()
    out: dict[str, list[Any]] = {}
    for port in names.ports(cap):
        accounts = allowed - gateways if port.expose.type != "mcp" else allowed
        refs: list[Any] = [{"kind": "ServiceAccount", "name": a} for a in sorted(accounts)]
        if port.name in ingress:
            refs.append({"kind": "Namespace", "name": namespace})
        out[port.name] = refs
    return out


def _authorization(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
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
                "apiVersion": AUTH,
                "kind": "NetworkAuthentication",
                "metadata": meta,
                "spec": {"networks": networks},
            }
        )
    clients = _clients(cap, ctx, allowed)
    for port in names.ports(cap):
        name = f"{cap.name}-{port.name}"
        if port == control:
            authn = {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": f"{cap.name}-any-network"}
        else:
            refs = clients[port.name]
            if not refs:
                continue
            meta = names.metadata(name, cap, ctx.fleet)
            objects.append(
                {
                    "apiVersion": AUTH,
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
        objects.append({"apiVersion": AUTH, "kind": "AuthorizationPolicy", "metadata": meta, "spec": spec})
    return objects


def mesh_route(cap: ResolvedCapability, port_name: str) -> str:
    """Not `{cap}`: `kubectl get httproute {cap}` would be ambiguous beside the public route."""
    return f"{cap.name}-{port_name}-mesh"


def generate(cap: ResolvedCapability, ctx: Context, allowed: set[str]) -> list[Obj]:
    objects: list[Obj] = []
    for port in names.ports(cap):
        meta = names.metadata(f"{cap.name}-{port.name}", cap, ctx.fleet)
        spec = {"podSelector": {"matchLabels": names.selector(cap)}, "port": port.name, "proxyProtocol": "HTTP/1"}
        objects.append({"apiVersion": POLICY, "kind": "Server", "metadata": meta, "spec": spec})
    objects += _authorization(cap, ctx, allowed)
    annotations = {"timeout.linkerd.io/request": REQUEST_TIMEOUT}
    if retries(cap):
        annotations |= {"retry.linkerd.io/http": "5xx", "retry.linkerd.io/limit": str(retries(cap))}
    # A canary needs routes Argo Rollouts' Gateway API plugin can weight: Gateway API (GAMMA)
    # routes, which Linkerd honours like its own policy routes.
    canary = traffic_router(cap, ctx) == "linkerd"
    api, group = ("gateway.networking.k8s.io/v1", "") if canary else (POLICY, "core")
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
