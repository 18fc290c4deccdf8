"""Flux: the source and Kustomization objects that reconcile a rendered fleet in one cluster.

Flux runs no plugins, so CI renders (`skipper render --part fleet|capabilities --output-dir
rendered/<env>[/<cluster>]/{fleet,capabilities}`) and Flux applies the directories: committed to
git (GitRepository) or pushed with `flux push artifact --path=rendered/<env>[/<cluster>]`
(OCIRepository; paths inside an artifact are relative to its `--path`, so the Kustomizations then
point at `./fleet` and `./capabilities`). Flux runs in each cluster, so the objects are per
cluster: one source, the fleet-level part (Namespace, classes, gateways) and the capabilities,
which `dependsOn` the fleet part (kustomize-controller creates no namespaces).
"""

from __future__ import annotations

from typing import Any

from skipper_plugin import drift
from skipper_render import RenderResult
from skipper_render.errors import Location, ValidationError
from skipper_render.quantity import seconds

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
FLUX_NAMESPACE = "flux-system"
BASE_TIMEOUT = 300  # seconds; a canary's timed pauses are added to it
# Argo Rollouts has no Ready condition and types status.observedGeneration as a string
# (fluxcd/flux2#4632), so kstatus never calls a Rollout ready: these expressions do (Flux >= 2.9,
# whose CEL health checks accept a string observedGeneration). A paused Rollout waits for a human
# promotion: it is deployed, so it counts as current.
ROLLOUT_HEALTH = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "inProgress": "!has(status.observedGeneration) || status.observedGeneration != string(metadata.generation)"
    " || (has(status.phase) && status.phase == 'Progressing')",
    "failed": "has(status.phase) && status.phase == 'Degraded'",
    "current": "has(status.phase) && (status.phase == 'Healthy' || status.phase == 'Paused')",
}


def pick_cluster(result: RenderResult, cluster: str | None) -> str | None:
    """The cluster these objects bootstrap; a multi-cluster environment must name one."""
    names = [c.name for c in result.fleet.clusters]
    if cluster is None and len(names) > 1:
        raise ValidationError.at(
            Location("--cluster"),
            f"{result.fleet.environment} runs in {len(names)} clusters ({', '.join(names)}): Flux runs in each "
            "of them, so render each cluster's objects with --cluster",
        )
    if cluster is not None and cluster not in names:
        raise ValidationError.at(
            Location("--cluster"), f"unknown cluster {cluster!r} (known: {', '.join(names) or 'none'})"
        )
    return cluster if cluster is not None else (names[0] if names else None)


def artifact_tag(result: RenderResult, cluster: str | None) -> str:
    """The OCI tag CI pushes this cluster's render under: `<env>[-<cluster>]`."""
    return f"{result.fleet.environment}-{cluster}" if cluster else result.fleet.environment


def source(result: RenderResult, kind: str, url: str, ref: str | None, cluster: str | None) -> dict[str, Any]:
    fleet = result.fleet
    labels = {"app.kubernetes.io/part-of": fleet.name, "app.kubernetes.io/managed-by": "skipper-render"}
    meta = {"name": fleet.name, "namespace": FLUX_NAMESPACE, "labels": labels}
    if kind == "oci":
        if not url.startswith("oci://"):
            raise ValidationError.at(Location("--url"), f"an OCI source needs an oci:// URL, not {url[:60]!r}")
        tag = ref or artifact_tag(result, cluster)
        return {
            "apiVersion": SOURCE_API,
            "kind": "OCIRepository",
            "metadata": meta,
            "spec": {"interval": "5m", "url": url, "ref": {"tag": tag}},
        }
    if not url.startswith(("http://", "https://", "ssh://")):
        raise ValidationError.at(Location("--url"), f"a git source needs an http(s):// or ssh:// URL, not {url[:60]!r}")
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": meta,
        "spec": {"interval": "5m", "url": url, "ref": {"branch": ref or "main"}},
    }


def base_path(result: RenderResult, kind: str, root: str, cluster: str | None) -> str:
    """Where this cluster's render lies in the source: under `root` in git, at the artifact's root in OCI."""
    if kind == "oci":
        return "."
    return "/".join(p for p in (root.rstrip("/"), result.fleet.environment, cluster) if p)


def _timeout(result: RenderResult) -> str:
    """Long enough for every timed canary pause to pass while Flux waits."""
    paused = 0.0
    for cap in result.fleet.capabilities:
        for step in cap.rollout.steps or []:
            paused += sum(seconds(v) for v in (step.pause or {}).values())
    return f"{int(BASE_TIMEOUT + paused)}s"


def kustomizations(result: RenderResult, kind: str, root: str, cluster: str | None) -> list[dict[str, Any]]:
    """`<fleet>-<env>-fleet` and `<fleet>-<env>` (which depends on it) for one cluster.

    The capabilities' Kustomization carries drift-ignore rules for the fields Argo Rollouts moves
    (without them Flux would put a canary's weights back), and health checks for Rollouts."""
    fleet = result.fleet
    name = f"{fleet.name}-{fleet.environment}"
    base = base_path(result, kind, root, cluster)
    common = {
        "interval": "10m",
        "retryInterval": "1m",
        "timeout": _timeout(result),
        "prune": True,
        "wait": True,
        "sourceRef": {"kind": "OCIRepository" if kind == "oci" else "GitRepository", "name": fleet.name},
    }
    labels = {"app.kubernetes.io/part-of": fleet.name, "naftiko.io/environment": fleet.environment}
    if cluster:
        labels["naftiko.io/cluster"] = cluster
    rollouts = any(o["kind"] == "Rollout" for o in result.objects)
    return [
        {
            "apiVersion": KUSTOMIZE_API,
            "kind": "Kustomization",
            "metadata": {"name": f"{name}-fleet", "namespace": FLUX_NAMESPACE, "labels": labels},
            "spec": {**common, "path": f"{base}/fleet"},
        },
        {
            "apiVersion": KUSTOMIZE_API,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE, "labels": labels},
            "spec": {
                **common,
                "path": f"{base}/capabilities",
                "dependsOn": [{"name": f"{name}-fleet"}],
                "ignore": drift.flux_ignore_rules(result.objects),
                "healthCheckExprs": [ROLLOUT_HEALTH] if rollouts else None,
            },
        },
    ]
