"""Wiring: the rendered objects checked against each other, as the controllers will (SPEC 4.1).

Schemas prove each object well-formed; these checks prove the fleet runs: references resolve
(`references`), no two listeners share a port, the mesh's proxy included (`ports`), every declared
path is admitted by every policy layer and nothing else is (`reachability`), and alerts, analyses
and HPA metrics exist only where metrics do (`metrics`). `api` drops or refuses kinds the cluster
does not serve. Each controller rule lives in one module here, with the upstream code it follows.

A violation is a render error located at the manifest field that caused it (the capability's
entry, the expose whose port collides, the gateway's settings); the render is refused, never
emitted broken.
"""

from __future__ import annotations

from skipper_render import names
from skipper_render.errors import Where
from skipper_render.generators import binds, mcp_gateway, secrets, warden
from skipper_render.generators.base import Context
from skipper_render.resolve import ResolvedCapability
from skipper_render.wiring import api, index, mesh, metrics, ports, reachability, references
from skipper_render.wiring.index import Obj

__all__ = ["Checker"]


class Checker:
    """Checks each capability's objects as they are generated, then the fleet-level objects
    against what the capabilities rendered (Services, pods) and the fleet's configuration."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.services: dict[str, set[int | str]] = {}  # Service -> port numbers and names
        self.pods: dict[str, dict[str, str]] = {}  # workload -> pod labels
        self.refused = False  # a kind the cluster does not serve: the render fails, skip cross-checks
        self._fleet_secrets: set[str] | None = None

    def _report(self, where: Where) -> references.Report:
        return lambda message: self.ctx.diags.error(where, f"wiring: {message}")

    def fleet_secrets(self) -> set[str]:
        """Secrets the fleet part produces (or, with the `kubernetes` provider, expects to exist)."""
        if self._fleet_secrets is None:
            ctx = self.ctx
            found = {t.token[0] for t in mcp_gateway.targets(ctx) if t.token} if _gateway(ctx) else set()
            if warden.settings(ctx) is not None:
                found.add(warden.audit_secret(ctx.fleet.name))
            self._fleet_secrets = found
        return set(self._fleet_secrets)

    def capability(self, cap: ResolvedCapability, objects: list[Obj]) -> list[Obj]:
        ctx = self.ctx
        objects, refused = api.gate(objects, ctx, cap.name)
        if refused:  # the render fails anyway; checking what is left would only add noise
            self.refused = True
            return objects
        objects = index.Objects(objects)
        report = self._report(cap.where)
        pods = list(index.pods(objects))
        for pod in pods:
            references.probes(pod, report)
        references.services(objects, pods, report)
        references.scaling(objects, pods, report)
        references.rollouts(objects, report)
        expected = self.fleet_secrets()
        if secrets.provider(ctx) is None:  # `kubernetes`: bind Secrets are expected to exist (README)
            plan = binds.plan(cap, ctx.diags)
            expected |= {g.secret for g in plan.files} | {e.secret for e in plan.env}
        references.mounts(pods, objects, expected, report)
        references.monitors(objects, report)
        # A capability's routes reach its own Services, whichever process renders the others.
        references.routes(objects, self._record(objects, pods), report)
        by_port = {p.number: p.expose.where for p in names.ports(cap)}
        ports.check(
            objects,
            pods,
            lambda message, port: self.ctx.diags.error(by_port.get(port or -1, cap.where), f"wiring: {message}"),
        )
        reachability.check(cap, objects, pods, ctx, report)
        metrics.check(cap, objects, ctx, report)
        mesh.consul(objects, pods, report)
        mesh.mcp_routes(objects, {p.number for p in names.ports(cap) if p.expose.type == "mcp"}, report)
        mesh.north_south(objects, report)
        return objects

    def fleet(self, objects: list[Obj]) -> list[Obj]:
        ctx = self.ctx
        objects, refused = api.gate(objects, ctx)
        if refused or self.refused:
            return objects
        report = self._report(ctx.fleet.at(("routing", "mcpGateway")))
        pods = list(index.pods(objects))
        for pod in pods:
            references.probes(pod, report)
        references.services(objects, pods, report)
        references.mounts(pods, objects, self.fleet_secrets(), report)
        references.monitors(objects, report)
        ports.check(objects, pods, lambda message, _port: report(message))
        mesh.consul(objects, pods, report)
        self._record(objects, pods)
        if self.pods.keys() - {p.owner for p in pods}:  # capabilities were rendered too: check across
            references.routes(objects, self.services, report)
            self._gateway_targets(report)
            self._unique_selectors(objects, report)
        return objects

    def merge(self, services: dict[str, set[int | str]], pods: dict[str, dict[str, str]], refused: bool) -> None:
        """Take in what another checker recorded for later capabilities (a shard rendered apart)."""
        self.services |= services
        self.pods |= pods
        self.refused |= refused

    def _record(self, objects: list[Obj], pods: list[index.Pod]) -> dict[str, set[int | str]]:
        """Note the Services (name -> port numbers and names) and pods rendered; returns those Services."""
        services = {}
        for svc in index.of_kind(objects, "Service"):
            ports_ = svc["spec"].get("ports", [])
            services[svc["metadata"]["name"]] = {p["port"] for p in ports_} | {p.get("name", "") for p in ports_}
        self.services |= services
        self.pods |= {pod.owner: dict(pod.labels) for pod in pods}
        return services

    def _gateway_targets(self, report: references.Report) -> None:
        """The MCP gateway's targets are capability Services on their MCP ports."""
        if not _gateway(self.ctx):
            return
        for target in mcp_gateway.targets(self.ctx):
            served = self.services.get(target.capability.name, set())
            if target.expose.port not in served:
                report(
                    f"the MCP gateway's target {target.name} calls {target.capability.name}:{target.expose.port}, "
                    "which its Service does not serve"
                )

    def _unique_selectors(self, objects: list[Obj], report: references.Report) -> None:
        """A capability's pods are selected by its own objects only (names.selector is unique)."""
        # Selectors match on the capability label: only pods carrying the same value can match.
        by_value: dict[str | None, list[tuple[str, dict[str, str]]]] = {}
        for owner, labels in self.pods.items():
            by_value.setdefault(labels.get(names.CAPABILITY), []).append((owner.split("/", 1)[1], labels))
        for cap in self.ctx.fleet.capabilities:
            selector = names.selector(cap)
            candidates = (
                by_value.get(selector.get(names.CAPABILITY), [])
                if names.CAPABILITY in selector
                else [item for group in by_value.values() for item in group]
            )
            matched = [o for o, labels in candidates if index.selects(selector, labels)]
            if matched != [cap.name]:
                report(f"the selector of {cap.name} matches the pods of {', '.join(matched) or 'nothing'}")


def _gateway(ctx: Context) -> bool:
    settings = ctx.fleet.spec.routing.mcpGateway
    return settings is not None and settings.enabled
