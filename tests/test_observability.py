"""Observability: PromQL parses with a real parser, the dashboard uses only engine metrics, alerts are complete."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import pytest
from helpers import FIXTURES

from skipper_render import render
from skipper_render.generators.observability import ENGINE_METRICS, RATIO_WINDOWS, ratio_record

DEMO = FIXTURES / "valid" / "demo"
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$environment": "prod", "$capability": "shipyard"}


def _objects(env: str) -> list[dict[str, Any]]:
    return list(render(DEMO, env).objects)


def _metrics(expr: str) -> set[str]:
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.add(node.name)
        for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                visit(child)
        for arg in getattr(node, "args", None) or []:
            visit(arg)

    visit(promql_parser.parse(expr))
    return found


def _dashboard(objects: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = next(o for o in objects if o["metadata"]["name"] == "shipyard-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    return json.loads(configmap["data"]["shipyard.json"])


def test_dashboard_queries_parse_and_use_only_engine_metrics() -> None:
    dashboard = _dashboard(_objects("prod"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) == 11
    engine = set(ENGINE_METRICS) | {f"{m}_bucket" for m in ENGINE_METRICS}
    used: set[str] = set()
    for expr in exprs:
        query = expr
        for name, value in GRAFANA_VARIABLES.items():
            query = query.replace(name, value)
        metrics = _metrics(query)
        assert metrics and metrics <= engine, query
        used |= metrics
    assert used == {
        "ikanos_capability_active",
        "ikanos_request_total",
        "ikanos_request_errors",
        "ikanos_request_duration_seconds_bucket",
        "ikanos_http_client_total",
        "ikanos_http_client_duration_seconds_bucket",
    }
    per_op = [p for p in dashboard["panels"] if "ikanos_operation_id" in json.dumps(p.get("targets"))]
    assert per_op and all(p["gridPos"]["y"] > 17 for p in per_op)  # below the repeated capability row


def test_dashboard_is_stable_and_flux_safe() -> None:
    objects = _objects("prod")
    dashboard = _dashboard(objects)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "shipyard-prod"
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "environment", "capability"}
    repeated = [p for p in dashboard["panels"] if p.get("repeat")]
    assert [p["repeat"] for p in repeated] == ["capability"]
    configmap = next(o for o in objects if o["metadata"]["name"] == "shipyard-dashboard")
    assert configmap["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"] == "disabled"


def _rules(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        o["metadata"]["name"]: [r for g in o["spec"]["groups"] for r in g["rules"]]
        for o in objects
        if o["kind"] == "PrometheusRule"
    }


def test_alerts_only_where_metrics_exist_and_the_capability_runs() -> None:
    """prod: ping is absent, telemetry suspended, the rest serve no control port: no capability
    would have an `up` series, so none gets an outage alert (they would page forever)."""
    assert set(_rules(_objects("prod"))) == {"shipyard-slo-recording"}
    assert set(_rules(_objects("staging"))) == {"shipyard-slo-recording", "ping", "telemetry"}


def test_long_windows_average_the_five_minute_recordings() -> None:
    rules = {r["record"]: r["expr"] for r in _rules(_objects("prod"))["shipyard-slo-recording"]}
    assert rules[ratio_record("1h")].startswith("sum by (capability, environment) (rate(ikanos_request_errors[1h]))")
    for window in ("6h", "3d", "30d"):
        assert rules[ratio_record(window)] == (
            f"avg_over_time(capability:ikanos_request_errors:rate5m[{window}]) / "
            f"avg_over_time(capability:ikanos_request_total:rate5m[{window}])"
        )
        assert "ikanos_request_total[" not in rules[ratio_record(window)]  # never a 30d rate of raw series


def test_every_rule_parses_and_alerts_are_labelled() -> None:
    rules = _rules(_objects("staging"))
    recorded = {r["record"] for r in rules.pop("shipyard-slo-recording")}
    rates = {"capability:ikanos_request_errors:rate5m", "capability:ikanos_request_total:rate5m"}
    assert recorded == {ratio_record(w) for w in (*RATIO_WINDOWS, "30d")} | rates
    assert set(rules) == {"ping", "telemetry"}
    for capability, alerts in rules.items():
        names = {a["alert"] for a in alerts}
        assert names == {
            "CapabilityDown",
            "CapabilityHighLatency",
            "CapabilityErrorBudgetBurn1h",
            "CapabilityErrorBudgetBurn6h",
            "CapabilityErrorBudgetBurn3d",
        }
        for alert in alerts:
            assert (
                _metrics(alert["expr"])
                <= set(ENGINE_METRICS) | {"ikanos_request_duration_seconds_bucket", "up"} | recorded
            )
            assert alert["labels"]["capability"] == capability
            assert alert["labels"]["severity"] in {"critical", "warning"}
            assert alert["annotations"]["summary"] and alert["annotations"]["runbook_url"].startswith("https://")


@pytest.mark.parametrize(
    ("alert", "factor", "long", "short", "severity"),
    [
        ("CapabilityErrorBudgetBurn1h", "14.4", "1h", "5m", "critical"),
        ("CapabilityErrorBudgetBurn6h", "6", "6h", "30m", "critical"),
        ("CapabilityErrorBudgetBurn3d", "1", "3d", "6h", "warning"),
    ],
)
def test_burn_rates_follow_the_sre_workbook(alert: str, factor: str, long: str, short: str, severity: str) -> None:
    rule = next(r for r in _rules(_objects("staging"))["ping"] if r["alert"] == alert)
    assert rule["labels"]["severity"] == severity
    threshold = f"({factor} * 0.001)"  # availability 99.9 -> error budget 0.001
    assert rule["expr"] == (
        f'{ratio_record(long)}{{capability="ping", environment="staging"}} > {threshold} and '
        f'{ratio_record(short)}{{capability="ping", environment="staging"}} > {threshold}'
    )


def test_latency_threshold_is_in_seconds() -> None:
    rule = next(r for r in _rules(_objects("staging"))["ping"] if r["alert"] == "CapabilityHighLatency")
    assert rule["expr"].endswith("> 0.5")


def test_scrape_config_and_service_monitor_label_series_by_capability() -> None:
    objects = _objects("dev")
    assert not _rules(objects)  # dev sets alerts: null
    scrape = next(o for o in objects if o["metadata"]["name"] == "shipyard-prometheus-scrape")
    text = scrape["data"]["scrape-configs.yaml"]
    assert "job_name: naftiko-shipyard-dev" in text and "regex: control" in text
    assert re.search(r"target_label: capability", text)
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    labels = {r["targetLabel"] for r in monitor["spec"]["endpoints"][0]["relabelings"]}
    assert labels == {"capability", "environment"}


def test_otel_env_on_every_engine_container() -> None:
    for deployment in (o for o in _objects("prod") if o["kind"] == "Deployment"):
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        name = deployment["metadata"]["name"]
        assert env["OTEL_SERVICE_NAME"] == name
        assert env["OTEL_PROPAGATORS"] == "tracecontext,baggage"
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and env["OTEL_TRACES_SAMPLER_ARG"] == "0.1"
        assert f"naftiko.capability={name}" in env["OTEL_RESOURCE_ATTRIBUTES"]
        assert "service.namespace=shipyard" in env["OTEL_RESOURCE_ATTRIBUTES"]
        assert "deployment.environment.name=prod" in env["OTEL_RESOURCE_ATTRIBUTES"]
