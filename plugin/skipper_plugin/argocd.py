"""Argo CD: the config-management-plugin `generate` step and the ApplicationSet for a fleet.

The CMP contract (argo-cd `cmpserver`, `reposerver/repository`): `generate` runs with the working
directory set to the Application's source path inside the streamed repo; user settings arrive as
`ARGOCD_ENV_<NAME>` (from `plugin.env`) and `PARAM_<NAME>` (from `plugin.parameters`); cluster
facts as `KUBE_VERSION` and `KUBE_API_VERSIONS`. Stdout must hold manifests only; stderr is shown
in the UI and cached, so it stays short and secret-free. Announced parameter defaults are *not*
sent to the plugin, so the defaults live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skipper_plugin import drift
from skipper_render.errors import Location, ValidationError
from skipper_render.render import MANIFEST, RenderRequest
from skipper_render.resolve import ResolvedFleet

PLUGIN_NAME = "skipper-render-v1"  # <metadata.name>-<spec.version> of argocd/plugin.yaml
SETTINGS = ("env", "cluster", "target", "capability", "part")
_ENV_PREFIX = "ARGOCD_ENV_SKIPPER_"
_PARAM_NAMES = {
    "env": "ENVIRONMENT",
    "cluster": "CLUSTER",
    "target": "TARGET",
    "capability": "CAPABILITY",
    "part": "PART",
}


def settings_from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`PARAM_<NAME>` (Application parameters) win over `ARGOCD_ENV_SKIPPER_<NAME>` (plugin env)."""
    out: dict[str, str] = {}
    for key in SETTINGS:
        param = environ.get(f"PARAM_{_PARAM_NAMES[key]}", "")
        value = param or environ.get(f"{_ENV_PREFIX}{'ENV' if key == 'env' else key.upper()}", "")
        if value:
            out[key] = value
    return out


def find_manifest(cwd: Path, source_path: str | None) -> Path:
    """The nearest `naftiko.fleet.yaml` from the app path up to the repository root, never above it."""
    depth = len([p for p in Path(source_path or ".").parts if p not in (".", "")])
    for level in range(depth + 1):
        candidate = cwd.parents[level - 1] if level else cwd
        if (candidate / MANIFEST).is_file():
            return candidate
    raise ValidationError.at(Location(MANIFEST), f"no {MANIFEST} in the app path or above it in the repository")


def request_from_environ(environ: Mapping[str, str], cwd: Path) -> RenderRequest:
    settings = settings_from_environ(environ)
    target = settings.get("target", "kubernetes")
    if target not in ("kubernetes", "operator"):
        raise ValidationError.at(Location(), f"unknown target {target!r} (known: kubernetes, operator)")
    part = settings.get("part", "all")
    if part not in ("all", "fleet", "capabilities"):
        raise ValidationError.at(Location(), f"unknown part {part!r} (known: all, fleet, capabilities)")
    api_versions = environ.get("KUBE_API_VERSIONS")
    return RenderRequest(
        path=find_manifest(cwd, environ.get("ARGOCD_APP_SOURCE_PATH")),
        env=settings.get("env"),
        cluster=settings.get("cluster"),
        capability=settings.get("capability"),
        part="fleet" if part == "fleet" else "capabilities" if part == "capabilities" else "all",
        target="operator" if target == "operator" else "kubernetes",
        api_versions=frozenset(v for v in api_versions.split(",") if v) if api_versions else None,
        kube_version=environ.get("KUBE_VERSION") or None,
    )


def _template(fleet: ResolvedFleet, repo: str, revision: str, path: str, target: str) -> dict[str, Any]:
    env_vars = {
        "SKIPPER_ENV": fleet.environment,
        "SKIPPER_TARGET": target,
        "SKIPPER_CAPABILITY": "{{.capability}}",
        "SKIPPER_CLUSTER": "{{.cluster}}",
        "SKIPPER_PART": "{{.part}}",
    }
    return {
        "metadata": {
            "name": "{{.app}}",
            "labels": {
                "app.kubernetes.io/part-of": fleet.name,
                "naftiko.io/environment": fleet.environment,
                "naftiko.io/capability": "{{.label}}",
            },
            "annotations": {"argocd.argoproj.io/sync-wave": "{{.wave}}"},
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": repo,
                "targetRevision": revision,
                "path": path,
                "plugin": {"name": PLUGIN_NAME, "env": [{"name": k, "value": v} for k, v in env_vars.items()]},
            },
            "destination": {"name": "{{.destination}}", "namespace": fleet.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true", "ApplyOutOfSyncOnly=true", "RespectIgnoreDifferences=true"],
            },
            "ignoreDifferences": drift.argocd_ignore_differences(),  # controllers move these at run time
        },
    }


def applicationset(
    fleet: ResolvedFleet,
    clusters: list[str | None],
    repo: str,
    revision: str,
    path: str,
    target: str,
    has_fleet_part: bool,
) -> dict[str, Any]:
    """One Application per capability (and per cluster), plus one for the fleet-level part.

    A list generator keeps the set explicit and reviewable in git. The fleet part syncs in wave -1
    (classes, gateways, dashboards) before the capabilities in wave 0.
    """
    elements: list[dict[str, str]] = []
    for cluster in clusters:
        suffix = f"-{cluster}" if cluster else ""
        common = {"cluster": cluster or "", "destination": cluster or "in-cluster"}
        if has_fleet_part:
            name = f"{fleet.name}-{fleet.environment}{suffix}-fleet"
            elements.append({"app": name, "part": "fleet", "capability": "", "label": "fleet", "wave": "-1", **common})
        for cap in fleet.capabilities:
            name = f"{fleet.name}-{fleet.environment}{suffix}-{cap.name}"
            elements.append(
                {"app": name, "part": "capabilities", "capability": cap.name, "label": cap.name, "wave": "0", **common}
            )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {
            "name": f"{fleet.name}-{fleet.environment}",
            "namespace": "argocd",
            "labels": {"app.kubernetes.io/part-of": fleet.name, "app.kubernetes.io/managed-by": "skipper-render"},
        },
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": _template(fleet, repo, revision, path, target),
        },
    }
