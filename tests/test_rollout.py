"""Argo Rollouts: canary and blue-green from `rollout:` (SPEC 2.3)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import promql_parser
from helpers import FIXTURES, validate_object

from skipper_render import render


def _objects(case: str, env: str) -> list[dict[str, Any]]:
    return list(render(FIXTURES / "valid" / case, env).objects)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_istio_canary_splits_mesh_and_public_traffic() -> None:
    objects = _objects("routing-istio", "prod")
    assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "shipyard"]
    rollout = _get(objects, "Rollout", "shipyard")
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["steps"] == [{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}, {"pause": {}}]
    routes = ["mcp", "skill", "rest"]  # one VirtualService route per served port
    assert canary["trafficRouting"] == {
        "istio": {"virtualService": {"name": "shipyard", "routes": routes}},
        # a VirtualService without gateways splits mesh traffic only: the public route is weighted too
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoutes": [{"name": "shipyard"}], "namespace": "harbor-prod"}},
    }
    assert (canary["stableService"], canary["canaryService"]) == ("shipyard", "shipyard-canary")
    assert "analysis" not in canary  # shipyard has no control port: nothing scrapes it (a warning says so)
    for route in _get(objects, "VirtualService", "shipyard")["spec"]["http"]:
        assert [d["weight"] for d in route["route"]] == [100, 0]
        if route["name"] == "mcp":  # tool calls have side effects and run long
            assert route["retries"] == {"attempts": 0} and "timeout" not in route
        else:
            assert route["retries"]["attempts"] == 4 and route["timeout"] == "30s"
    assert [b["weight"] for b in _get(objects, "HTTPRoute", "shipyard")["spec"]["rules"][0]["backendRefs"]] == [100, 0]
    canary_service = _get(objects, "Service", "shipyard-canary")
    assert canary_service["spec"]["selector"] == {"naftiko.io/capability": "shipyard"}
    assert canary_service["metadata"]["labels"]["naftiko.io/traffic"] == "canary"
    hpa = _get(objects, "HorizontalPodAutoscaler", "shipyard")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "shipyard",
    }
    assert "rollouts-pod-template-hash" not in str(rollout)


def test_analysis_scores_the_new_revision_and_passes_without_traffic() -> None:
    objects = _objects("routing-linkerd", "prod")
    canary = _get(objects, "Rollout", "ping")["spec"]["strategy"]["canary"]
    hash_arg = {"name": "pod-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
    assert canary["analysis"] == {"templates": [{"templateName": "ping"}], "args": [hash_arg], "startingStep": 1}
    template = _get(objects, "AnalysisTemplate", "ping")["spec"]
    assert template["args"] == [{"name": "pod-hash"}]
    (metric,) = template["metrics"]
    assert metric["successCondition"] == "len(result) == 0 || isNaN(result[0]) || result[0] >= 0.98"
    query = metric["provider"]["prometheus"]["query"]
    assert 'rollouts_pod_template_hash="{{args.pod-hash}}"' in query
    promql_parser.parse(query.replace("{{args.pod-hash}}", "abc123"))
    monitor = _get(objects, "ServiceMonitor", "ping")["spec"]
    assert monitor["podTargetLabels"] == ["rollouts-pod-template-hash"]  # the label the query selects on
    assert monitor["selector"]["matchExpressions"] == [{"key": "naftiko.io/traffic", "operator": "DoesNotExist"}]


def test_blue_green_renders_active_and_preview_services() -> None:
    objects = _objects("routing-istio", "prod")
    blue_green = _get(objects, "Rollout", "teams")["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == "teams"
    assert blue_green["previewService"] == "teams-preview"
    assert blue_green["autoPromotionEnabled"] is False
    assert "prePromotionAnalysis" not in blue_green  # teams serves no control port: no metrics to analyse
    preview = _get(objects, "Service", "teams-preview")
    assert preview["spec"]["ports"] and preview["metadata"]["labels"]["naftiko.io/traffic"] == "preview"


def test_gateway_api_canary_weights_live_in_the_public_route() -> None:
    objects = _objects("demo", "dev")
    canary = _get(objects, "Rollout", "oauth-tools")["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoutes": [{"name": "oauth-tools"}], "namespace": "shipyard-dev"}}
    }
    route = _get(objects, "HTTPRoute", "oauth-tools")
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert refs == [
        {"name": "oauth-tools", "port": 3001, "weight": 100},
        {"name": "oauth-tools-canary", "port": 3001, "weight": 0},
    ]


def test_nginx_canary_uses_the_public_ingress() -> None:
    canary = _get(_objects("naftiko-legacy", "dev"), "Rollout", "teams")["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {"nginx": {"stableIngress": "teams"}}
    assert canary["steps"] == [{"setWeight": 25}, {"pause": {"duration": "10m"}}]


def test_linkerd_canary_weights_gamma_routes() -> None:
    objects = _objects("routing-linkerd", "prod")
    canary = _get(objects, "Rollout", "ping")["spec"]["strategy"]["canary"]
    routes = canary["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"]["httpRoutes"]
    assert routes == [{"name": "ping-rest-mesh"}, {"name": "ping-skill-mesh"}]
    for route in routes:
        obj = _get(objects, "HTTPRoute", route["name"])
        assert obj["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert obj["spec"]["parentRefs"][0]["kind"] == "Service"
        assert [b["weight"] for b in obj["spec"]["rules"][0]["backendRefs"]] == [100, 0]


def test_consul_canary_moves_subsets_and_splits_through_the_plugin() -> None:
    objects = _objects("routing-consul", "prod")
    rollout = _get(objects, "Rollout", "prompts")
    routing = rollout["spec"]["strategy"]["canary"]["trafficRouting"]
    assert routing == {
        "plugins": {
            "hashicorp/consul": {"serviceName": "prompts", "stableSubsetName": "stable", "canarySubsetName": "canary"}
        }
    }
    annotations = rollout["spec"]["template"]["metadata"]["annotations"]
    assert annotations["consul.hashicorp.com/service-meta-version"].isdigit()  # a bare number in Consul's filters
    assert annotations["consul.hashicorp.com/connect-service"] == "prompts"
    canary_service = _get(objects, "Service", "prompts-canary")["metadata"]["labels"]
    assert canary_service["consul.hashicorp.com/service-ignore"] == "true"  # registered once, as prompts
    resolver = _get(objects, "ServiceResolver", "prompts")["spec"]
    assert resolver["defaultSubset"] == "stable"
    assert resolver["subsets"] == {"stable": {"filter": ""}, "canary": {"filter": ""}}
    assert resolver["failover"] == {"*": {"datacenters": ["us-east-1"]}}  # multi-region failover stays
    splits = _get(objects, "ServiceSplitter", "prompts")["spec"]["splits"]
    assert splits == [{"serviceSubset": "stable", "weight": 100}, {"serviceSubset": "canary", "weight": 0}]
    assert not [o for o in objects if o["kind"] == "ServiceSplitter" and o["metadata"]["name"] != "prompts"]
    assert "subsets" not in _get(objects, "ServiceResolver", "shipyard")["spec"]  # no canary, no subsets
    for obj in objects:
        validate_object(obj)


def test_consul_canary_revision_follows_the_pod_template(tmp_path: Path) -> None:
    fleet = tmp_path / "consul"
    shutil.copytree(FIXTURES / "valid" / "routing-consul", fleet)

    def revision() -> str:
        rollout = _get(list(render(fleet, "prod").objects), "Rollout", "prompts")
        value: str = rollout["spec"]["template"]["metadata"]["annotations"]["consul.hashicorp.com/service-meta-version"]
        return value

    before = revision()
    assert revision() == before
    manifest = fleet / "naftiko.fleet.yaml"
    text = manifest.read_text().replace("calls: [shipyard]", "calls: [shipyard]\n      env: {LOG_LEVEL: debug}")
    manifest.write_text(text)
    assert revision() != before
