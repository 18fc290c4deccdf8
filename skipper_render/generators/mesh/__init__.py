"""Service mesh integration, selected by `routing.mesh` (istio | linkerd | consul).

From the class's resilience: retries (retry.maxAttempts - 1 re-tries, Resilience4j counts the first
call), connection limits (bulkhead) and ejection (circuit breaker). Authorization allows only the
declared callers (`calls:` and consumes whose baseUri is another capability's Service), the fleet
gateways (to MCP ports), the ingress (to public exposes and REST-gateway routes), and anyone on the
`control` port (probes, Prometheus). Workload identity is the per-capability ServiceAccount `{cap}`.
One module per mesh; `base` holds what they share.
"""

from __future__ import annotations

from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mesh import consul, istio, linkerd
from skipper_render.generators.mesh.base import allowed_accounts, gateway_accounts
from skipper_render.resolve import ResolvedCapability

__all__ = ["gateway_accounts", "generate", "pod_metadata", "service_annotations"]

_MESHES = {"istio": istio.generate, "linkerd": linkerd.generate, "consul": consul.generate}


def pod_metadata(ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) a meshed pod template needs."""
    mesh = ctx.fleet.spec.routing.mesh
    if mesh == "istio":
        return {"sidecar.istio.io/inject": "true"}, {}
    if mesh == "linkerd":
        return {}, {"linkerd.io/inject": "enabled"}
    if mesh == "consul":
        return {}, {"consul.hashicorp.com/connect-inject": "true", "consul.hashicorp.com/transparent-proxy": "true"}
    return {}, {}


def service_annotations(cap: ResolvedCapability, ctx: Context) -> dict[str, str]:
    """Annotations the capability's Service needs (Linkerd reads failure accrual from there)."""
    return linkerd.service_annotations(cap) if ctx.fleet.spec.routing.mesh == "linkerd" else {}


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    mesh = _MESHES.get(ctx.fleet.spec.routing.mesh)
    return mesh(cap, ctx, allowed_accounts(cap, ctx)) if mesh else []
