"""Alerts, analyses and HPA metrics exist only for capabilities whose metrics exist.

A capability's series exist when Prometheus scrapes it (a ServiceMonitor on its control port, or
the fleet's plain scrape config) and when it runs: a suspended capability has no target, so an
outage alert would page forever, and an HPA on a metric that never exists never scales.
Argo Rollouts evaluates an analysis condition on the query's result (argo-rollouts
`utils/evaluate`): `result[0]` of an empty result is an evaluation error (five in a row abort the
rollout) and `0/0` is NaN, so a condition must pass on both before there is any traffic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from skipper_render import names
from skipper_render.generators.base import Context
from skipper_render.resolve import ResolvedCapability
from skipper_render.wiring.index import Obj, of_kind

Report = Callable[[str], None]


def scraped(cap: ResolvedCapability, objects: list[Obj], ctx: Context) -> bool:
    has_control = names.control_port(cap) is not None
    return bool(of_kind(objects, "ServiceMonitor")) or (
        has_control and ctx.fleet.spec.observability.prometheus.scrapeConfig
    )


_TERM = re.compile(
    r"(!?)(?:len\(result\)\s*(==|>|>=|<|<=|!=)\s*(\d+)|isNaN\(result\[0\]\)|result\[0\]\s*(==|>|>=|<|<=|!=)\s*([-\d.e]+))"
)
_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def condition_holds(expression: str, result: list[float]) -> bool:
    """Evaluate an Argo Rollouts condition as expr does, for the subset of its syntax this renderer
    writes: alternatives (`||`) of conjunctions (`&&`) of `len(result) OP n`, `[!]isNaN(result[0])`
    and `result[0] OP x`, left to right with short-circuit. `result[0]` of an empty result raises
    IndexError, as it errors in Argo Rollouts; anything else is a ValueError."""
    for alternative in expression.split("||"):
        if all(_term(term.strip(), result) for term in alternative.split("&&")):
            return True
    return False


def _term(term: str, result: list[float]) -> bool:
    match = _TERM.fullmatch(term)
    if match is None:
        raise ValueError(f"not a condition this check reads: {term!r}")
    negate, len_op, len_value, value_op, value = match.groups()
    if len_op:
        holds = _COMPARE[len_op](len(result), int(len_value))
    elif value_op:
        holds = _COMPARE[value_op](result[0], float(value))
    else:
        holds = math.isnan(result[0])
    return bool(holds) != bool(negate)


def check(cap: ResolvedCapability, objects: list[Obj], ctx: Context, report: Report) -> None:
    metrics = scraped(cap, objects, ctx)
    workloads = of_kind(objects, "Deployment", "Rollout")
    running = bool(workloads) and all(w["spec"].get("replicas", 1) != 0 for w in workloads)
    for rule in of_kind(objects, "PrometheusRule"):
        if not metrics or not running:
            why = "nothing scrapes it" if not metrics else "it does not run"
            report(f"PrometheusRule {rule['metadata']['name']} alerts on {cap.name}, but {why}: it would page forever")
    for template in of_kind(objects, "AnalysisTemplate"):
        if not metrics:
            report(f"AnalysisTemplate {template['metadata']['name']} queries metrics nothing scrapes")
        for metric in template["spec"]["metrics"]:
            condition = metric.get("successCondition", "")
            for result in ([], [math.nan]):
                try:
                    passes = condition_holds(condition, result)
                except (IndexError, ValueError):
                    passes = False
                if not passes:
                    shown = "an empty result" if not result else "NaN"
                    report(
                        f"AnalysisTemplate {template['metadata']['name']} metric {metric['name']}: no traffic yet "
                        f"({shown}) fails the analysis: {condition!r}"
                    )
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        pods_metrics = [m for m in hpa["spec"].get("metrics", []) if m["type"] == "Pods"]
        if pods_metrics and not metrics:
            report(f"HorizontalPodAutoscaler {hpa['metadata']['name']} scales on a Pods metric nothing scrapes")
