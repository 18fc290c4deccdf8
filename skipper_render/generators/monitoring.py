"""ServiceMonitor on the control port's `/metrics`, and the one rule of what is scraped.

A capability's metrics exist only when it has a `control` expose and something scrapes it: a
ServiceMonitor (prometheus-operator, when the cluster serves the kind) or the plain scrape config.
Alerts, rollout analyses and the HPA's request-rate metric are rendered only for those
(`scraped`); the others get none (their HPA scales on CPU). The ServiceMonitor selects the
capability's own Service only, never its canary or preview Service, which select the same pods
(prometheus-operator scrapes every endpoint of every selected Service: twice the series).
"""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.resolve import ResolvedCapability

API_VERSION = "monitoring.coreos.com/v1"
POD_HASH = "rollouts-pod-template-hash"  # Argo Rollouts' label on every pod it runs
RELABELINGS = [
    {"sourceLabels": ["__meta_kubernetes_service_label_naftiko_io_capability"], "targetLabel": "capability"},
    {"sourceLabels": ["__meta_kubernetes_service_label_naftiko_io_environment"], "targetLabel": "environment"},
]


def service_monitors(ctx: Context) -> bool:
    prometheus = ctx.fleet.spec.observability.prometheus
    return prometheus.serviceMonitor and ctx.serves(API_VERSION, "ServiceMonitor")


def scraped(cap: ResolvedCapability, ctx: Context) -> bool:
    """Whether the capability's metrics reach Prometheus (and so may drive alerts, analyses, HPAs)."""
    if names.control_port(cap) is None:
        return False
    return service_monitors(ctx) or ctx.fleet.spec.observability.prometheus.scrapeConfig


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    """The ServiceMonitor (dropped with a warning by the API gate when the cluster serves none)."""
    if names.control_port(cap) is None or not ctx.fleet.spec.observability.prometheus.serviceMonitor:
        return []
    selector = {
        "matchLabels": names.selector(cap),
        "matchExpressions": [{"key": names.TRAFFIC, "operator": "DoesNotExist"}],
    }
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ServiceMonitor",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {
                "selector": selector,
                # analyses score the canary's (or the preview's) pods by the controller's hash label
                "podTargetLabels": [POD_HASH] if cap.progressive else None,
                "endpoints": [
                    {
                        "port": "control",
                        "path": "/metrics",
                        "scheme": "http",
                        "interval": "30s",
                        "relabelings": [{**r, "action": "replace"} for r in RELABELINGS],
                    }
                ],
            },
        }
    ]
