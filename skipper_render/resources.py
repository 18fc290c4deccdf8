"""The rendered object set: cleaning, Flux safety, duplicate check and the one fixed order.

Objects are serialized as soon as they are final and only their text is kept (`Doc`), so a
render's memory follows its output, not the size of the object trees that produced it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

from skipper_render.errors import Diagnostic, Location
from skipper_render.serialize import Emitter, json_document

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
SortKey = tuple[int, str, str, str, str]
Format = Literal["yaml", "json"]


class Doc(NamedTuple):
    """One rendered object: its place in the order and its serialized text (a YAML document body
    without the `---` line, or one line of JSON)."""

    key: SortKey
    text: str
    fleet: bool = False  # a fleet-level object (the Argo CD / Flux "fleet" part)

    @property
    def rid(self) -> ResourceId:
        return self.key[1:]


def resource_id(obj: Obj) -> ResourceId:
    """(group, kind, namespace, name): what kustomize and Argo CD treat as one object."""
    group = obj["apiVersion"].rpartition("/")[0]
    meta = obj["metadata"]
    return group, obj["kind"], meta.get("namespace", ""), meta["name"]


def sort_key(obj: Obj) -> SortKey:
    group, kind, namespace, name = resource_id(obj)
    return _RANK.get(kind, len(KIND_ORDER)), group, kind, namespace, name


class Explicit(dict[str, Any]):
    """An empty map that means something and survives pruning (Argo Rollouts' `pause: {}`)."""


def _clean(value: Any, found: list[bool]) -> Any:
    """One walk: drop None, empty maps and empty lists from mappings; note any `${` in strings."""
    if isinstance(value, dict):
        return _clean_map(value, found)
    if isinstance(value, list):
        return _clean_list(value, found)
    if isinstance(value, str) and "${" in value:
        found[0] = True
    return value


def _clean_map(value: dict[str, Any], found: list[bool]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            if "${" in item:
                found[0] = True
            out[key] = item
        elif kind is dict:
            cleaned = _clean_map(item, found)
            if cleaned:  # an empty map is dropped
                out[key] = cleaned
        elif kind is list:
            if item:  # an empty list is dropped (a cleaned list keeps its length)
                out[key] = _clean_list(item, found)
        elif item is not None:  # numbers, booleans, Explicit (an empty map that means something)
            out[key] = item
    return out


def _clean_list(items: list[Any], found: list[bool]) -> list[Any]:
    """Items keep their places: only maps inside them are pruned."""
    out: list[Any] = []
    for item in items:
        kind = type(item)
        if kind is dict:
            out.append(_clean_map(item, found))
        elif kind is list:
            out.append(_clean_list(item, found))
        else:
            if kind is str and "${" in item:
                found[0] = True
            out.append(item)
    return out


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


class Assembler:
    """Collects final objects as serialized documents: one duplicate check, one sort at the end."""

    def __init__(self, fmt: Format = "yaml") -> None:
        self.fmt = fmt
        self.emitter = Emitter()
        self.producers: dict[ResourceId, str] = {}
        self.docs: list[Doc] = []
        self.errors: list[Diagnostic] = []

    def document(self, obj: Obj, fleet: bool = False) -> Doc:
        """A cleaned object (see `clean_object`) serialized, with its place in the order."""
        return Doc(sort_key(obj), self.emitter.document(obj) if self.fmt == "yaml" else json_document(obj), fleet)

    def add(self, producer: str, objects: Iterable[Obj], fleet: bool = False) -> None:
        """Add cleaned objects; a second producer of an id is an error naming both."""
        self.take(producer, [self.document(obj, fleet) for obj in objects])

    def take(self, producer: str, docs: Iterable[Doc]) -> None:
        """Add documents `producer` made (see `document`, possibly in another process)."""
        for doc in docs:
            rid = doc.rid
            first = self.producers.get(rid)
            if first is not None:
                _, kind, namespace, name = rid
                self.errors.append(
                    Diagnostic(
                        Location(),
                        f"{kind} {namespace + '/' if namespace else ''}{name} is produced twice "
                        f"(by {first} and by {producer})",
                    )
                )
                continue
            self.producers[rid] = producer
            self.docs.append(doc)

    def finish(self) -> tuple[Doc, ...]:
        return tuple(sorted(self.docs, key=lambda d: d.key))
