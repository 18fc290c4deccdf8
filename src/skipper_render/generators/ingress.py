"""Ingress or Gateway API HTTPRoute `{cap}` for the exposes marked `public`.

Public exposes are routed on `routing.ingress.host` (which may contain `{capability}`) by the paths
the engine serves, so no rewrite is needed: MCP at `/mcp`, REST at the static prefix of each of its
resource paths, a skill server at `/`. Two public exposes claiming one path are an error.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.model.fleet import Ingress
from skipper_render.resolve import ResolvedCapability


def _static_prefix(path: str) -> str:
    head = path.split("{", 1)[0].rstrip("/")
    return head if head.startswith("/") else "/" + head


def public_paths(cap: ResolvedCapability, ctx: Context) -> list[tuple[str, names.Port]]:
    claimed: dict[str, names.Port] = {}
    for port in names.ports(cap):
        expose = port.expose
        if expose.type == "control" or not cap.is_public(expose.namespace):
            continue
        if expose.type == "mcp":
            paths = ["/mcp"]
        elif expose.type == "rest" and expose.resource_paths:
            paths = sorted({_static_prefix(p) for p in expose.resource_paths})
        else:
            paths = ["/"]
        for path in paths:
            other = claimed.get(path)
            if other is not None and other.name != port.name:
                ctx.diags.error(
                    expose.where,
                    f"public path {path} of expose {expose.namespace!r} is also claimed by {other.expose.namespace!r}",
                )
                continue
            claimed[path] = port
    return sorted(claimed.items())


def httproute(cap: ResolvedCapability, ctx: Context, cfg: Ingress, paths: list[tuple[str, names.Port]]) -> Obj | None:
    if cfg.gateway is None:
        ctx.diags.error(cap.where, "public exposes with routing.ingress.api 'gateway' need routing.ingress.gateway")
        return None
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        **cfg.gateway.model_dump(),
    }
    host = _host(cap, cfg)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "spec": {
            "parentRefs": [parent],
            "hostnames": [host] if host else None,
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": cap.name, "port": port.number}],
                }
                for path, port in paths
            ],
        },
    }


def ingress(cap: ResolvedCapability, ctx: Context, cfg: Ingress, paths: list[tuple[str, names.Port]]) -> Obj:
    host = _host(cap, cfg)
    annotations: dict[str, str] = {}
    tls = None
    if cfg.tls is not None:
        issuer = cfg.tls.issuer
        if issuer is not None:
            key = "cert-manager.io/cluster-issuer" if issuer.kind == "ClusterIssuer" else "cert-manager.io/issuer"
            annotations[key] = issuer.name
        secret = cfg.tls.secretName or f"{cap.name}-tls"
        tls = [{"hosts": [host] if host else None, "secretName": secret}]
    rule_paths = [
        {
            "path": path,
            "pathType": "Prefix",
            "backend": {"service": {"name": cap.name, "port": {"name": port.name}}},
        }
        for path, port in paths
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": names.metadata(cap.name, cap, ctx.fleet, annotations or None),
        "spec": {
            "ingressClassName": cfg.className,
            "tls": tls,
            "rules": [{"host": host, "http": {"paths": rule_paths}}],
        },
    }


def _host(cap: ResolvedCapability, cfg: Ingress) -> str | None:
    return cfg.host.replace("{capability}", cap.name) if cfg.host else None


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    paths = public_paths(cap, ctx)
    if not paths:
        return []
    cfg = ctx.fleet.spec.routing.ingress
    if cfg is None:
        ctx.diags.error(cap.where, "an expose is marked public but routing.ingress is not configured")
        return []
    obj = httproute(cap, ctx, cfg, paths) if cfg.api == "gateway" else ingress(cap, ctx, cfg, paths)
    return [obj] if obj else []
