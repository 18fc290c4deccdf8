"""API gating: with the served APIs given (`--api-versions`, Argo CD's KUBE_API_VERSIONS), a kind
the cluster does not serve is never emitted silently. Monitoring kinds are optional (dropped with a
warning: the workloads run without them); any other is an error naming the API and the manifest
field that asks for it, since the feature would not work."""

from __future__ import annotations

from skipper_render.errors import Location, Where
from skipper_render.generators.base import Context
from skipper_render.wiring.index import Obj

OPTIONAL = frozenset({"monitoring.coreos.com"})
FIELDS: dict[str, tuple[str | int, ...]] = {
    "argoproj.io": ("capabilities", "{cap}", "rollout"),
    "gateway.networking.k8s.io": ("routing", "ingress", "api"),
    "networking.k8s.io": ("routing", "ingress", "api"),
    "external-secrets.io": ("security", "secrets", "provider"),
    "cert-manager.io": ("security", "mtls"),
    "networking.istio.io": ("routing", "mesh"),
    "security.istio.io": ("routing", "mesh"),
    "policy.linkerd.io": ("routing", "mesh"),
    "consul.hashicorp.com": ("routing", "mesh"),
}


def _field(obj: Obj, group: str, ctx: Context, capability: str | None) -> Where:
    if group == "naftiko.io":
        return Location("--target")
    if group == "gateway.networking.k8s.io" and obj["metadata"]["name"].endswith("-mesh"):
        path: tuple[str | int, ...] = ("routing", "mesh")  # Linkerd's GAMMA routes of a canary
    elif group == "networking.k8s.io" and obj["kind"] == "NetworkPolicy":
        path = ("security", "networkPolicy")
    else:
        path = FIELDS.get(group, ("capabilities", "{cap}") if capability else ())
    return ctx.fleet.at(tuple(capability if p == "{cap}" and capability else p for p in path))


def gate(objects: list[Obj], ctx: Context, capability: str | None = None) -> tuple[list[Obj], bool]:
    """(the objects the cluster serves, whether a needed kind was refused)."""
    if ctx.api_versions is None:
        return objects, False
    kept = []
    refused = False
    for obj in objects:
        api_version, kind = obj["apiVersion"], obj["kind"]
        if ctx.serves(api_version, kind):
            kept.append(obj)
            continue
        group = api_version.rpartition("/")[0]
        if group in OPTIONAL:
            ctx.diags.warn(
                Location("--api-versions"), f"the cluster does not serve {api_version}/{kind}: none is rendered"
            )
            continue
        where = _field(obj, group, ctx, capability)
        ctx.diags.error(where, f"the cluster does not serve {api_version}/{kind}, which this needs")
        refused = True
    return kept, refused
