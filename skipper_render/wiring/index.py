"""Reading rendered objects as the controllers do: pods behind workloads, label selectors, lookups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

Obj = dict[str, Any]
WORKLOADS = ("Deployment", "Rollout")


class Pod(NamedTuple):
    """The pod template of a workload."""

    owner: str  # "Deployment/shipyard"
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: Mapping[str, Any]

    @property
    def containers(self) -> list[Mapping[str, Any]]:
        return list(self.spec.get("containers", []))


def pods(objects: Iterable[Obj]) -> Iterator[Pod]:
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            template = obj["spec"]["template"]
            meta = template.get("metadata", {})
            owner = f"{obj['kind']}/{obj['metadata']['name']}"
            yield Pod(owner, meta.get("labels", {}), meta.get("annotations", {}), template.get("spec", {}))


class Objects(list[Obj]):
    """The objects of one part of a render, indexed by kind on first lookup (each check asks
    for a few kinds; a capability's checks ask ~25 times). Checks read it, never change it."""

    by_kind: dict[str, list[Obj]] | None = None


def of_kind(objects: Iterable[Obj], *kinds: str) -> list[Obj]:
    if not isinstance(objects, Objects):
        return [o for o in objects if o["kind"] in kinds]
    if objects.by_kind is None:
        objects.by_kind = {}
        for obj in objects:
            objects.by_kind.setdefault(obj["kind"], []).append(obj)
    if len(kinds) == 1:
        return list(objects.by_kind.get(kinds[0], ()))
    return [o for o in objects if o["kind"] in kinds]  # in render order across kinds


def named(objects: Iterable[Obj], kind: str, group: str | None = None) -> dict[str, Obj]:
    """Objects of `kind` by name (of one API group when given)."""
    out = {}
    for obj in objects:
        if obj["kind"] == kind and (group is None or obj["apiVersion"].rpartition("/")[0] == group):
            out[obj["metadata"]["name"]] = obj
    return out


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (`matchLabels` / `matchExpressions`, or a Service's plain map) against labels.

    An empty or absent selector selects everything, as Kubernetes reads one."""
    if not selector:
        return True
    plain = "matchLabels" not in selector and "matchExpressions" not in selector
    match_labels = selector if plain else selector.get("matchLabels", {})
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expression in [] if plain else selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
    return True


def container_ports(pod: Pod) -> dict[str, int]:
    """Named container ports of a pod, by name."""
    return {p["name"]: p["containerPort"] for c in pod.containers for p in c.get("ports", []) if "name" in p}


def owner_of(obj: Obj) -> str:
    return f"{obj['kind']} {obj['metadata']['name']}"
