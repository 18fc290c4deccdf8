"""The only commands that touch a cluster: apply, diff --live, status and logs, all through `kubectl`.

They render exactly what `skipper render` renders and hand it to kubectl; kubectl's own
configuration (kubeconfig, contexts, credentials) is used as is. `--cluster` selects both the
environment's cluster and the kubectl context of the same name.

Pruning uses kubectl's ApplySet (KEP-3659): `KUBECTL_APPLYSET=true kubectl apply --prune
--applyset=configmap/NAME -n NS`. kubectl creates the parent ConfigMap in the environment's
namespace and labels every member `applyset.kubernetes.io/part-of=<id>`; what a later apply no
longer sends (a capability removed or made `absent`) is deleted. The Namespace itself is applied
first, on its own, and is never a member: removing a fleet never deletes its namespace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from skipper_render.errors import Location, ValidationError
from skipper_render.render import RenderResult
from skipper_render.serialize import to_yaml_document

FIELD_MANAGER = "skipper-render"
PART_OF = "applyset.kubernetes.io/part-of"
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")  # Go's time.ParseDuration, as kubectl
_STATUS_KINDS = {  # rendered kind -> kubectl resource
    "Deployment": "deployments.apps",
    "Rollout": "rollouts.argoproj.io",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers.autoscaling",
    "PodDisruptionBudget": "poddisruptionbudgets.policy",
}


def _run(
    kubectl: str,
    args: Sequence[str],
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [kubectl, *args],
            input=stdin,
            text=True,
            check=False,
            env={**os.environ, **env} if env else None,
            stdout=subprocess.PIPE if capture else None,
        )
    except FileNotFoundError:
        raise ValidationError.at(Location(), f"{kubectl!r} not found: the cluster commands need kubectl") from None


def _context(cluster: str | None) -> list[str]:
    return ["--context", cluster] if cluster else []


def applyset_parent(result: RenderResult) -> str:
    """The ApplySet parent of an environment (per cluster: each cluster has its own)."""
    return f"{result.fleet.name}-skipper-applyset"


def applyset_id(name: str, namespace: str, kind: str = "ConfigMap", group: str = "") -> str:
    """kubectl's id of an ApplySet parent: base64url(sha256(name.namespace.kind.group)), unpadded."""
    digest = hashlib.sha256(f"{name}.{namespace}.{kind}.{group}".encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"


def _split(result: RenderResult) -> tuple[str, str]:
    """(the Namespace documents, every other document) of the render, as YAML streams."""
    namespaces: list[str] = []
    rest: list[str] = []
    for doc, text in result.yaml_documents():
        (namespaces if doc.rid[1] == "Namespace" else rest).append(text)
    return "---\n".join(namespaces), "---\n".join(rest)


def _members_labelled(result: RenderResult, value: str) -> str:
    """Every document but the Namespace, with the ApplySet label kubectl puts on its members."""
    out = []
    for obj in result.objects:
        if obj["kind"] != "Namespace":
            metadata = obj["metadata"]
            out.append(
                to_yaml_document({**obj, "metadata": {**metadata, "labels": {**metadata["labels"], PART_OF: value}}})
            )
    return "---\n".join(out)


def apply(result: RenderResult, kubectl: str, dry_run: bool, cluster: str | None, prune: bool = False) -> int:
    """Server-side apply: the Namespace first, then everything else (an ApplySet with `prune`)."""
    if prune and cluster is None and len(result.fleet.clusters) > 1:
        names = ", ".join(c.name for c in result.fleet.clusters)
        raise ValidationError.at(
            Location("--cluster"),
            f"{result.fleet.environment} runs in {len(result.fleet.clusters)} clusters ({names}): "
            "--prune needs --cluster, the render and the kubectl context it deletes in",
        )
    namespaces, rest = _split(result)
    base = [*_context(cluster), "apply", "--server-side", f"--field-manager={FIELD_MANAGER}"]
    dry = ["--dry-run=server"] if dry_run else []
    if namespaces:
        code = _run(kubectl, [*base, "-f", "-", *dry], namespaces).returncode
        if code != 0:
            return code
    if not rest:
        return 0
    if not prune:
        return _run(kubectl, [*base, "-f", "-", *dry], rest).returncode
    parent = f"configmap/{applyset_parent(result)}"
    args = [*base, "--prune", f"--applyset={parent}", "-n", result.fleet.namespace, "-f", "-", *dry]
    return _run(kubectl, args, rest, {"KUBECTL_APPLYSET": "true"}).returncode


def diff_live(result: RenderResult, kubectl: str, cluster: str | None, prune: bool = False) -> int:
    """`kubectl diff --server-side` of the render against the cluster; kubectl's exit code (0 same,
    1 different, >1 failed). With `prune` (the fleet is applied with `apply --prune`), members carry
    the ApplySet label kubectl put on them, so the diff shows only real changes."""
    namespaces, rest = _split(result)
    if prune and rest:
        rest = _members_labelled(result, applyset_id(applyset_parent(result), result.fleet.namespace))
    stream = "---\n".join(part for part in (namespaces, rest) if part)
    args = [*_context(cluster), "diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-"]
    return _run(kubectl, args, stream).returncode


class Row(NamedTuple):
    """One line of `skipper status`."""

    kind: str
    name: str
    ready: str
    status: str
    detail: str


def _deployment(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    state = "Available" if ready >= want and updated >= want else "Progressing"
    return f"{ready}/{want}", state, f"up-to-date {updated}"


def _rollout(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = f"{status.get('readyReplicas', 0)}/{status.get('replicas', spec.get('replicas', 1))}"
    phase = str(status.get("phase") or "Unknown")
    canary = (spec.get("strategy") or {}).get("canary")
    if canary is None:
        active = (status.get("blueGreen") or {}).get("activeSelector", "")
        return ready, phase, f"blue-green active {active}".rstrip()
    steps = len(canary.get("steps") or [])
    index = status.get("currentStepIndex", steps)
    weights = (status.get("canary") or {}).get("weights") or {}
    weight = (weights.get("canary") or {}).get("weight")
    detail = f"step {index}/{steps}" + (f", canary weight {weight}%" if weight is not None else "")
    if status.get("message"):
        detail += f": {status['message']}"
    return ready, phase, detail


def _autoscaler(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    current = status.get("currentReplicas", 0)
    return f"{current}", "Scaling", f"min {spec.get('minReplicas', 1)}, max {spec.get('maxReplicas')}"


def _budget(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    status = obj.get("status") or {}
    healthy, wanted = status.get("currentHealthy", 0), status.get("desiredHealthy", 0)
    allowed = status.get("disruptionsAllowed", 0)
    return f"{healthy}/{wanted}", "Healthy" if healthy >= wanted else "Degraded", f"disruptions allowed {allowed}"


_READERS = {
    "Deployment": _deployment,
    "Rollout": _rollout,
    "HorizontalPodAutoscaler": _autoscaler,
    "PodDisruptionBudget": _budget,
}


def rows(rendered: Iterable[tuple[str, str]], live: Iterable[Mapping[str, Any]]) -> list[Row]:
    """One row per rendered workload, autoscaler and budget; `missing` where the cluster has none."""
    found = {(o.get("kind"), (o.get("metadata") or {}).get("name")): o for o in live}
    out = []
    for kind, name in rendered:
        obj = found.get((kind, name))
        if obj is None:
            out.append(Row(kind, name, "-", "Missing", "rendered, not in the cluster"))
        else:
            out.append(Row(kind, name, *_READERS[kind](obj)))
    return out


def table(found: list[Row]) -> str:
    header = Row("KIND", "NAME", "READY", "STATUS", "DETAIL")
    widths = [max(len(getattr(r, f)) for r in [header, *found]) for f in ("kind", "name", "ready", "status")]
    lines = []
    for row in [header, *found]:
        cells = [row.kind, row.name, row.ready, row.status]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + row.detail)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def status(result: RenderResult, kubectl: str, cluster: str | None) -> tuple[int, list[Row]]:
    """(kubectl's exit code, the rows): Deployments and Rollouts (phase, canary step, weight), HPAs, PDBs."""
    rendered = sorted((doc.rid[1], doc.rid[3]) for doc, _ in result.yaml_documents() if doc.rid[1] in _STATUS_KINDS)
    if not rendered:
        return 0, []
    fleet = result.fleet
    selector = f"app.kubernetes.io/part-of={fleet.name},naftiko.io/environment={fleet.environment}"
    kinds = ",".join(sorted({_STATUS_KINDS[kind] for kind, _ in rendered}))
    args = [*_context(cluster), "get", kinds, "-n", fleet.namespace, "-l", selector, "-o", "json"]
    proc = _run(kubectl, args, capture=True)
    if proc.returncode != 0:
        return proc.returncode, []
    try:
        items = json.loads(proc.stdout or "{}").get("items") or []
    except (json.JSONDecodeError, AttributeError):
        raise ValidationError.at(Location(), "kubectl get printed no JSON list") from None
    return 0, rows(rendered, items)


def logs(
    result: RenderResult, kubectl: str, capability: str, follow: bool, cluster: str | None, since: str | None = None
) -> int:
    if since is not None and not _DURATION.fullmatch(since):
        raise ValidationError.at(Location("--since"), f"{since[:40]!r} is not a duration (e.g. 90s, 10m, 1h30m)")
    if all(cap.name != capability for cap in result.fleet.capabilities):
        known = ", ".join(cap.name for cap in result.fleet.capabilities)
        raise ValidationError.at(Location(), f"unknown capability {capability!r} (known: {known})")
    namespace = result.fleet.namespace
    args = [*_context(cluster), "logs", "-n", namespace, "-l", f"naftiko.io/capability={capability}"]
    args += ["-c", "ikanos", "--prefix"]
    args += [f"--since={since}"] if since else ["--tail=200"]
    args += ["--follow"] if follow else []
    return _run(kubectl, args).returncode
