"""Argo CD: the config-management-plugin `generate` step and the ApplicationSet for a fleet.

The CMP contract (argo-cd v3.5 `cmpserver`, `reposerver/repository`): `generate` runs with the
working directory set to the Application's source path inside the files the repo-server streamed
(the whole repository, or with `reposerver.plugin.use.manifest.generate.paths` only the common root
of the app path and its `manifest-generate-paths`); user settings arrive as `ARGOCD_ENV_<NAME>`
(from `plugin.env`) and as `ARGOCD_APP_PARAMETERS` (a JSON array of the parameters the Application
sets; announced defaults are not sent, so the defaults live here). The `PARAM_<NAME>` variables
derived from it are lossy (names and map keys are upper-cased and may collide), so only the JSON
is read. Cluster facts come as `KUBE_VERSION` and `KUBE_API_VERSIONS`. Stdout holds manifests
only; stderr is shown in the UI and cached, so it stays short and secret-free.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from skipper_plugin import drift
from skipper_render import RenderRequest, RenderResult, parallel
from skipper_render.errors import Location, ValidationError, shorten
from skipper_render.names import short
from skipper_render.render import MANIFEST

PLUGIN_NAME = "skipper-render-v1"  # <metadata.name>-<spec.version> of argocd/plugin.yaml
IN_CLUSTER = "in-cluster"  # Argo CD's name for the cluster it runs in
# setting -> (Application parameter name, plugin env variable)
SETTINGS = {
    "env": ("environment", "ARGOCD_ENV_SKIPPER_ENV"),
    "cluster": ("cluster", "ARGOCD_ENV_SKIPPER_CLUSTER"),
    "target": ("target", "ARGOCD_ENV_SKIPPER_TARGET"),
    "capability": ("capability", "ARGOCD_ENV_SKIPPER_CAPABILITY"),
    "part": ("part", "ARGOCD_ENV_SKIPPER_PART"),
}
_CHOICES = {"target": ("kubernetes", "operator"), "part": ("all", "fleet", "capabilities")}


def _parameters(environ: Mapping[str, str]) -> dict[str, str]:
    """Application parameters from `ARGOCD_APP_PARAMETERS`: string values of known names only."""
    raw = environ.get("ARGOCD_APP_PARAMETERS", "")
    if not raw:
        return {}
    where = Location("ARGOCD_APP_PARAMETERS")
    try:
        items = json.loads(raw)
    except ValueError:
        raise ValidationError.at(where, "is not the JSON array Argo CD sends") from None
    known = {parameter: setting for setting, (parameter, _) in SETTINGS.items()}
    out: dict[str, str] = {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise ValidationError.at(where, "is not the JSON array Argo CD sends")
    for item in items:
        name = item["name"]
        if name not in known:
            raise ValidationError.at(
                where, f"unknown parameter {shorten(name, 40)!r} (known: {', '.join(sorted(known))})"
            )
        if "array" in item or "map" in item:
            raise ValidationError.at(where, f"parameter {name!r} takes a string, not a list or a map")
        value = item.get("string")
        if isinstance(value, str) and value:
            out[known[name]] = value
    return out


def settings_from_environ(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(settings, origin): a parameter of the Application wins over the plugin's env variable."""
    parameters = _parameters(environ)
    settings: dict[str, str] = {}
    origin: dict[str, str] = {}
    for setting, (parameter, variable) in SETTINGS.items():
        if setting in parameters:
            settings[setting], origin[setting] = parameters[setting], f"parameter {parameter}"
        elif environ.get(variable):
            settings[setting], origin[setting] = environ[variable], variable
        else:
            origin[setting] = variable
    origin["kube_version"] = "KUBE_VERSION"
    return settings, origin


def streamed_root(cwd: Path, source_path: str | None) -> Path:
    """The top of the files Argo CD streamed: the working directory is the app path inside them,
    so climb as many levels as the app path's trailing parts match (fewer when the repo-server
    streamed only the common root of the manifest-generate-paths)."""
    parts = [p for p in PurePosixPath(source_path or ".").parts if p not in (".", "/")]
    root = cwd
    for part in reversed(parts):
        if root.name != part or root.parent == root:
            break
        root = root.parent
    return root


def find_manifest(cwd: Path, source_path: str | None) -> Path:
    """The nearest `naftiko.fleet.yaml` from the app path up to the top of the streamed files."""
    root = streamed_root(cwd, source_path)
    candidate = cwd
    while True:
        if (candidate / MANIFEST).is_file():
            return candidate
        if candidate in (root, candidate.parent):
            break
        candidate = candidate.parent
    raise ValidationError.at(
        Location(MANIFEST),
        f"no {MANIFEST} in the app path or above it in the files Argo CD sent; point the Application at "
        "the fleet directory (or list it in argocd.argoproj.io/manifest-generate-paths)",
    )


