"""Progressive delivery with Argo Rollouts: `rollout.strategy` canary or blueGreen (SPEC 2.3).

The Rollout `{cap}` carries the same pod template the Deployment would, so switching strategy
changes no pod (a Consul canary adds its revision annotations). Canary traffic is split by what
already routes the capability: Istio (the VirtualService `{cap}`, route `primary`), the Gateway API
plugin (the public HTTPRoute `{cap}`, or with Linkerd its per-port GAMMA routes
`{cap}-{port}-mesh`), the Consul plugin (the subsets of ServiceResolver `{cap}` and the
ServiceSplitter `{cap}`) or ingress-nginx (the public Ingress `{cap}`); otherwise (no mesh, no
public route) the canary is replica-based. Blue-green renders the active Service `{cap}` and a
preview Service. Analysis reads the engine's metrics (error ratio and p99 latency) through an
AnalysisTemplate.
The controller-owned `rollouts-pod-template-hash` label is never rendered.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.observability import seconds
from skipper_render.resolve import ResolvedCapability
from skipper_render.resources import Explicit

API = "argoproj.io/v1alpha1"
CONSUL_PLUGIN = "hashicorp/consul"  # argoproj-labs/rollouts-plugin-trafficrouter-consul
CONSUL_VERSION = "consul.hashicorp.com/service-meta-version"  # the plugin's subset filter reads it
STABLE_SUBSET, CANARY_SUBSET = "stable", "canary"
DEFAULT_STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "1m"}},
    {"setWeight": 50},
    {"pause": {"duration": "1m"}},
]


def progressive(cap: ResolvedCapability) -> bool:
    return cap.rollout.strategy in ("canary", "blueGreen")


def canary_service(cap: ResolvedCapability) -> str:
    return f"{cap.name}-canary"


def preview_service(cap: ResolvedCapability) -> str:
    return f"{cap.name}-preview"


def traffic_router(cap: ResolvedCapability, ctx: Context) -> str | None:
    """Who splits canary traffic: the mesh ("istio", "linkerd", "consul"), "gateway" (the Gateway API
    plugin on the public route), "nginx", or None (replica-based)."""
    if cap.rollout.strategy != "canary":
        return None
    routing = ctx.fleet.spec.routing
    if routing.mesh != "none":
        return routing.mesh
    public = any(cap.is_public(e.namespace) for e in cap.spec.exposes if e.type != "control")
    if public and routing.ingress is not None:
        if routing.ingress.api == "gateway":
            return "gateway"
        if routing.ingress.className == "nginx":
            return "nginx"
    return None


def _traffic_routing(cap: ResolvedCapability, ctx: Context) -> dict[str, Any] | None:
    router = traffic_router(cap, ctx)
    if router == "istio":
        return {"istio": {"virtualService": {"name": cap.name, "routes": ["primary"]}}}
    if router == "gateway":
        return {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": cap.name, "namespace": cap.namespace}}}
    if router == "linkerd":
        routes = [{"name": f"{cap.name}-{p.name}-mesh"} for p in names.ports(cap) if p.expose.type != "control"]
        return {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoutes": routes, "namespace": cap.namespace}}}
    if router == "consul":
        subsets = {"stableSubsetName": STABLE_SUBSET, "canarySubsetName": CANARY_SUBSET}
        return {"plugins": {CONSUL_PLUGIN: {"serviceName": cap.name, **subsets}}}
    if router == "nginx":
        return {"nginx": {"stableIngress": cap.name}}
    return None


def _consul_template(cap: ResolvedCapability, template: Obj) -> Obj:
    """The pod template of a Consul canary: its revision as Consul service metadata, whose filter
    `Service.Meta.version == N` the plugin writes into the subsets; digits only, a bare number in
    Consul's filter syntax. `connect-service` keeps the pods one Consul service beside the canary
    Service that selects them too."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    annotations = {CONSUL_VERSION: str(int(digest[:12], 16)), "consul.hashicorp.com/connect-service": cap.name}
    metadata = template["metadata"]
    return {**template, "metadata": {**metadata, "annotations": {**metadata.get("annotations", {}), **annotations}}}


