"""What the meshes' own controllers impose on the objects around them.

- consul-k8s (v2.0 `connect-inject` webhook and endpoints controller): with ACLs the webhook
  refuses a pod that does not mount its service-account token; a pod selected by a second Service
  that is not labelled `consul.hashicorp.com/service-ignore` registers twice and its connect-init
  never finishes; the transparent proxy forwards every mesh connection to one port.
- Istio: a VirtualService without `gateways` applies to sidecars only, so a public canary's
  north-south traffic is split only on its Gateway API route (Argo Rollouts' Gateway API plugin).
- Every mesh: an MCP tool call is a POST with side effects that may run long: no retries, no
  request timeout on MCP ports (Istio retries by default unless `attempts: 0`).
"""

from __future__ import annotations

from collections.abc import Callable

from skipper_render.wiring.index import Obj, Pod, of_kind, selects
from skipper_render.wiring.ports import meshed

Report = Callable[[str], None]
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def consul(objects: list[Obj], pods: list[Pod], report: Report) -> None:
    services = of_kind(objects, "Service")
    for pod in (p for p in pods if meshed(p) == "consul"):
        mounted = any(m["mountPath"] == TOKEN_PATH for c in pod.containers for m in c.get("volumeMounts", []))
        if pod.spec.get("automountServiceAccountToken") is False and not mounted:
            report(
                f"{pod.owner}: Consul's connect-inject with ACLs needs the service-account token, "
                "which it does not mount"
            )
        selecting = [
            s
            for s in services
            if selects(s["spec"].get("selector"), pod.labels)
            and s["metadata"].get("labels", {}).get("consul.hashicorp.com/service-ignore") != "true"
        ]
        if len(selecting) > 1:
            listed = ", ".join(s["metadata"]["name"] for s in selecting)
            report(
                f"{pod.owner}: a second Service selects its pods ({listed}) without consul.hashicorp.com/service-ignore"
            )


def mcp_routes(objects: list[Obj], mcp_ports: set[int], report: Report) -> None:
    for service in of_kind(objects, "VirtualService"):
        for route in service["spec"].get("http", []):
            ports = {m.get("port") for m in route.get("match", [])}
            if ports & mcp_ports and ((route.get("retries") or {}).get("attempts", 1) != 0 or "timeout" in route):
                report(
                    f"VirtualService {service['metadata']['name']} route {route.get('name')}: "
                    "MCP calls are retried or cut at a timeout"
                )
    for route in of_kind(objects, "HTTPRoute"):
        annotations = route["metadata"].get("annotations", {})
        ports = {p.get("port") for p in route["spec"].get("parentRefs", [])}
        if ports & mcp_ports and any(k.startswith(("retry.linkerd.io", "timeout.linkerd.io")) for k in annotations):
            report(f"HTTPRoute {route['metadata']['name']}: MCP calls are retried or cut at a timeout")


def north_south(objects: list[Obj], report: Report) -> None:
    """An Istio canary that is public is split on its public route too."""
    public = {
        o["metadata"]["name"] for o in of_kind(objects, "HTTPRoute") if o["apiVersion"].startswith("gateway.networking")
    }
    for rollout in of_kind(objects, "Rollout"):
        routing = (rollout["spec"]["strategy"].get("canary") or {}).get("trafficRouting") or {}
        if "istio" not in routing:
            continue
        name = rollout["metadata"]["name"]
        plugin = (routing.get("plugins") or {}).get("argoproj-labs/gatewayAPI") or {}
        if name in public and name not in {r["name"] for r in plugin.get("httpRoutes", [])}:
            report(
                f"Rollout {name}: the VirtualService splits mesh traffic only; "
                f"its public HTTPRoute {name} is not weighted"
            )
