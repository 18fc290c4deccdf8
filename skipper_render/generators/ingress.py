"""Ingress or Gateway API HTTPRoute `{cap}` for the exposes marked `public`.

Public exposes are routed on `routing.ingress.host` (which may contain `{capability}`) by the paths
the engine serves, so no rewrite is needed: MCP at `/mcp`, REST at the static prefix of each of its
resource paths, a skill server at `/`. Two public exposes claiming one path are an error.
"""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.rollout import canary_service, routers
from skipper_render.generators.routes import Rule, route
from skipper_render.model.ikanos import Port
from skipper_render.resolve import ResolvedCapability


def _static_prefix(path: str) -> str:
    head = path.split("{", 1)[0].rstrip("/")
    return head if head.startswith("/") else "/" + head


def public_paths(cap: ResolvedCapability, ctx: Context) -> list[tuple[str, Port]]:
    claimed: dict[str, Port] = {}
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


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    paths = public_paths(cap, ctx)
    if not paths:
        return []
    cfg = ctx.fleet.spec.routing.ingress
    if cfg is None:
        ctx.diags.error(cap.where, "an expose is marked public but routing.ingress is not configured")
        return []
    host = cfg.host.replace("{capability}", cap.name) if cfg.host else None
    canary = canary_service(cap) if "gateway" in routers(cap, ctx) else None
    rules = [Rule(path, cap.name, port.name, port.number, canary=canary) for path, port in paths]
    return route(ctx, names.metadata(cap.name, cap, ctx.fleet), host, rules, cap.where)
