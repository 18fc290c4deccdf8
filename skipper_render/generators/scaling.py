"""HorizontalPodAutoscaler and PodDisruptionBudget from the capability's class.

The class's `targetRequestsPerSecond` becomes a Pods metric `ikanos_requests_per_second`
(served by prometheus-adapter from `ikanos_request_total`, see the README) when the capability's
metrics are scraped; otherwise (or for a class without it) the HPA scales on CPU. A fixed
`replicas` or `state: suspended` means no HPA.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.monitoring import scraped
from skipper_render.resolve import ResolvedCapability

RPS_METRIC = "ikanos_requests_per_second"
CPU_UTILIZATION = 80


def hpa(cap: ResolvedCapability, ctx: Context) -> Obj | None:
    if cap.hpa is None:
        return None
    metric: dict[str, Any]
    target: dict[str, Any]
    if cap.hpa.targetRequestsPerSecond is not None and scraped(cap, ctx):
        target = {"type": "AverageValue", "averageValue": str(cap.hpa.targetRequestsPerSecond)}
        metric = {"type": "Pods", "pods": {"metric": {"name": RPS_METRIC}, "target": target}}
    else:
        if cap.hpa.targetRequestsPerSecond is not None:
            ctx.diags.warn(
                cap.where,
                f"class {cap.class_name}'s targetRequestsPerSecond needs the engine's metrics, but nothing "
                "scrapes this capability (no control expose, or no ServiceMonitor/scrape config): its HPA "
                f"scales on CPU ({CPU_UTILIZATION}%)",
            )
        target = {"type": "Utilization", "averageUtilization": CPU_UTILIZATION}
        metric = {"type": "Resource", "resource": {"name": "cpu", "target": target}}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "spec": {
            "scaleTargetRef": (
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": cap.name}
                if cap.progressive
                else {"apiVersion": "apps/v1", "kind": "Deployment", "name": cap.name}
            ),
            "minReplicas": cap.hpa.minReplicas,
            "maxReplicas": max(cap.hpa.maxReplicas, cap.hpa.minReplicas),
            "metrics": [metric],
        },
    }


def pdb(cap: ResolvedCapability, ctx: Context) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector(cap)}},
    }


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    autoscaler = hpa(cap, ctx)
    return [*([autoscaler] if autoscaler else []), pdb(cap, ctx)]
