"""Service mesh integration, selected by `routing.mesh` (istio | linkerd | consul).

From the class's resilience: retries (retry.maxAttempts - 1 re-tries, Resilience4j counts the first
call), connection limits (bulkhead) and ejection (circuit breaker); MCP ports are never retried or
time-bounded (tool calls have side effects and run long). Authorization admits exactly the grants
of `access` (declared callers, the MCP gateway to MCP ports, the ingress to public and REST-gateway
ports, anyone to `control`). Workload identity is the per-capability ServiceAccount `{cap}`.
One module per mesh; `base` holds what they share.
"""

from __future__ import annotations

from skipper_render.errors import Where
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh import consul, istio, linkerd
from skipper_render.resolve import ResolvedCapability

__all__ = ["generate", "pod_metadata", "service_annotations", "service_labels"]

_MESHES = {"istio": istio.generate, "linkerd": linkerd.generate, "consul": consul.generate}


def pod_metadata(
    ctx: Context, service: str, served: list[tuple[str, int]], excluded: list[int], where: Where | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) a meshed pod template needs: `service` is the workload's mesh name,
    `served` the (name, number) ports clients reach through the mesh, `excluded` the plain ones
    (probes, metrics)."""
    mesh = ctx.fleet.spec.routing.mesh
    if mesh == "istio":
        return {"sidecar.istio.io/inject": "true"}, {}
    if mesh == "linkerd":
        return {}, {"linkerd.io/inject": "enabled"}
    if mesh == "consul":
        return {}, consul.pod_annotations(ctx, service, served, excluded, where)
    return {}, {}


def service_labels(ctx: Context) -> dict[str, str]:
    """Linkerd multicluster: a standby exports its Services, mirrored into the primary for failover."""
    return linkerd.EXPORT if ctx.fleet.spec.routing.mesh == "linkerd" and linkerd.exporting(ctx) else {}


def service_annotations(cap: ResolvedCapability, ctx: Context) -> dict[str, str]:
    """Annotations the capability's Service needs (Linkerd reads failure accrual from there)."""
    return linkerd.service_annotations(cap) if ctx.fleet.spec.routing.mesh == "linkerd" else {}


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    mesh = _MESHES.get(ctx.fleet.spec.routing.mesh)
    return mesh(cap, ctx) if mesh else []
