"""The blast radius of a rendered diff: which capabilities and gateways restart, which change in place.

A pod restarts only when its pod template changes, and the renderer puts into each template
exactly what the process reads once at start: the ikanos engine reads its spec and imports at
start (their digest is `naftiko.io/spec-digest`), agentgateway its listeners and admin settings
(`naftiko.io/startup-digest`), OPA its configuration (`naftiko.io/warden-digest`); image, env,
mounts and resources are in the template itself. What a process re-reads (agentgateway's routes
and backends, mounted as a directory it watches; OPA's polled policy bundles) changes in place,
and so does every object a controller reconciles (Services, routes, policies, autoscalers).

Objects are grouped by the unit they belong to: the `naftiko.io/capability` label, else the
`app.kubernetes.io/name` label (the fleet's gateways and shared objects).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from skipper_render import names
from skipper_render.generators import mcp_gateway, warden
from skipper_render.generators.rollout import CONSUL_VERSION
from skipper_render.serialize import load_yaml_document
from skipper_render.workflows.review import Change, Side

_WORKLOADS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet")
_DIGESTS = {
    names.SPEC_DIGEST: "spec changed",
    mcp_gateway.STARTUP_DIGEST: "gateway startup config changed",
    warden.DIGEST: "Warden (OPA) config changed",
}
_DERIVED = frozenset({CONSUL_VERSION})  # follows the template, not a cause
_RELOADED = {mcp_gateway.COMPONENT: "config re-read by agentgateway"}  # the only ConfigMap a process watches


@dataclass(frozen=True)
class Effect:
    unit: str  # a capability, a gateway, or a shared part of the fleet
    effect: str  # restart | in place | starts | stops
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.effect} ({'; '.join(self.reasons)})" if self.reasons else self.effect


def _load(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        loaded = load_yaml_document(text)
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _unit(obj: dict[str, Any], key: str) -> str:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get(names.CAPABILITY) or labels.get("app.kubernetes.io/name") or key)


def _digest(obj: dict[str, Any]) -> Any:
    """A Capability's spec digest (target `operator`)."""
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(names.SPEC_DIGEST)


def _template_reasons(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Why a pod template changed, most telling first; empty when it did not."""
    old = (before.get("spec") or {}).get("template") or {}
    new = (after.get("spec") or {}).get("template") or {}
    if old == new:
        return []
    reasons: list[str] = []
    old_notes = (old.get("metadata") or {}).get("annotations") or {}
    new_notes = (new.get("metadata") or {}).get("annotations") or {}
    reasons += [why for key, why in _DIGESTS.items() if old_notes.get(key) != new_notes.get(key)]
    old_pod, new_pod = old.get("spec") or {}, new.get("spec") or {}
    old_containers = {c.get("name"): c for c in old_pod.get("containers") or []}
    new_containers = {c.get("name"): c for c in new_pod.get("containers") or []}
    if set(old_containers) != set(new_containers):
        reasons.append("containers added or removed")
    for name in sorted(set(old_containers) & set(new_containers), key=str):
        a, b = old_containers[name], new_containers[name]
        for field, why in (("image", "image"), ("env", "environment"), ("resources", "resources")):
            if a.get(field) != b.get(field):
                reasons.append(f"{why} of {name} changed")
        if a.get("volumeMounts") != b.get("volumeMounts"):
            reasons.append(f"mounts of {name} changed")
    if old_pod.get("volumes") != new_pod.get("volumes"):
        reasons.append("volumes changed")
    rest = [k for k in set(old_notes) | set(new_notes) if k not in _DIGESTS and k not in _DERIVED]
    if any(old_notes.get(k) != new_notes.get(k) for k in rest):
        reasons.append("pod annotations changed")
    return reasons or ["pod template changed"]


def effects(
    old: Side, new: Side, changes: Iterable[Change], per_cluster: bool = False
) -> tuple[list[Effect], dict[str, str]]:
    """(one effect per unit touched, sorted by unit; a note per changed object key).

    `per_cluster`: keys start with the cluster's name, and units are named `cluster/unit`."""
    units: dict[str, dict[str, list[str]]] = {}
    notes: dict[str, str] = {}
    for change in changes:
        if change.status == "foreign":
            continue
        before, after = _load(old.documents.get(change.key)), _load(new.documents.get(change.key))
        obj = after or before
        kind = str(obj.get("kind", ""))
        unit = _unit(obj, change.key)
        if per_cluster:
            unit = f"{change.key.split('/', 1)[0]}/{unit}"
        slot = units.setdefault(unit, {"restart": [], "in place": [], "starts": [], "stops": []})
        if kind in _WORKLOADS and change.status == "added":
            slot["starts"].append(f"new {kind}")
            notes[change.key] = "starts"
        elif kind in _WORKLOADS and change.status == "removed":
            slot["stops"].append(f"{kind} removed")
            notes[change.key] = "stops"
        elif kind == "Capability" and change.status == "changed" and _digest(before) != _digest(after):
            slot["restart"].append("spec changed (the Skipper operator rolls it)")
            notes[change.key] = "restart: spec changed (the Skipper operator rolls it)"
        elif kind in _WORKLOADS and (why := _template_reasons(before, after)):
            slot["restart"] += why
            notes[change.key] = f"restart: {', '.join(why)}"
        elif kind in ("ConfigMap", "Secret") and unit not in _RELOADED:
            slot["in place"].append(f"{kind} {change.status}")
            notes[change.key] = "in place; a process reads it at start: see its workload"
        elif kind == "ConfigMap" and unit in _RELOADED and change.status == "changed":
            slot["in place"].append(_RELOADED[unit])
            notes[change.key] = f"in place: {_RELOADED[unit]}"
        else:
            what = f"{kind or 'object'} {change.status}"
            slot["in place"].append(what)
            notes[change.key] = "in place" if kind not in _WORKLOADS else "in place: pod template unchanged"
    out = []
    for unit in sorted(units):
        slot = units[unit]
        for effect in ("stops", "starts", "restart", "in place"):
            if slot[effect]:
                out.append(Effect(unit, effect, tuple(dict.fromkeys(slot[effect]))))
                break
    return out, notes


def preamble(found: list[Effect]) -> str:
    """Comment lines before a unified patch (patch tools skip text before the first `---`)."""
    if not found:
        return ""
    width = max(len(e.unit) for e in found)
    lines = ["# blast radius: what restarts and what changes in place"]
    lines += [f"#   {e.unit.ljust(width)}  {e}" for e in found]
    return "\n".join(lines) + "\n"


def table(found: list[Effect]) -> str:
    """A markdown table for a PR comment."""
    if not found:
        return ""
    lines = ["| capability or gateway | effect | why |", "|---|---|---|"]
    lines += [f"| `{e.unit}` | **{e.effect}** | {'; '.join(e.reasons)} |" for e in found]
    return "\n".join(lines) + "\n"
