"""ServiceMonitor on the control port's `/metrics`, only for capabilities with a control expose."""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.observability import RELABELINGS
from skipper_render.resolve import ResolvedCapability

API_VERSION = "monitoring.coreos.com/v1"


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    prometheus = ctx.fleet.spec.observability.prometheus
    if names.control_port(cap) is None or not prometheus.serviceMonitor:
        return []
    if not ctx.serves(API_VERSION, "ServiceMonitor"):
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ServiceMonitor",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {
                "selector": {"matchLabels": names.selector(cap)},
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
