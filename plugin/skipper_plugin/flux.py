"""Flux: the source and Kustomization objects that reconcile a rendered fleet.

Flux runs no plugins, so CI renders (`skipper render --output-dir rendered/<env>[/<cluster>]/...`)
and Flux applies the directory: committed to git (GitRepository) or pushed with
`flux push artifact --reproducible` (OCIRepository). The fleet-level part (gateways, dashboards,
classes) is its own Kustomization that the capabilities' Kustomization `dependsOn`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skipper_plugin import drift
from skipper_render.resolve import ResolvedFleet

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
FLUX_NAMESPACE = "flux-system"


def source(fleet: ResolvedFleet, kind: str, url: str, ref: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": fleet.name, "app.kubernetes.io/managed-by": "skipper-render"}
    meta = {"name": fleet.name, "namespace": FLUX_NAMESPACE, "labels": labels}
    if kind == "oci":
        return {
            "apiVersion": SOURCE_API,
            "kind": "OCIRepository",
            "metadata": meta,
            "spec": {"interval": "5m", "url": url, "ref": {"tag": ref}},
        }
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": meta,
        "spec": {"interval": "5m", "url": url, "ref": {"branch": ref}},
    }


def kustomizations(
    fleet: ResolvedFleet,
    kind: str,
    clusters: list[str | None],
    root: str,
    has_fleet_part: bool,
    objects: Iterable[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Per environment and cluster: `<fleet>-<env>[-<cluster>]` (+ `-fleet` that it depends on).

    `objects` (the rendered environment) gives the capabilities' Kustomization its drift-ignore
    rules: without them Flux would put a canary's weights back while Argo Rollouts moves them."""
    ignore = drift.flux_ignore_rules(objects)
    source_ref = {"kind": "OCIRepository" if kind == "oci" else "GitRepository", "name": fleet.name}
    out = []
    for cluster in clusters:
        name = f"{fleet.name}-{fleet.environment}" + (f"-{cluster}" if cluster else "")
        base = "/".join(p for p in (root.rstrip("/"), fleet.environment, cluster) if p)
        common = {
            "interval": "10m",
            "retryInterval": "1m",
            "timeout": "5m",
            "prune": True,
            "wait": True,
            "sourceRef": source_ref,
        }
        labels = {"app.kubernetes.io/part-of": fleet.name, "naftiko.io/environment": fleet.environment}
        if has_fleet_part:
            out.append(
                {
                    "apiVersion": KUSTOMIZE_API,
                    "kind": "Kustomization",
                    "metadata": {"name": f"{name}-fleet", "namespace": FLUX_NAMESPACE, "labels": labels},
                    "spec": {**common, "path": f"{base}/fleet"},
                }
            )
        out.append(
            {
                "apiVersion": KUSTOMIZE_API,
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": FLUX_NAMESPACE, "labels": labels},
                "spec": {
                    **common,
                    "path": f"{base}/capabilities" if has_fleet_part else base,
                    "dependsOn": [{"name": f"{name}-fleet"}] if has_fleet_part else None,
                    "ignore": ignore,
                },
            }
        )
    return out
