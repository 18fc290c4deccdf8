"""The rendered object set: cleaning, Flux safety, duplicate check and the one fixed order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skipper_render.errors import Diagnostic, Location

# Apply order, changed only on purpose: what others refer to comes first (classes, config,
# secrets), then identity and policy, then Services before the workloads that back them, then
# scaling, then traffic (which refers to Services), then monitoring. Unknown kinds go last.
KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "CustomResourceDefinition",
    "CapabilityClass",
    "ServiceAccount",
    "ExternalSecret",
    "Secret",
    "ConfigMap",
    "Certificate",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "PeerAuthentication",
    "MeshTLSAuthentication",
    "NetworkAuthentication",
    "AuthorizationPolicy",
    "Server",
    "ServiceDefaults",
    "ServiceIntentions",
    "Service",
    "AnalysisTemplate",
    "Deployment",
    "Rollout",
    "Capability",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "DestinationRule",
    "ServiceResolver",
    "ServiceSplitter",
    "ServiceRouter",
    "VirtualService",
    "ReferenceGrant",
    "HTTPRoute",
    "Ingress",
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
)
_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
FLUX_SUBSTITUTE = "kustomize.toolkit.fluxcd.io/substitute"

Obj = dict[str, Any]
ResourceId = tuple[str, str, str, str]


def resource_id(obj: Obj) -> ResourceId:
    """(group, kind, namespace, name): what kustomize and Argo CD treat as one object."""
    group = obj["apiVersion"].rpartition("/")[0]
    meta = obj["metadata"]
    return group, obj["kind"], meta.get("namespace", ""), meta["name"]


def sort_key(obj: Obj) -> tuple[int, str, str, str, str]:
    group, kind, namespace, name = resource_id(obj)
    return _RANK.get(kind, len(KIND_ORDER)), group, kind, namespace, name


class Explicit(dict[str, Any]):
    """An empty map that means something and survives pruning (Argo Rollouts' `pause: {}`)."""


def _clean(value: Any, found: list[bool]) -> Any:
    """One walk: drop None, empty maps and empty lists from mappings; note any `${` in strings."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str):
                if "${" in item:
                    found[0] = True
                out[key] = item
                continue
            if isinstance(item, Explicit):
                out[key] = item
                continue
            cleaned = _clean(item, found) if isinstance(item, dict | list) else item
            if cleaned is None or cleaned == {} or cleaned == []:  # noqa: PLR1714 (unhashable)
                continue
            out[key] = cleaned
        return out
    if isinstance(value, list):
        return [_clean(item, found) for item in value]
    if isinstance(value, str) and "${" in value:
        found[0] = True
    return value


def prune(value: Any) -> Any:
    """Drop None, empty maps and empty lists from mappings (the output has no empty maps)."""
    return _clean(value, [False])


def clean_object(obj: Obj) -> Obj:
    """Prune, and opt objects holding `${...}` out of Flux post-build substitution, which would blank it."""
    found = [False]
    cleaned: Obj = _clean(obj, found)
    if not found[0]:
        return cleaned
    meta = cleaned["metadata"]
    annotations = {**meta.get("annotations", {}), FLUX_SUBSTITUTE: "disabled"}
    return {**cleaned, "metadata": {**meta, "annotations": annotations}}


def duplicates(produced: Iterable[tuple[str, Obj]]) -> list[Diagnostic]:
    """Two producers of one resource id is an error naming both (kustomize's rule)."""
    seen: dict[ResourceId, str] = {}
    out = []
    for producer, obj in produced:
        rid = resource_id(obj)
        if rid in seen:
            _, kind, namespace, name = rid
            out.append(
                Diagnostic(
                    Location(),
                    f"{kind} {namespace + '/' if namespace else ''}{name} is produced twice "
                    f"(by {seen[rid]} and by {producer})",
                )
            )
        else:
            seen[rid] = producer
    return out


def finalize(produced: list[tuple[str, Obj]]) -> tuple[list[Obj], list[Diagnostic]]:
    cleaned = [(producer, clean_object(obj)) for producer, obj in produced]
    errors = duplicates(cleaned)
    return sorted((obj for _, obj in cleaned), key=sort_key), errors