def request_from_environ(environ: Mapping[str, str], cwd: Path) -> RenderRequest:
    settings, origin = settings_from_environ(environ)
    for name, choices in _CHOICES.items():
        value = settings.get(name, choices[0])
        if value not in choices:
            given = origin[name]
            raise ValidationError.at(
                Location(given), f"unknown {name} {shorten(value, 40)!r} (known: {', '.join(choices)})"
            )
    api_versions = environ.get("KUBE_API_VERSIONS")
    part = settings.get("part", "all")
    return RenderRequest(
        path=find_manifest(cwd, environ.get("ARGOCD_APP_SOURCE_PATH")),
        env=settings.get("env"),
        cluster=settings.get("cluster"),
        capability=settings.get("capability"),
        part="fleet" if part == "fleet" else "capabilities" if part == "capabilities" else "all",
        target="operator" if settings.get("target") == "operator" else "kubernetes",
        api_versions=frozenset(v for v in api_versions.split(",") if v) if api_versions else None,
        kube_version=environ.get("KUBE_VERSION") or None,
        origin=origin,
        jobs=parallel.jobs_setting(environ.get("SKIPPER_JOBS"), "SKIPPER_JOBS"),
    )


def generate_paths(result: RenderResult, capability: str | None) -> str:
    """`argocd.argoproj.io/manifest-generate-paths` of one Application (relative to the fleet dir):
    the manifest, the overlay and the capability's own files, so a commit that touches another
    capability does not refresh this one. The fleet part reads every capability: `.`."""
    if capability is None:
        return "."
    cap = next(c for c in result.fleet.capabilities if c.name == capability)
    paths = {MANIFEST, *result.fleet.inputs}
    paths |= {str(PurePosixPath(f).parent) if "/" in f else f for f in cap.inputs}
    kept = [p for p in sorted(paths) if not any(p.startswith(f"{other}/") for other in paths)]
    return ";".join(kept)  # no spaces: Argo CD does not trim them when it streams


def _template(fleet: Any, repo: str, revision: str, path: str, target: str, project: str) -> dict[str, Any]:
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
                "naftiko.io/part": "{{.part}}",
                "naftiko.io/cluster": "{{.destination}}",
            },
            "annotations": {"argocd.argoproj.io/manifest-generate-paths": "{{.paths}}"},
        },
        "spec": {
            "project": project,
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
    result: RenderResult, repo: str, revision: str, path: str, target: str, project: str = "default"
) -> dict[str, Any]:
    """One Application per capability and cluster, plus one per cluster for the fleet-level part.

    Names carry the destination cluster always (`in-cluster` for an environment without clusters),
    so adding or removing a cluster never renames, and so never deletes, another cluster's apps.
    A RollingSync strategy syncs, cluster by cluster in the environment's order, the fleet part
    (Namespace, classes, gateways) before the capabilities; it needs progressive syncs enabled in
    the ApplicationSet controller, without which Argo CD syncs all of them at once.
    """
    fleet = result.fleet
    has_fleet_part = result.fleet_level > 0
    destinations = [(c.name, c.name) for c in fleet.clusters] or [("", IN_CLUSTER)]
    elements: list[dict[str, str]] = []
    steps: list[dict[str, Any]] = []
    for cluster, destination in destinations:
        common = {"cluster": cluster, "destination": destination}
        prefix = f"{fleet.name}-{fleet.environment}-{destination}"
        if has_fleet_part:
            fields = {"part": "fleet", "capability": "", "label": "fleet", "paths": generate_paths(result, None)}
            elements.append({"app": short(f"{prefix}-fleet"), **fields, **common})
        for cap in fleet.capabilities:
            fields = {"part": "capabilities", "capability": cap.name, "label": cap.name}
            elements.append(
                {"app": short(f"{prefix}-{cap.name}"), **fields, "paths": generate_paths(result, cap.name), **common}
            )
        for part in ("fleet", "capabilities") if has_fleet_part else ("capabilities",):
            expressions = [
                {"key": "naftiko.io/cluster", "operator": "In", "values": [destination]},
                {"key": "naftiko.io/part", "operator": "In", "values": [part]},
            ]
            steps.append({"matchExpressions": expressions})
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
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
            # An Application that leaves the set keeps its workloads until someone deletes them.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": _template(fleet, repo, revision, path, target, project),
        },
    }
