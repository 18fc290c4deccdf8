"""The fleet's REST gateway: one route, one rule per `type: rest` expose.

Each rule matches `routing.restGateway.pathPrefix` (default `/{capability}`; `{namespace}` names
the expose) and rewrites it to `/`, the base the engine serves the expose's resources from, with
the capability's Service port as backend. Two exposes on one prefix are an error.
"""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.routes import Rule, route
from skipper_render.model.ikanos import Expose


def rules(ctx: Context) -> list[Rule]:
    settings = ctx.fleet.spec.routing.restGateway
    template = settings.pathPrefix if settings else "/{capability}"
    claimed: dict[str, tuple[str, Expose]] = {}
    out = []
    for cap in ctx.fleet.capabilities:
        for port in names.ports(cap):
            if port.expose.type != "rest":
                continue
            prefix = "/" + template.replace("{capability}", cap.name).replace(
                "{namespace}", port.expose.namespace or ""
            ).strip("/")
            other = claimed.get(prefix)
            if other is not None:
                ctx.diags.error(
                    port.expose.where,
                    f"REST gateway prefix {prefix} of {cap.name!r} is also claimed by {other[0]!r} ({other[1].where}); "
                    "use {namespace} in routing.restGateway.pathPrefix",
                )
                continue
            claimed[prefix] = (cap.name, port.expose)
            out.append(Rule(prefix, cap.name, port.name, port.number, rewrite=True))
    return sorted(out, key=lambda r: r.path)


def generate(ctx: Context) -> list[Obj]:
    settings = ctx.fleet.spec.routing.restGateway
    if settings is None or not settings.enabled:
        return []
    name = f"{ctx.fleet.name}-rest-gateway"
    metadata = {"name": name, "namespace": ctx.fleet.namespace, "labels": names.fleet_labels(ctx.fleet, "rest-gateway")}
    where = ctx.fleet.at(("routing", "restGateway"))
    if ctx.fleet.spec.routing.ingress is None:
        ctx.diags.error(where, "the REST gateway is a route: it needs routing.ingress")
        return []
    return route(ctx, metadata, settings.host, rules(ctx), where)