def _step(step: dict[str, Any]) -> dict[str, Any]:
    """`pause: {}` pauses until promoted: keep that empty map through pruning."""
    return {**step, "pause": Explicit()} if step.get("pause") == {} else step


def strategy(cap: ResolvedCapability, ctx: Context) -> dict[str, Any]:
    rollout = cap.rollout
    analysis = {"templates": [{"templateName": cap.name}]} if rollout.analysis else None
    if rollout.strategy == "blueGreen":
        return {
            "blueGreen": {
                "activeService": cap.name,
                "previewService": preview_service(cap),
                "autoPromotionEnabled": bool(rollout.autoPromote),
                "prePromotionAnalysis": analysis,
            }
        }
    steps = [_step(s.model_dump(exclude_none=True)) for s in rollout.steps] if rollout.steps else DEFAULT_STEPS
    return {
        "canary": {
            "stableService": cap.name,
            "canaryService": canary_service(cap),
            "maxSurge": rollout.maxSurge,
            "maxUnavailable": rollout.maxUnavailable,
            "steps": steps,
            "trafficRouting": _traffic_routing(cap, ctx),
            "analysis": {**analysis, "startingStep": 1} if analysis else None,
        }
    }


def rollout_object(cap: ResolvedCapability, ctx: Context, deployment: Obj) -> Obj:
    """The Rollout that replaces `deployment` (same metadata, selector and pod template)."""
    spec = deployment["spec"]
    template = spec["template"]
    if traffic_router(cap, ctx) == "consul":
        template = _consul_template(cap, template)
    return {
        "apiVersion": API,
        "kind": "Rollout",
        "metadata": deployment["metadata"],
        "spec": {
            "replicas": spec.get("replicas"),
            "revisionHistoryLimit": 5,
            "selector": spec["selector"],
            "template": template,
            "strategy": strategy(cap, ctx),
        },
    }


def analysis_template(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    analysis = cap.rollout.analysis
    if analysis is None or not progressive(cap):
        return []
    selector = f'capability="{cap.name}", environment="{ctx.fleet.environment}"'
    window = analysis.interval
    provider = {"prometheus": {"address": ctx.fleet.spec.observability.prometheus.address}}
    errors = f"sum(rate(ikanos_request_errors{{{selector}}}[{window}]))"
    total = f"sum(rate(ikanos_request_total{{{selector}}}[{window}]))"
    metrics: list[dict[str, Any]] = [
        {
            "name": "success-rate",
            "interval": window,
            "failureLimit": 1,
            "successCondition": f"result[0] >= {analysis.successRate:g}",
            "provider": {"prometheus": {**provider["prometheus"], "query": f"1 - ({errors} / {total})"}},
        }
    ]
    if analysis.latencyP99 is not None:
        buckets = f"rate(ikanos_request_duration_seconds_bucket{{{selector}}}[{window}])"
        quantile = f"histogram_quantile(0.99, sum by (le) ({buckets}))"
        metrics.append(
            {
                "name": "latency-p99",
                "interval": window,
                "failureLimit": 1,
                "successCondition": f"result[0] <= {seconds(analysis.latencyP99)}",
                "provider": {"prometheus": {**provider["prometheus"], "query": quantile}},
            }
        )
    return [
        {
            "apiVersion": API,
            "kind": "AnalysisTemplate",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {"metrics": metrics},
        }
    ]


def extra_services(cap: ResolvedCapability, service: Obj | None) -> list[Obj]:
    """The canary or preview Service beside the stable/active Service `{cap}`."""
    if service is None or not progressive(cap):
        return []
    name = canary_service(cap) if cap.rollout.strategy == "canary" else preview_service(cap)
    return [{**service, "metadata": {**service["metadata"], "name": name}}]
