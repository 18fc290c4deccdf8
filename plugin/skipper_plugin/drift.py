"""Fields that controllers own at run time, which a GitOps tool must not put back.

Argo Rollouts moves canary weights (Istio VirtualService, Gateway API HTTPRoute, SMI TrafficSplit,
Consul ServiceSplitter) and the Consul plugin rewrites the ServiceResolver's subset filters. One
table serves both tools: Argo CD `ignoreDifferences` takes jq paths with wildcards; Flux
`spec.ignore` takes exact JSON Pointers (RFC 6901 has no wildcard), so those are expanded over the
rendered objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

ANY = "*"
OWNED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("networking.istio.io", "VirtualService", ("spec", "http", ANY, "route", ANY, "weight")),
    ("gateway.networking.k8s.io", "HTTPRoute", ("spec", "rules", ANY, "backendRefs", ANY, "weight")),
    ("split.smi-spec.io", "TrafficSplit", ("spec", "backends", ANY, "weight")),
    ("consul.hashicorp.com", "ServiceSplitter", ("spec", "splits", ANY, "weight")),
    ("consul.hashicorp.com", "ServiceResolver", ("spec", "subsets", ANY, "filter")),
)


def argocd_ignore_differences() -> list[dict[str, Any]]:
    """`ignoreDifferences` entries: `.spec.http[]?.route[]?.weight` and the like (`[]?`: no error
    when the list is absent)."""
    return [
        {"group": group, "kind": kind, "jqPathExpressions": ["".join("[]?" if p == ANY else f".{p}" for p in path)]}
        for group, kind, path in OWNED
    ]


def _pointers(value: Any, path: tuple[str, ...], prefix: str = "") -> Iterator[str]:
    if not path:
        yield prefix
        return
    head, rest = path[0], path[1:]
    if head == ANY:
        items = (
            enumerate(value) if isinstance(value, list) else sorted(value.items()) if isinstance(value, dict) else ()
        )
        for key, item in items:
            yield from _pointers(item, rest, f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, dict) and head in value:
        yield from _pointers(value[head], rest, f"{prefix}/{head}")


def flux_ignore_rules(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`spec.ignore` rules of a Flux Kustomization: one per rendered object holding an owned field."""
    rules = []
    for obj in objects:
        group = obj["apiVersion"].rpartition("/")[0]
        for owned_group, kind, path in OWNED:
            if (group, obj["kind"]) != (owned_group, kind):
                continue
            paths = list(_pointers(obj, path))
            if paths:
                name = "^" + obj["metadata"]["name"].replace(".", r"\.") + "$"  # target fields are regexes
                rules.append({"paths": paths, "target": {"group": group, "kind": kind, "name": name}})
    return rules
