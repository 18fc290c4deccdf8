"""Observability: alert rules per capability, fleet recording rules, Grafana dashboard, scrape config.

Every series is identified by the `capability` and `environment` labels that the ServiceMonitor
(or the plain scrape config) copies from the Service labels `naftiko.io/capability` and
`naftiko.io/environment`; the engine's own metrics carry no capability label.
Metric names are the engine's (`research/naftiko-domain.md` section 2, the upstream dashboard).
"""

from __future__ import annotations

from typing import Any

from skipper_render import names, quantity
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.monitoring import POD_HASH, RELABELINGS, scraped
from skipper_render.resolve import ResolvedCapability
from skipper_render.serialize import to_yaml_document

MONITORING = "monitoring.coreos.com/v1"
ENGINE_METRICS = (
    "ikanos_capability_active",
    "ikanos_request_total",
    "ikanos_request_errors",
    "ikanos_request_duration_seconds",
    "ikanos_step_duration_seconds",
    "ikanos_http_client_total",
    "ikanos_http_client_duration_seconds",
)
# SRE workbook, multi-window multi-burn-rate: (burn rate, long window, short window, severity).
BURN_RATES = ((14.4, "1h", "5m", "critical"), (6.0, "6h", "30m", "critical"), (1.0, "3d", "6h", "warning"))
RATIO_WINDOWS = ("5m", "30m", "1h", "6h", "3d")
BASE_WINDOW = "5m"  # the rate recordings long windows are averaged from
SHORT_WINDOW = 3600  # seconds: windows up to this are computed from raw counters


def seconds(duration: str) -> str:
    """A duration as a PromQL number of seconds: 500ms -> 0.5, 1m30s -> 90."""
    return f"{quantity.seconds(duration):g}"


def ratio_record(window: str) -> str:
    return f"capability:ikanos_request_error_ratio:rate{window}"


def rate_record(metric: str) -> str:
    return f"capability:{metric}:rate{BASE_WINDOW}"


def recording_rules(ctx: Context) -> list[Obj]:
    """Error ratios per capability over every window the burn-rate alerts and the budget use.

    Windows up to an hour are computed from the raw counters; longer ones (6h, 3d, the 30d
    budget) average the 5-minute rate recordings, as the SRE workbook does: a `rate(...[30d])`
    over raw series would read a month of samples on every evaluation and needs a month of
    raw retention."""
    alerts = ctx.fleet.spec.observability.alerts
    if alerts is None or alerts.availability is None:
        return []
    by = "sum by (capability, environment)"
    rules: list[dict[str, str]] = [
        {"record": rate_record(metric), "expr": f"{by} (rate({metric}[{BASE_WINDOW}]))"}
        for metric in ("ikanos_request_errors", "ikanos_request_total")
    ]
    for window in dict.fromkeys((*RATIO_WINDOWS, alerts.window)):
        if quantity.seconds(window) <= SHORT_WINDOW:
            expr = f"{by} (rate(ikanos_request_errors[{window}])) / {by} (rate(ikanos_request_total[{window}]))"
        else:
            errors = f"avg_over_time({rate_record('ikanos_request_errors')}[{window}])"
            expr = f"{errors} / avg_over_time({rate_record('ikanos_request_total')}[{window}])"
        rules.append({"record": ratio_record(window), "expr": expr})
    unique = rules
    return [
        {
            "apiVersion": MONITORING,
            "kind": "PrometheusRule",
            "metadata": names.fleet_meta(ctx.fleet, f"{ctx.fleet.name}-slo-recording", "slo"),
            "spec": {"groups": [{"name": f"{ctx.fleet.name}.slo.recording", "rules": unique}]},
        }
    ]


def alert_rules(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    """Outage, latency and burn-rate alerts, only for a capability that runs and is scraped: a
    suspended or metric-less capability would page forever (`up` never exists)."""
    alerts = ctx.fleet.spec.observability.alerts
    if alerts is None:
        return []
    if cap.state != "running" or not scraped(cap, ctx):
        return []
    selector = f'capability="{cap.name}", environment="{ctx.fleet.environment}"'
    runbook = alerts.runbookUrl

    def alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity, "capability": cap.name, "environment": ctx.fleet.environment},
            "annotations": {"summary": summary, "runbook_url": runbook.replace("{alert}", name.lower())},
        }

    rules = [
        alert(
            "CapabilityDown",
            f"(max(up{{{selector}}}) or vector(0)) < 1",
            alerts.outageFor,
            "critical",
            f"{cap.name} has had no ready engine target for {alerts.outageFor}",
        )
    ]
    if alerts.latencyP99 is not None:
        rules.append(
            alert(
                "CapabilityHighLatency",
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(ikanos_request_duration_seconds_bucket{{{selector}}}[5m]))) > {seconds(alerts.latencyP99)}",
                "10m",
                "warning",
                f"{cap.name} p99 latency is above {alerts.latencyP99}",
            )
        )
    if alerts.availability is not None:
        budget = f"{(100 - alerts.availability) / 100:.10g}"
        for factor, long, short, severity in BURN_RATES:
            threshold = f"({factor:g} * {budget})"
            expr = (
                f"{ratio_record(long)}{{{selector}}} > {threshold} and "
                f"{ratio_record(short)}{{{selector}}} > {threshold}"
            )
            rules.append(
                alert(
                    f"CapabilityErrorBudgetBurn{long}",
                    expr,
                    "2m" if severity == "critical" else "1h",
                    severity,
                    f"{cap.name} is burning its {alerts.availability:g}% error budget {factor:g}x too fast "
                    f"({long} and {short} windows)",
                )
            )
    return [
        {
            "apiVersion": MONITORING,
            "kind": "PrometheusRule",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {"groups": [{"name": f"{cap.name}.alerts", "rules": rules}]},
        }
    ]


def scrape_config(ctx: Context) -> list[Obj]:
    """A plain Prometheus `scrape_configs` job for clusters without the Prometheus Operator."""
    if not ctx.fleet.spec.observability.prometheus.scrapeConfig:
        return []
    job = {
        "job_name": f"naftiko-{ctx.fleet.name}-{ctx.fleet.environment}",
        "metrics_path": "/metrics",
        "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [ctx.fleet.namespace]}}],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_service_label_naftiko_io_capability"],
                "regex": ".+",
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": "control", "action": "keep"},
            # the canary and preview Services select the same pods: scrape each pod once
            {
                "source_labels": [f"__meta_kubernetes_service_label_{_label(names.TRAFFIC)}"],
                "regex": ".+",
                "action": "drop",
            },
            {"source_labels": [f"__meta_kubernetes_pod_label_{_label(POD_HASH)}"], "target_label": _label(POD_HASH)},
            *(
                {"source_labels": r["sourceLabels"], "target_label": r["targetLabel"]}
                for r in [*RELABELINGS, _meta("namespace", "namespace"), _meta("pod_name", "pod")]
            ),
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": names.fleet_meta(ctx.fleet, f"{ctx.fleet.name}-prometheus-scrape", "prometheus"),
            "data": {"scrape-configs.yaml": to_yaml_document({"scrape_configs": [job]})},
        }
    ]


def _label(name: str) -> str:
    """A Kubernetes label as Prometheus names it in service discovery."""
    return "".join(c if c.isalnum() else "_" for c in name)


def _meta(source: str, target: str) -> dict[str, Any]:
    return {"sourceLabels": [f"__meta_kubernetes_{source}"], "targetLabel": target}


def fleet_objects(ctx: Context) -> list[Obj]:
    return [*recording_rules(ctx), *scrape_config(ctx)]
