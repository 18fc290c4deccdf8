"""Argo Rollouts: canary and blue-green from `rollout:` (SPEC 2.3)."""

from __future__ import annotations

from typing import Any

import promql_parser
from helpers import FIXTURES

from skipper_render.render import RenderRequest, render


def _objects(case: str, env: str) -> list[dict[str, Any]]:
    return list(render(RenderRequest(FIXTURES / "valid" / case, env)).objects)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_istio_canary_with_analysis() -> None:
    objects = _objects("routing-istio", "prod")
    assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "shipyard"]
    rollout = _get(objects, "Rollout", "shipyard")
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["steps"] == [{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}, {"pause": {}}]
    assert canary["trafficRouting"] == {"istio": {"virtualService": {"name": "shipyard", "routes": ["primary"]}}}
    assert (canary["stableService"], canary["canaryService"]) == ("shipyard", "shipyard-canary")
    assert canary["analysis"] == {"templates": [{"templateName": "shipyard"}], "startingStep": 1}
    route = _get(objects, "VirtualService", "shipyard")["spec"]["http"][0]
    assert route["name"] == "primary"
    assert [d["weight"] for d in route["route"]] == [100, 0]
    assert _get(objects, "Service", "shipyard-canary")["spec"]["selector"] == {"naftiko.io/capability": "shipyard"}
    hpa = _get(objects, "HorizontalPodAutoscaler", "shipyard")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "shipyard",
    }
    assert "rollouts-pod-template-hash" not in str(rollout)
    template = _get(objects, "AnalysisTemplate", "shipyard")["spec"]["metrics"]
    assert [m["successCondition"] for m in template] == ["result[0] >= 0.99", "result[0] <= 0.5"]
    for metric in template:
        promql_parser.parse(metric["provider"]["prometheus"]["query"])


def test_blue_green_renders_active_and_preview_services() -> None:
    objects = _objects("routing-istio", "prod")
    blue_green = _get(objects, "Rollout", "teams")["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == "teams"
    assert blue_green["previewService"] == "teams-preview"
    assert blue_green["autoPromotionEnabled"] is False
    assert blue_green["prePromotionAnalysis"] == {"templates": [{"templateName": "teams"}]}
    assert _get(objects, "Service", "teams-preview")["spec"]["ports"]


def test_gateway_api_canary_weights_live_in_the_public_route() -> None:
    objects = _objects("demo", "dev")
    canary = _get(objects, "Rollout", "oauth-tools")["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "oauth-tools", "namespace": "shipyard-dev"}}
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
