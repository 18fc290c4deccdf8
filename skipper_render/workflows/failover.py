"""`skipper failover`: make one cluster of an environment the primary, in git.

Only the `role` values of the overlay's `spec.clusters` change (a cluster without `role` is a
primary by default and gets `role: standby` written after its last key). Every cluster of the
environment is rendered before and after, and the diff of all of them is returned with its blast
radius, for the pull request that carries the failover. What moves: standby sizing (HPA minimum),
the DNS failover records, Istio locality failover, Consul resolver failover, Linkerd exports and
failover routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skipper_render.errors import Location, ValidationError
from skipper_render.render import RenderRequest, render_request
from skipper_render.workflows import edit, effects, review


@dataclass(frozen=True)
class Failover:
    overlay: Path
    primary: str
    demoted: tuple[str, ...]
    diff: str


def _clusters(data: Any, where: Location) -> list[Any]:
    spec: Any = data.get("spec") if hasattr(data, "get") else None
    clusters = spec.get("clusters") if hasattr(spec, "get") else None
    if not isinstance(clusters, list) or not all(hasattr(c, "get") for c in clusters):
        raise ValidationError.at(where, "the environment declares no clusters: nothing to fail over")
    return clusters


def with_primary(text: str, target: str, where: Location) -> tuple[str, tuple[str, ...]]:
    """(the overlay text with `target` the only primary, the clusters demoted)."""
    data = edit.load(text)
    clusters = _clusters(data, where)
    names = [str(c.get("name")) for c in clusters]
    if len(clusters) < 2:
        raise ValidationError.at(where, f"the environment has one cluster ({names[0]}): nothing to fail over to")
    if target not in names:
        raise ValidationError.at(where, f"unknown cluster {target!r} (known: {', '.join(names)})")
    roles = {str(c.get("name")): str(c.get("role", "primary")) for c in clusters}
    demoted = tuple(n for n in names if n != target and roles[n] == "primary")
    if roles[target] == "primary" and not demoted:
        raise ValidationError.at(where, f"{target} is already the primary: nothing to fail over")
    changes = dict.fromkeys(demoted, "standby") | ({target: "primary"} if roles[target] != "primary" else {})
    if any("role" not in c for c in clusters if str(c.get("name")) in changes):
        # A key to add: ruamel writes the file (comments and key order kept, layout may move).
        for cluster in clusters:
            if str(cluster.get("name")) in changes:
                cluster["role"] = changes[str(cluster.get("name"))]
        return edit.dump(text, data), demoted
    edits = sorted(
        (
            (*c.lc.value("role"), str(c["role"]), changes[str(c.get("name"))])
            for c in clusters
            if c.get("name") in changes
        ),
        reverse=True,
    )
    for line, column, old, new in edits:  # bottom-up: earlier positions stay valid
        text = edit.replace_scalar(text, line, column, old, new)
    return text, demoted


def _where(overlay: Path, fleet: Path, data: Any) -> Location:
    """The overlay's `spec.clusters` (or `spec`), as `file:line:col` relative to the fleet."""
    root, path = (fleet if fleet.is_dir() else fleet.parent).resolve(), overlay.resolve()
    name = str(path.relative_to(root)) if path.is_relative_to(root) else overlay.name
    spec: Any = data.get("spec") if hasattr(data, "get") else None
    if hasattr(spec, "lc") and "clusters" in spec:
        line, col = spec.lc.key("clusters")
        return Location(name, line + 1, col + 1, ("spec", "clusters"))
    return Location(name, path=("spec", "clusters"))


def _render_all(fleet: Path, env: str, clusters: list[str]) -> review.Side:
    documents: dict[str, str] = {}
    for cluster in clusters:
        side = review.keyed(render_request(RenderRequest(fleet, env, cluster=cluster)).yaml_documents())
        documents |= {f"{cluster}/{key}": text for key, text in side.documents.items()}
    return review.Side(documents)


def failover(fleet: Path, env: str, target: str) -> Failover:
    overlay = edit.overlay_path(fleet, env)
    text = edit.read_text(overlay)
    data = edit.load(text)
    where = _where(overlay, fleet, data)
    clusters = [str(c.get("name")) for c in _clusters(data, where)]
    _, demoted = with_primary(text, target, where)  # refuse before anything is written
    old = _render_all(fleet, env, clusters)
    with edit.edited(overlay, lambda current: with_primary(current, target, where)[0]):
        new = _render_all(fleet, env, clusters)
    changes = review.compare(old, new, f"{env}-before", f"{env}-failover")
    radius, _ = effects.effects(old, new, changes, per_cluster=True)
    return Failover(overlay, target, demoted, effects.preamble(radius) + review.unified(changes))
