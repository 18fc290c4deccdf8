"""The Grafana fleet dashboard: a ConfigMap the Grafana sidecar loads (`grafana_dashboard: "1"`).

An overview row (request rate, error ratio, p50/p99 latency per capability, active capabilities),
then one row per capability, repeated by Grafana over the `capability` variable, with per-operation
and upstream HTTP client panels. Repeating keeps the JSON the same size for 5 or 1,000
capabilities; ids and the uid are fixed, so re-renders never churn the dashboard.
"""

from __future__ import annotations

import json
from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"
ENV = 'environment="$environment"'
SOME = f'{ENV}, capability=~"$capability"'  # the overview: the selected capabilities
ONE = f'{ENV}, capability="$capability"'  # a repeated row: its own capability


def rate(metric: str, selector: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{selector}}}{RATE}))"


def quantile(q: str, metric: str, selector: str, by: str) -> str:
    return f"histogram_quantile({q}, {rate(metric + '_bucket', selector, 'le, ' + by)})"


def panel(pid: int, title: str, unit: str, box: tuple[int, int, int], *queries: tuple[str, str]) -> dict[str, Any]:
    x, y, w = box
    return {
        "id": pid,
        "type": "stat" if unit == "none" else "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def row(pid: int, title: str, y: int, repeat: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": pid, "type": "row", "title": title, "collapsed": False, "panels": []}
    out["gridPos"] = {"x": 0, "y": y, "w": 24, "h": 1}
    return out | ({"repeat": repeat} if repeat else {})


def panels() -> list[dict[str, Any]]:
    by_cap, by_op, host = "{{capability}}", "{{ikanos_operation_id}}", "{{server_address}}"
    errors = f"{rate('ikanos_request_errors', SOME, 'capability')} / {rate('ikanos_request_total', SOME, 'capability')}"
    active = f"count(max by (capability) (ikanos_capability_active{{{SOME}}}) > 0)"
    return [
        row(100, "Fleet overview", 0),
        panel(1, "Active capabilities", "none", (0, 1, 6), (active, "active")),
        panel(
            2,
            "Request rate by capability",
            "reqps",
            (6, 1, 9),
            (rate("ikanos_request_total", SOME, "capability"), by_cap),
        ),
        panel(3, "Error ratio by capability", "percentunit", (15, 1, 9), (errors, by_cap)),
        panel(
            4,
            "p50 latency",
            "s",
            (0, 9, 12),
            (quantile("0.5", "ikanos_request_duration_seconds", SOME, "capability"), by_cap),
        ),
        panel(
            5,
            "p99 latency",
            "s",
            (12, 9, 12),
            (quantile("0.99", "ikanos_request_duration_seconds", SOME, "capability"), by_cap),
        ),
        row(101, "$capability", 17, repeat="capability"),
        panel(
            11,
            "Requests by operation",
            "reqps",
            (0, 18, 8),
            (rate("ikanos_request_total", ONE, "ikanos_operation_id"), by_op),
        ),
        panel(
            12,
            "Errors by operation",
            "reqps",
            (8, 18, 8),
            (rate("ikanos_request_errors", ONE, "ikanos_operation_id"), by_op),
        ),
        panel(
            13,
            "p50 / p99 latency by operation",
            "s",
            (16, 18, 8),
            (quantile("0.5", "ikanos_request_duration_seconds", ONE, "ikanos_operation_id"), f"p50 {by_op}"),
            (quantile("0.99", "ikanos_request_duration_seconds", ONE, "ikanos_operation_id"), f"p99 {by_op}"),
        ),
        panel(
            14,
            "Upstream requests by host and status",
            "reqps",
            (0, 26, 12),
            (
                rate("ikanos_http_client_total", ONE, "server_address, http_response_status_code"),
                f"{host} {{{{http_response_status_code}}}}",
            ),
        ),
        panel(
            15,
            "Upstream p99 latency by host",
            "s",
            (12, 26, 12),
            (quantile("0.99", "ikanos_http_client_duration_seconds", ONE, "server_address"), host),
        ),
    ]


def dashboard_json(fleet: str, environment: str) -> dict[str, Any]:
    variable = {"type": "query", "datasource": DATASOURCE, "refresh": 2, "sort": 1}
    return {
        "uid": f"{fleet}-{environment}"[:40],
        "title": f"Naftiko fleet {fleet} ({environment})",
        "tags": ["naftiko", "skipper-render", fleet],
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "panels": panels(),
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    **variable,
                    "name": "environment",
                    "label": "Environment",
                    "query": "label_values(ikanos_request_total, environment)",
                    "current": {"text": environment, "value": environment},
                },
                {
                    **variable,
                    "name": "capability",
                    "label": "Capability",
                    "multi": True,
                    "includeAll": True,
                    "query": f"label_values(ikanos_request_total{{{ENV}}}, capability)",
                },
            ]
        },
    }


def dashboard(ctx: Context) -> list[Obj]:
    settings = ctx.fleet.spec.observability.dashboard
    if settings is None or not settings.grafana:
        return []
    document = dashboard_json(ctx.fleet.name, ctx.fleet.environment)
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": names.fleet_meta(
                ctx.fleet, f"{ctx.fleet.name}-dashboard", "dashboard", {"grafana_dashboard": "1"}
            ),
            "data": {f"{ctx.fleet.name}.json": json.dumps(document, indent=2, sort_keys=True) + "\n"},
        }
    ]
