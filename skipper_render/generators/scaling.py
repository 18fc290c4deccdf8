"""HorizontalPodAutoscaler and PodDisruptionBudget from the capability's class.

The class's `targetRequestsPerSecond` becomes a Pods metric `ikanos_requests_per_second`
(served by prometheus-adapter from `ikanos_request_total`, see the README); a class without it
scales on CPU. A fixed `replicas` or `state: suspended` means no HPA.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.rollout import progressive
from skipper_render.resolve import ResolvedCapability

RPS_METRIC = "ikanos_requests_per_second"
CPU_UTILIZATION = 80


def hpa(cap: ResolvedCapability, ctx: Context) -> Obj | None:
    if cap.hpa is None:
        return None
    metric: dict[str, Any]
    target: dict[str, Any]
    if cap.hpa.targetRequestsPerSecond is not None:
        target = {"type": "AverageValue", "averageValue": str(cap.hpa.targetRequestsPerSecond)}
        metric = {"type": "Pods", "pods": {"metric": {"name": RPS_METRIC}, "target": target}}
    else:
        target = {"type": "Utilization", "averageUtilization": CPU_UTILIZATION}
        metric = {"type": "Resource", "resource": {"name": "cpu", "target": target}}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "spec": {
            "scaleTargetRef": (
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": cap.name}
                if progressive(cap)
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
