"""The only commands that touch a cluster: apply, status and logs, all through `kubectl`.

They render exactly what `skipper render` renders and hand it to kubectl; kubectl's own
configuration (kubeconfig, contexts, credentials) is used as is. `--cluster` selects both the
environment's cluster and the kubectl context of the same name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from skipper_render.errors import Location, ValidationError
from skipper_render.render import RenderResult

FIELD_MANAGER = "skipper-render"


def _run(kubectl: str, args: Sequence[str], stdin: str | None = None) -> int:
    try:
        return subprocess.run([kubectl, *args], input=stdin, text=True, check=False).returncode
    except FileNotFoundError:
        raise ValidationError.at(Location(), f"{kubectl!r} not found: the cluster commands need kubectl") from None


def _context(cluster: str | None) -> list[str]:
    return ["--context", cluster] if cluster else []


def apply(result: RenderResult, kubectl: str, dry_run: bool, cluster: str | None) -> int:
    """Server-side apply of the rendered objects (namespaces are in the objects)."""
    args = [*_context(cluster), "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-"]
    if dry_run:
        args.append("--dry-run=server")
    return _run(kubectl, args, result.to_yaml())


def status(result: RenderResult, kubectl: str, cluster: str | None) -> int:
    fleet = result.fleet
    selector = f"app.kubernetes.io/part-of={fleet.name},naftiko.io/environment={fleet.environment}"
    kinds = "deployments,services,horizontalpodautoscalers,poddisruptionbudgets"
    args = [*_context(cluster), "get", kinds, "-n", fleet.namespace, "-l", selector, "-o", "wide"]
    return _run(kubectl, args)


def logs(result: RenderResult, kubectl: str, capability: str, follow: bool, cluster: str | None) -> int:
    if all(cap.name != capability for cap in result.fleet.capabilities):
        known = ", ".join(cap.name for cap in result.fleet.capabilities)
        raise ValidationError.at(Location(), f"unknown capability {capability!r} (known: {known})")
    namespace = result.fleet.namespace
    args = [*_context(cluster), "logs", "-n", namespace, "-l", f"naftiko.io/capability={capability}"]
    args += ["-c", "ikanos", "--tail=200", "--prefix", *(["--follow"] if follow else [])]
    return _run(kubectl, args)
