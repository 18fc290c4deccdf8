"""Warden: OPA (with its Envoy ext_authz gRPC plugin) where requests really pass a decision point.

The ikanos engine calls no policy engine, so Warden decides where a proxy asks it:
- MCP tool calls: the MCP gateway's route asks an OPA sidecar of the gateway (`extAuthz`, gRPC on
  127.0.0.1:9191) with the gateway's own bundle (`policies/mcp-gateway/` + `policies/common/`);
  the request carries the `mcp-name` header (`<namespace>_<tool>`) the policy decides on;
- under Istio, REST and mesh traffic into a capability: a `CUSTOM` AuthorizationPolicy sends it to
  an OPA sidecar of the capability (the mesh's extension provider `skipper-warden`, see README)
  holding the capability's bundle.
Without Istio a capability gets no Warden: nothing would ask it, and its readiness must not wait
on a bundle nothing enforces. One OPA per enforcement point, not one per fleet: agentgateway's
`extAuthz` and Istio's provider each name one local address, bundles stay per subject, and every
decision log carries its subject.

Each OPA verifies its signed bundle (`signing.publicKey`, read at render time), polls it (a
policy change never rolls a pod), listens for its API and ext_authz on localhost only (the
diagnostics port serves health), and ships decision logs to `decisionLogs.service` labelled with
fleet, environment, cluster and capability, authenticated with a token from Secret
`{fleet}-warden-audit` (never inline). OPA reads its config only at start: the config's digest is
in the pod template.
"""

from __future__ import annotations

import hashlib
from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.model.fleet import Warden
from skipper_render.resolve import ResolvedCapability
from skipper_render.serialize import to_yaml_document

API_PORT, GRPC_PORT, DIAGNOSTIC_PORT = 8181, 9191, 8282
GRPC_ADDR = f"127.0.0.1:{GRPC_PORT}"
PROVIDER = "skipper-warden"  # the Istio extension provider name (meshConfig.extensionProviders)
DECISION = "envoy/authz/allow"  # the rule the ext_authz plugin queries
GATEWAY_SUBJECT = "mcp-gateway"
AUDIT_MOUNT = "/var/run/secrets/warden-audit"
DIGEST = "naftiko.io/warden-digest"


def settings(ctx: Context) -> Warden | None:
    """The Warden settings when enabled and complete (resolve reported what is missing)."""
    warden = ctx.fleet.spec.security.warden
    if warden is None or not warden.enabled or ctx.fleet.warden_key is None:
        return None
    return warden if warden.bundle is not None and warden.signing is not None else None


def enforces_capabilities(ctx: Context) -> bool:
    """Capabilities get a Warden only where a proxy asks it: under Istio."""
    return settings(ctx) is not None and ctx.fleet.spec.routing.mesh == "istio"


def audit_secret(fleet_name: str) -> str:
    return names.short(f"{fleet_name}-warden-audit", 253)


def config(subject: str, ctx: Context, warden: Warden) -> dict[str, Any]:
    assert warden.bundle is not None and warden.signing is not None  # checked by settings
    services: dict[str, Any] = {"warden": {"url": warden.bundle.service}}
    signing: dict[str, Any] = {"keyid": warden.signing.keyId}
    if warden.signing.scope:
        signing["scope"] = warden.signing.scope
    fleet = ctx.fleet
    labels = {"capability": subject, "environment": fleet.environment, "fleet": fleet.name}
    if fleet.cluster is not None:
        labels["cluster"] = fleet.cluster.name
    out: dict[str, Any] = {
        "services": services,
        "bundles": {
            subject: {
                "service": "warden",
                "resource": warden.bundle.resource.replace("{capability}", subject),
                "persist": False,
                "polling": {"min_delay_seconds": 60, "max_delay_seconds": 120},
                "signing": signing,
            }
        },
        "keys": {warden.signing.keyId: {"algorithm": "RS256", "key": fleet.warden_key or ""}},
        "labels": labels,
        "plugins": {"envoy_ext_authz_grpc": {"addr": GRPC_ADDR, "path": DECISION}},
    }
    if warden.decisionLogs is not None:
        audit: dict[str, Any] = {"url": warden.decisionLogs.service}
        if warden.decisionLogs.auth == "bearer":
            audit["credentials"] = {"bearer": {"token_path": f"{AUDIT_MOUNT}/token"}}
        services["audit"] = audit
        out["decision_logs"] = {"service": "audit", "reporting": {"min_delay_seconds": 5, "max_delay_seconds": 30}}
    return out


def configmap(name: str, metadata: dict[str, Any], subject: str, ctx: Context) -> Obj | None:
    """ConfigMap `name` with the OPA config of `subject`, or None without Warden."""
    warden = settings(ctx)
    if warden is None:
        return None
    text = to_yaml_document(config(subject, ctx, warden))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {**metadata, "name": name},
        "data": {"config.yaml": text},
    }


def capability_configmap(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    if not enforces_capabilities(ctx):
        return []
    found = configmap(f"{cap.name}-warden", names.metadata(cap.name, cap, ctx.fleet), cap.name, ctx)
    return [found] if found else []


def sidecar(configmap_name: str, subject: str, ctx: Context) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(container, volumes, digest of its startup config) of an OPA sidecar for `subject`."""
    warden = settings(ctx)
    assert warden is not None
    health = {"path": "/health", "port": "warden-health"}
    mounts = [{"name": "warden", "mountPath": "/config", "readOnly": True}]
    volumes: list[dict[str, Any]] = [{"name": "warden", "configMap": {"name": configmap_name}}]
    if warden.decisionLogs is not None and warden.decisionLogs.auth == "bearer":
        mounts.append({"name": "warden-audit", "mountPath": AUDIT_MOUNT, "readOnly": True})
        secret = {"secretName": audit_secret(ctx.fleet.name), "items": [{"key": "token", "path": "token"}]}
        volumes.append({"name": "warden-audit", "secret": secret})
    container = {
        "name": "warden",
        "image": warden.image,
        "args": [
            "run",
            "--server",
            f"--addr=127.0.0.1:{API_PORT}",  # the REST API: never reachable from the namespace
            f"--diagnostic-addr=0.0.0.0:{DIAGNOSTIC_PORT}",  # health only, for the kubelet
            "--config-file=/config/config.yaml",
        ],
        "ports": [{"name": "warden-health", "containerPort": DIAGNOSTIC_PORT, "protocol": "TCP"}],
        # ready once its bundle is active and the ext_authz listener runs: it enforces
        "readinessProbe": {"httpGet": {**health, "path": "/health?plugins"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": health, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": names.RESTRICTED_CONTAINER,
        "volumeMounts": mounts,
    }
    digest = hashlib.sha256(to_yaml_document(config(subject, ctx, warden)).encode()).hexdigest()
    return container, volumes, digest
