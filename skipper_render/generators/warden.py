"""Warden: an OPA sidecar per capability that loads the capability's signed policy bundle.

The sidecar pulls `security.warden.bundle.resource` (`{capability}` filled in) from the bundle
service, verifies it with the public key (`signing.publicKey`, read at render time; the private key
never is) and ships decision logs to `decisionLogs.service`. The engine reaches it on
`IKANOS_WARDEN_URL=http://127.0.0.1:8181`; readiness waits until the bundle is activated.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.model.fleet import Warden
from skipper_render.resolve import ResolvedCapability
from skipper_render.serialize import to_yaml_document

PORT = 8181
URL = f"http://127.0.0.1:{PORT}"


def _settings(ctx: Context) -> Warden | None:
    """The Warden settings when enabled and complete (resolve reported what is missing)."""
    warden = ctx.fleet.spec.security.warden
    if warden is None or not warden.enabled or ctx.fleet.warden_key is None:
        return None
    return warden if warden.bundle is not None and warden.signing is not None else None


def config(cap: ResolvedCapability, ctx: Context, warden: Warden) -> dict[str, Any]:
    assert warden.bundle is not None and warden.signing is not None  # checked by _settings
    services: dict[str, Any] = {"warden": {"url": warden.bundle.service}}
    signing: dict[str, Any] = {"keyid": warden.signing.keyId}
    if warden.signing.scope:
        signing["scope"] = warden.signing.scope
    out: dict[str, Any] = {
        "services": services,
        "bundles": {
            cap.name: {
                "service": "warden",
                "resource": warden.bundle.resource.replace("{capability}", cap.name),
                "persist": False,
                "polling": {"min_delay_seconds": 60, "max_delay_seconds": 120},
                "signing": signing,
            }
        },
        "keys": {warden.signing.keyId: {"algorithm": "RS256", "key": ctx.fleet.warden_key or ""}},
        "labels": {"capability": cap.name, "environment": ctx.fleet.environment, "fleet": ctx.fleet.name},
    }
    if warden.decisionLogs is not None:
        services["audit"] = {"url": warden.decisionLogs.service}
        out["decision_logs"] = {"service": "audit", "reporting": {"min_delay_seconds": 5, "max_delay_seconds": 30}}
    return out


def configmap(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    warden = _settings(ctx)
    if warden is None:
        return []
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": names.metadata(f"{cap.name}-warden", cap, ctx.fleet),
            "data": {"config.yaml": to_yaml_document(config(cap, ctx, warden))},
        }
    ]


def sidecar(cap: ResolvedCapability, ctx: Context) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(container, volume) for the pod, or None without Warden."""
    warden = _settings(ctx)
    if warden is None:
        return None
    container = {
        "name": "warden",
        "image": warden.image,
        "args": ["run", "--server", f"--addr=0.0.0.0:{PORT}", "--config-file=/config/config.yaml"],
        "ports": [{"name": "warden", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/health?bundles", "port": "warden"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "warden"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": names.RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "warden", "mountPath": "/config", "readOnly": True}],
    }
    return container, {"name": "warden", "configMap": {"name": f"{cap.name}-warden"}}
