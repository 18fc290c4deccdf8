"""Security (SPEC 2.6): cert-manager Certificates and NetworkPolicies (External Secrets: secrets.py).

- `security.mtls` without a mesh: a Certificate `{cap}` (Secret `{cap}-mtls`, rotated by
  cert-manager per `duration` / `renewBefore`), mounted read-only at `/app/tls`.
- `security.networkPolicy`: ingress to each capability only from its declared callers, the MCP
  gateway (MCP ports), the ingress controller (public ports) and anyone on the control port.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators import access
from skipper_render.generators.base import Context, Obj
from skipper_render.resolve import ResolvedCapability

ESO = "external-secrets.io/v1"
TLS_MOUNT = "/app/tls"


def certificate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    mtls = ctx.fleet.spec.security.mtls
    if mtls is None or ctx.fleet.spec.routing.mesh != "none":
        return []  # a mesh brings its own workload certificates
    host = f"{cap.name}.{cap.namespace}"
    ctx.diags.warn(
        ctx.fleet.at(("security", "mtls")),
        "the ikanos engine serves plain HTTP: each Certificate (Secret {cap}-mtls at /app/tls) is issued, rotated "
        "and mounted for specs and clients that use it; it does not encrypt the capability's exposes (a mesh does)",
    )
    common_name = f"{host}.svc"
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {
                "secretName": f"{cap.name}-mtls",
                "issuerRef": {"kind": mtls.issuer.kind, "name": mtls.issuer.name, "group": "cert-manager.io"},
                "duration": mtls.duration,
                "renewBefore": mtls.renewBefore,
                "commonName": common_name if len(common_name) <= 64 else None,  # X.509 caps it at 64 bytes
                "dnsNames": [cap.name, host, f"{host}.svc", f"{host}.svc.cluster.local"],
                "usages": ["server auth", "client auth"],
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        }
    ]


def _peer_selector(peer: access.Peer) -> dict[str, Any] | None:
    """A NetworkPolicy `from` entry for a peer (None: from anywhere)."""
    if peer.kind == "anyone":
        return None
    if peer.kind == "ingress":
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer.namespace}}}
    return {"podSelector": {"matchLabels": dict(peer.labels)}}  # same namespace as the capability


def network_policy(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    """Ingress to the capability's pods from exactly its grants (callers grouped into one rule)."""
    if not ctx.fleet.spec.security.networkPolicy:
        return []
    rules: list[dict[str, Any]] = []
    grants = access.grants(cap, ctx)
    callers = [g for g in grants if g.peer.kind == "capability"]
    if callers:
        expression = {"key": names.CAPABILITY, "operator": "In", "values": sorted(g.peer.name for g in callers)}
        ports = [{"port": p.number, "protocol": "TCP"} for p in callers[0].ports]
        rules.append({"from": [{"podSelector": {"matchExpressions": [expression]}}], "ports": ports})
    for grant in (g for g in grants if g.peer.kind != "capability"):
        ports = [{"port": p.number, "protocol": "TCP"} for p in grant.ports]
        source = _peer_selector(grant.peer)
        rules.append({"from": [source], "ports": ports} if source else {"ports": ports})
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {"podSelector": {"matchLabels": names.selector(cap)}, "policyTypes": ["Ingress"], "ingress": rules},
        }
    ]


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    return [*certificate(cap, ctx), *network_policy(cap, ctx)]
