"""North-south routes shared by public exposes and the fleet gateways: HTTPRoute or Ingress.

`routing.ingress.api` picks Gateway API (`parentRefs` from `routing.ingress.gateway`) or
networking.k8s.io Ingress (`className`, TLS from a Secret or a cert-manager issuer annotation).
A rule may rewrite its path prefix to `/` (REST gateway): a URLRewrite filter on an HTTPRoute, the
ingress-nginx regex rewrite on an Ingress.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from skipper_render.errors import Where
from skipper_render.generators.base import Context, Obj
from skipper_render.model.fleet import DnsFailover


class Rule(NamedTuple):
    path: str
    service: str
    port_name: str
    port: int
    rewrite: bool = False  # strip `path` before forwarding
    canary: str | None = None  # an Argo Rollouts canary Service, weighted 0 until the rollout moves it


def httproute(ctx: Context, metadata: dict[str, Any], host: str | None, rules: list[Rule], where: Where) -> Obj | None:
    cfg = ctx.fleet.spec.routing.ingress
    if cfg is None or cfg.gateway is None:
        ctx.diags.error(where, "routes with routing.ingress.api 'gateway' need routing.ingress.gateway")
        return None
    parent = {"group": "gateway.networking.k8s.io", "kind": "Gateway", **cfg.gateway.model_dump()}
    out = []
    for rule in rules:
        item: dict[str, Any] = {
            "matches": [{"path": {"type": "PathPrefix", "value": rule.path}}],
            "backendRefs": [{"name": rule.service, "port": rule.port}],
        }
        if rule.canary:
            item["backendRefs"] = [
                {"name": rule.service, "port": rule.port, "weight": 100},
                {"name": rule.canary, "port": rule.port, "weight": 0},
            ]
        if rule.rewrite:
            rewrite = {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}
            item["filters"] = [{"type": "URLRewrite", "urlRewrite": rewrite}]
        out.append(item)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {"parentRefs": [parent], "hostnames": [host] if host else None, "rules": out},
    }


def ingress(ctx: Context, metadata: dict[str, Any], host: str | None, rules: list[Rule]) -> Obj:
    cfg = ctx.fleet.spec.routing.ingress
    annotations: dict[str, str] = dict(metadata.get("annotations") or {})
    tls = None
    if cfg is not None and cfg.tls is not None:
        issuer = cfg.tls.issuer
        if issuer is not None:
            key = "cert-manager.io/cluster-issuer" if issuer.kind == "ClusterIssuer" else "cert-manager.io/issuer"
            annotations[key] = issuer.name
        tls = [{"hosts": [host] if host else None, "secretName": cfg.tls.secretName or f"{metadata['name']}-tls"}]
    if ctx.fleet.spec.routing.mesh != "none":  # to the Service, where the mesh routes and authorizes
        annotations["nginx.ingress.kubernetes.io/service-upstream"] = "true"
    rewrite = any(r.rewrite for r in rules)
    if rewrite:  # ingress-nginx: capture what follows the prefix and forward only that
        annotations |= {
            "nginx.ingress.kubernetes.io/use-regex": "true",
            "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
        }
    paths = [
        {
            "path": f"{r.path.rstrip('/')}(/|$)(.*)" if rewrite else r.path,
            "pathType": "ImplementationSpecific" if rewrite else "Prefix",
            "backend": {"service": {"name": r.service, "port": {"name": r.port_name}}},
        }
        for r in rules
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**metadata, "annotations": annotations or None},
        "spec": {
            "ingressClassName": cfg.className if cfg else None,
            "tls": tls,
            "rules": [{"host": host, "http": {"paths": paths}}],
        },
    }


def dns_failover(ctx: Context, host: str | None) -> dict[str, str]:
    """external-dns failover annotations for a public host of a multi-cluster environment.

    Every cluster publishes the same name with its own `set-identifier`; Route 53 answers with the
    PRIMARY record while its health check passes, else with the SECONDARY. `skipper failover`
    swaps the roles in git; a health check fails over before anyone commits."""
    cfg = ctx.fleet.spec.routing.ingress
    cluster = ctx.fleet.cluster
    if cfg is None or host is None or cluster is None or len(ctx.fleet.clusters) < 2:
        return {}
    settings = cfg.dnsFailover or DnsFailover()
    if not settings.enabled or sum(c.role == "primary" for c in ctx.fleet.clusters) != 1:
        return {}  # several primaries: no failover records (render warns or refuses, see render.py)
    prefix = settings.annotationPrefix
    out = {
        f"{prefix}set-identifier": cluster.name,
        f"{prefix}aws-failover": "PRIMARY" if cluster.role == "primary" else "SECONDARY",
    }
    check = (settings.healthChecks or {}).get(cluster.name)
    if check:
        out[f"{prefix}aws-health-check-id"] = check
    return out


def route(ctx: Context, metadata: dict[str, Any], host: str | None, rules: list[Rule], where: Where) -> list[Obj]:
    """The route for `rules`, or nothing when the fleet configures no `routing.ingress`."""
    cfg = ctx.fleet.spec.routing.ingress
    if cfg is None or not rules:
        return []
    dns = dns_failover(ctx, host)
    if dns:
        metadata = {**metadata, "annotations": {**(metadata.get("annotations") or {}), **dns}}
    obj = httproute(ctx, metadata, host, rules, where) if cfg.api == "gateway" else ingress(ctx, metadata, host, rules)
    return [obj] if obj else []
