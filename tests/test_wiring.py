"""The wiring check (SPEC 4.1) over every fixture, and each defect class it exists to catch.

Every defect the review found is put back into a correct render (the object as the old renderer
wrote it) and the check must refuse it: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FIXTURES

from skipper_render import render
from skipper_render.errors import Collector
from skipper_render.generators.base import Context
from skipper_render.names import CAPABILITY
from skipper_render.render import environments
from skipper_render.wiring import Checker

Obj = dict[str, Any]


def _cases() -> list[Any]:
    out = []
    for case in sorted(p for p in (FIXTURES / "valid").iterdir() if p.is_dir()):
        config = (
            yaml.safe_load((case / "skipper-test.yaml").read_text()) if (case / "skipper-test.yaml").exists() else {}
        )
        for env in [*sorted(environments(case))] or [None]:
            result = render(case, env)
            clusters = [c.name for c in result.fleet.clusters] or [None]
            for target in config.get("targets", ["kubernetes"]):
                for cluster in clusters:
                    out.append(pytest.param(case, env, cluster, target, id=f"{case.name}-{env}-{cluster}-{target}"))
    return out


def check(fleet: Path, env: str | None, mutate: Callable[[list[Obj]], None] | None = None, **options: Any) -> list[str]:
    """Render, optionally break the objects, and run the wiring check on them as render does."""
    result = render(fleet, env, **options)
    objects = copy.deepcopy(list(result.objects))
    if mutate is not None:
        mutate(objects)
    diags = Collector()
    checker = Checker(Context(result.fleet, options.get("target", "kubernetes"), diags))
    for cap in result.fleet.capabilities:
        checker.capability(cap, [o for o in objects if o["metadata"].get("labels", {}).get(CAPABILITY) == cap.name])
    checker.fleet([o for o in objects if CAPABILITY not in o["metadata"].get("labels", {})])
    return [d.message for d in diags.errors]


@pytest.mark.parametrize(("case", "env", "cluster", "target"), _cases())
def test_every_fixture_is_wired(case: Path, env: str | None, cluster: str | None, target: str) -> None:
    """render itself refuses a mis-wired fleet; the check also passes when run on its output."""
    assert check(case, env, cluster=cluster, target=target) == []


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


ISTIO = FIXTURES / "valid" / "routing-istio"
LINKERD = FIXTURES / "valid" / "routing-linkerd"
CONSUL = FIXTURES / "valid" / "routing-consul"
DEMO = FIXTURES / "valid" / "demo"
SECURE = FIXTURES / "valid" / "secure"


def _gateway_on_sidecar_ports(objects: list[Obj]) -> None:
    configmap = one(objects, "ConfigMap", "harbor-mcp-gateway")
    config = yaml.safe_load(configmap["data"]["config.yaml"])
    config["config"] |= {"adminAddr": "127.0.0.1:15000", "statsAddr": "0.0.0.0:15020", "readinessAddr": "0.0.0.0:15021"}
    configmap["data"]["config.yaml"] = yaml.safe_dump(config)


def _no_token(objects: list[Obj]) -> None:
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "shipyard":
            obj["spec"]["template"]["spec"]["automountServiceAccountToken"] = False


def _guardless_analysis(objects: list[Obj]) -> None:
    for metric in one(objects, "AnalysisTemplate", "ping")["spec"]["metrics"]:
        metric["successCondition"] = "result[0] >= 0.99"


def _scrape_canary_too(objects: list[Obj]) -> None:
    one(objects, "ServiceMonitor", "ping")["spec"]["selector"].pop("matchExpressions")


def _callers_dropped(objects: list[Obj]) -> None:
    policy = next(
        o
        for o in objects
        if o["kind"] == "AuthorizationPolicy" and o["metadata"]["name"] == "teams" and o["spec"]["action"] == "ALLOW"
    )
    policy["spec"]["rules"] = [
        r for r in policy["spec"]["rules"] if "principals" not in str(r) or "mcp-gateway" in str(r)
    ]


def _open_control_everywhere(objects: list[Obj]) -> None:
    policy = next(
        o
        for o in objects
        if o["kind"] == "AuthorizationPolicy" and o["metadata"]["name"] == "teams" and o["spec"]["action"] == "ALLOW"
    )
    policy["spec"]["rules"].append({"to": [{"operation": {"ports": ["3001"]}}]})


def _linkerd_port_without_server(objects: list[Obj]) -> None:
    objects.remove(one(objects, "Server", "shipyard-mcp"))


def _alert_for_suspended(objects: list[Obj]) -> None:
    one(objects, "Deployment", "ping")["spec"]["replicas"] = 0


def _pods_metric_without_metrics(objects: list[Obj]) -> None:
    target = {"type": "AverageValue", "averageValue": "10"}
    hpa = one(objects, "HorizontalPodAutoscaler", "registry")
    hpa["spec"]["metrics"] = [
        {"type": "Pods", "pods": {"metric": {"name": "ikanos_requests_per_second"}, "target": target}}
    ]


def _probe_on_missing_port(objects: list[Obj]) -> None:
    container = one(objects, "Deployment", "registry")["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {"httpGet": {"path": "/health/ready", "port": "control"}}


def _canary_route_missing(objects: list[Obj]) -> None:
    one(objects, "VirtualService", "shipyard")["spec"]["http"][0]["name"] = "primary"


def _secret_never_produced(objects: list[Obj]) -> None:
    volumes = one(objects, "Deployment", "ping")["spec"]["template"]["spec"]["volumes"]
    volumes.append({"name": "extra", "secret": {"secretName": "nobody-makes-this"}})


def _consul_second_service(objects: list[Obj]) -> None:
    labels = one(objects, "Service", "prompts-canary")["metadata"]["labels"]
    labels.pop("consul.hashicorp.com/service-ignore")


def _public_canary_unsplit(objects: list[Obj]) -> None:
    one(objects, "Rollout", "shipyard")["spec"]["strategy"]["canary"]["trafficRouting"].pop("plugins")


def _mcp_retried(objects: list[Obj]) -> None:
    route = one(objects, "VirtualService", "teams")["spec"]["http"][0]
    route["retries"] = {"attempts": 2, "retryOn": "5xx"}


def _ingress_as_fleet_namespace(objects: list[Obj]) -> None:
    for rule in one(objects, "NetworkPolicy", "shipyard")["spec"]["ingress"]:
        for peer in rule.get("from", []):
            if "namespaceSelector" in peer:
                peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "secure-prod"}}


def _hpa_target_missing(objects: list[Obj]) -> None:
    next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] = "pong"


DEFECTS = [
    ("istio public canary", ISTIO, "prod", _public_canary_unsplit, "its public HTTPRoute shipyard is not weighted"),
    ("mcp retried", ISTIO, "dev", _mcp_retried, "MCP calls are retried or cut at a timeout"),
    (
        "ingress source",
        SECURE,
        "prod",
        _ingress_as_fleet_namespace,
        "a stranger pod in the namespace can reach shipyard",
    ),
    ("hpa target", DEMO, "staging", _hpa_target_missing, "scales Rollout pong, which is not rendered"),
    (
        "istio gateway ports",
        ISTIO,
        "prod",
        _gateway_on_sidecar_ports,
        "which istio's injected proxy owns (15000-15090)",
    ),
    ("consul token", CONSUL, "dev", _no_token, "connect-inject with ACLs needs the service-account token"),
    ("analysis no-data", LINKERD, "dev", _guardless_analysis, "no traffic yet (an empty result) fails the analysis"),
    ("double scrape", LINKERD, "dev", _scrape_canary_too, "selects 2 Services (ping, ping-canary)"),
    (
        "callers dropped",
        ISTIO,
        "dev",
        _callers_dropped,
        "capability shipyard may call teams on port mcp (3001) but Istio denies it",
    ),
    (
        "undeclared path",
        ISTIO,
        "dev",
        _open_control_everywhere,
        "a stranger pod in the namespace can reach teams on port mcp (3001)",
    ),
    (
        "linkerd default policy",
        LINKERD,
        "dev",
        _linkerd_port_without_server,
        "can reach shipyard on port mcp (3001), which nothing declares",
    ),
    ("alerts suspended", DEMO, "staging", _alert_for_suspended, "alerts on ping, but it does not run"),
    ("hpa metric", CONSUL, "dev", _pods_metric_without_metrics, "scales on a Pods metric nothing scrapes"),
    ("probe port", CONSUL, "dev", _probe_on_missing_port, "readinessProbe uses port 'control', not one of its own"),
    ("rollout route", ISTIO, "dev", _canary_route_missing, "VirtualService shipyard has no route 'mcp'"),
    (
        "secret",
        ISTIO,
        "dev",
        _secret_never_produced,
        "mounts Secret 'nobody-makes-this', which is neither rendered nor expected",
    ),
    ("consul second service", CONSUL, "dev", _consul_second_service, "a second Service selects its pods"),
]


@pytest.mark.parametrize(("fleet", "env", "mutate", "message"), [pytest.param(*d[1:], id=d[0]) for d in DEFECTS])
def test_each_defect_class_is_refused(fleet: Path, env: str, mutate: Callable[[list[Obj]], None], message: str) -> None:
    cluster = "prod-eu" if env == "prod" and fleet != SECURE else None
    assert check(fleet, env, cluster=cluster) == [], "the fixture itself must be wired"
    found = check(fleet, env, mutate, cluster=cluster)
    assert any(message in m for m in found), found


@pytest.mark.parametrize(("case", "env", "cluster", "target"), _cases())
def test_the_per_capability_split_adds_up_to_the_whole_render(
    case: Path, env: str | None, cluster: str | None, target: str
) -> None:
    """SPEC 4: `--capability X --part capabilities` for every X plus `--part fleet` is the whole
    render, object for object and byte for byte (what the ApplicationSet's Applications apply)."""
    whole = render(case, env, cluster=cluster, target=target)
    parts = {d.key: d.text for d in render(case, env, cluster=cluster, target=target, part="fleet").documents}
    for cap in whole.fleet.capabilities:
        sliced = render(case, env, cluster=cluster, target=target, capability=cap.name, part="capabilities")
        for doc in sliced.documents:
            assert doc.key not in parts, f"{doc.key} is rendered by two slices"
            parts[doc.key] = doc.text
    assert parts == {d.key: d.text for d in whole.documents}
