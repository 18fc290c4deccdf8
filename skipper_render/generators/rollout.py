"""Progressive delivery with Argo Rollouts: `rollout.strategy` canary or blueGreen (SPEC 2.3).

The Rollout `{cap}` carries the same pod template the Deployment would, so switching strategy
changes no pod (a Consul canary adds its revision annotations). Canary traffic is split by every
router on the capability's paths (Argo Rollouts drives several at once): the mesh for east-west
traffic (Istio: the VirtualService `{cap}`, one route per served port; Linkerd: its per-port
GAMMA routes `{cap}-{port}-mesh`; Consul: the subsets of ServiceResolver `{cap}` and the
ServiceSplitter `{cap}`), and for north-south traffic the public Gateway API route `{cap}`
(Argo Rollouts' Gateway API plugin: a mesh's VirtualService does not apply to a gateway's
traffic) or, without a mesh, ingress-nginx's canary on the public Ingress. With none of these the
canary is replica-based. Blue-green renders the active Service `{cap}` and a preview Service.

Analysis (an AnalysisTemplate) scores the pods of the new revision (the canary's, or blue-green's
preview) by the controller's pod-template-hash label, from the engine's metrics, and only where
something scrapes them. No data (no traffic yet: an empty result or NaN) passes: an error-free
revision is not failed for being idle (argo-rollouts `utils/evaluate`: `result[0]` of an empty
result is an evaluation error, and five in a row abort the rollout).
The controller-owned `rollouts-pod-template-hash` label is never rendered.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.monitoring import scraped
from skipper_render.quantity import seconds
from skipper_render.resolve import ResolvedCapability
from skipper_render.resources import Explicit

API = "argoproj.io/v1alpha1"
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
CONSUL_PLUGIN = "hashicorp/consul"  # argoproj-labs/rollouts-plugin-trafficrouter-consul
CONSUL_VERSION = "consul.hashicorp.com/service-meta-version"  # the plugin's subset filter reads it
STABLE_SUBSET, CANARY_SUBSET = "stable", "canary"
POD_HASH_ARG = "pod-hash"
DEFAULT_STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "1m"}},
    {"setWeight": 50},
    {"pause": {"duration": "1m"}},
]


def canary_service(cap: ResolvedCapability) -> str:
    return f"{cap.name}-canary"


def preview_service(cap: ResolvedCapability) -> str:
    return f"{cap.name}-preview"


def routers(cap: ResolvedCapability, ctx: Context) -> frozenset[str]:
    """Who splits a canary's traffic: the mesh ("istio", "linkerd", "consul"), "gateway" (the
    Gateway API plugin on the public route), "nginx" (ingress-nginx, without a mesh); empty for a
    replica-based canary or another strategy."""
    if cap.rollout.strategy != "canary":
        return frozenset()
    routing = ctx.fleet.spec.routing
    out: set[str] = set() if routing.mesh == "none" else {routing.mesh}
    public = any(cap.is_public(p.expose.namespace) for p in names.served_ports(cap))
    if public and routing.ingress is not None:
        if routing.ingress.api == "gateway":
            out.add("gateway")
        elif routing.ingress.className == "nginx" and routing.mesh == "none":
            out.add("nginx")  # a meshed ingress-nginx reaches the Service, where the mesh splits
    return frozenset(out)


def _traffic_routing(cap: ResolvedCapability, ctx: Context) -> dict[str, Any] | None:
    found = routers(cap, ctx)
    out: dict[str, Any] = {}
    plugins: dict[str, Any] = {}
    if "istio" in found:
        routes = [p.name for p in names.served_ports(cap)]
        out["istio"] = {"virtualService": {"name": cap.name, "routes": routes}}
    http_routes = [{"name": cap.name}] if "gateway" in found else []
    if "linkerd" in found:
        http_routes += [{"name": f"{cap.name}-{p.name}-mesh"} for p in names.served_ports(cap)]
    if http_routes:
        plugins[GATEWAY_PLUGIN] = {"httpRoutes": http_routes, "namespace": cap.namespace}
    if "consul" in found:
        subsets = {"stableSubsetName": STABLE_SUBSET, "canarySubsetName": CANARY_SUBSET}
        plugins[CONSUL_PLUGIN] = {"serviceName": cap.name, **subsets}
    if "nginx" in found:
        out["nginx"] = {"stableIngress": cap.name}
    if plugins:
        out["plugins"] = plugins
    return out or None


def _consul_template(cap: ResolvedCapability, template: Obj) -> Obj:
    """The pod template of a Consul canary: its revision as Consul service metadata, whose filter
    `Service.Meta.version == N` the plugin writes into the subsets; digits only, a bare number in
    Consul's filter syntax."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    metadata = template["metadata"]
    annotations = {**metadata.get("annotations", {}), CONSUL_VERSION: str(int(digest[:12], 16))}
    return {**template, "metadata": {**metadata, "annotations": annotations}}


def _step(step: dict[str, Any]) -> dict[str, Any]:
    """`pause: {}` pauses until promoted: keep that empty map through pruning."""
    return {**step, "pause": Explicit()} if step.get("pause") == {} else step


def analysed(cap: ResolvedCapability, ctx: Context) -> bool:
    """An analysis runs when asked for and when the engine's metrics are scraped."""
    if cap.rollout.analysis is None or not cap.progressive:
        return False
    if not scraped(cap, ctx):
        ctx.diags.warn(
            cap.where,
            "rollout.analysis needs the engine's metrics, but nothing scrapes this capability (no control "
            "expose, or no ServiceMonitor/scrape config): no analysis is rendered",
        )
        return False
    return True


def strategy(cap: ResolvedCapability, ctx: Context) -> dict[str, Any]:
    rollout = cap.rollout
    analysis = None
    if analysed(cap, ctx):  # score the new revision's pods (blue-green: the preview ReplicaSet)
        hash_arg = {"name": POD_HASH_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}}
        analysis = {"templates": [{"templateName": cap.name}], "args": [hash_arg]}
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
    if "consul" in routers(cap, ctx):
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


def _condition(threshold: str, compare: str) -> str:
    """Success unless there is data that misses the threshold: no traffic yet (an empty result, or
    NaN from 0/0) passes instead of erroring or failing."""
    return f"len(result) == 0 || isNaN(result[0]) || result[0] {compare} {threshold}"


def analysis_template(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    analysis = cap.rollout.analysis
    if analysis is None or not cap.progressive or not scraped(cap, ctx):
        return []
    selector = (
        f'capability="{cap.name}", environment="{ctx.fleet.environment}", '
        f'rollouts_pod_template_hash="{{{{args.{POD_HASH_ARG}}}}}"'
    )
    window = analysis.interval
    provider = {"address": ctx.fleet.spec.observability.prometheus.address}
    errors = f"sum(rate(ikanos_request_errors{{{selector}}}[{window}]))"
    total = f"sum(rate(ikanos_request_total{{{selector}}}[{window}]))"
    metrics: list[dict[str, Any]] = [
        {
            "name": "success-rate",
            "interval": window,
            "failureLimit": 1,
            "successCondition": _condition(f"{analysis.successRate:g}", ">="),
            "provider": {"prometheus": {**provider, "query": f"1 - ({errors} / {total})"}},
        }
    ]
    if analysis.latencyP99 is not None:
        buckets = f"rate(ikanos_request_duration_seconds_bucket{{{selector}}}[{window}])"
        metrics.append(
            {
                "name": "latency-p99",
                "interval": window,
                "failureLimit": 1,
                "successCondition": _condition(f"{seconds(analysis.latencyP99):g}", "<="),
                "provider": {"prometheus": {**provider, "query": f"histogram_quantile(0.99, sum by (le) ({buckets}))"}},
            }
        )
    return [
        {
            "apiVersion": API,
            "kind": "AnalysisTemplate",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {"args": [{"name": POD_HASH_ARG}], "metrics": metrics},
        }
    ]


def extra_services(cap: ResolvedCapability, service: Obj | None, ctx: Context) -> list[Obj]:
    """The canary or preview Service beside the stable/active Service `{cap}`, labelled so that
    monitoring and Consul's registration skip it (it selects the same pods)."""
    if service is None or not cap.progressive:
        return []
    role = "canary" if cap.rollout.strategy == "canary" else "preview"
    labels = {**service["metadata"]["labels"], names.TRAFFIC: role}
    if ctx.fleet.spec.routing.mesh == "consul":
        labels["consul.hashicorp.com/service-ignore"] = "true"
    name = canary_service(cap) if role == "canary" else preview_service(cap)
    return [{**service, "metadata": {**service["metadata"], "name": name, "labels": labels}}]
