"""The fleet's MCP gateway: agentgateway (standalone) federating every capability's MCP expose.

One target per MCP expose, named by its namespace, so a tool is exposed as `<namespace>_<tool>`
(`prefixMode: always` keeps names stable as the fleet grows); `failureMode: failOpen` keeps one
capability's outage from failing every session; `mcpAuthorization` allows exactly the declared
tools. Objects: ConfigMap (config.yaml), Deployment, Service, PodDisruptionBudget, ServiceMonitor
and a route (HTTPRoute or Ingress) from `routing.mcpGateway` + `routing.ingress`.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from skipper_render import names
from skipper_render.generators import mesh
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.routes import Rule, route
from skipper_render.model.ikanos import Bind, Expose
from skipper_render.resolve import ResolvedCapability
from skipper_render.serialize import to_yaml_document

PORT, METRICS, READINESS = 3000, 15020, 15021


class Target(NamedTuple):
    capability: ResolvedCapability
    expose: Expose
    token: tuple[str, str] | None  # (Secret, key) holding the raw bearer token, when the expose needs one

    @property
    def name(self) -> str:
        return self.expose.namespace or ""

    @property
    def host(self) -> str:
        cap = self.capability
        return f"http://{cap.name}.{cap.namespace}.svc.cluster.local:{self.expose.port}/mcp"


def component(ctx: Context) -> str:
    return names.mcp_gateway(ctx.fleet)


def _token(cap: ResolvedCapability, expose: Expose, ctx: Context) -> tuple[str, str] | None:
    """Where the gateway reads the bearer token the capability's MCP expose expects."""
    if expose.auth != "bearer":
        return None
    bind = _bind_for(cap, expose.token_ref)
    if bind is not None and bind.location is None:  # a location-less bind: the Secret holds the raw value
        value = dict(bind.keys)[expose.token_ref or ""]
        secret = cap.binds.get(bind.namespace)
        name = (secret and secret.secretName) or names.bind_secret(cap.name, bind.namespace)
        return name, value
    fallback = f"{component(ctx)}-{expose.namespace}"
    ctx.diags.warn(
        expose.where,
        f"the MCP gateway needs the raw bearer token of {expose.namespace!r}: "
        f"it reads Secret {fallback!r}, key 'token'",
    )
    return fallback, "token"


def _bind_for(cap: ResolvedCapability, variable: str | None) -> Bind | None:
    return next((b for b in cap.spec.binds if variable and variable in dict(b.keys)), None)


def targets(ctx: Context) -> list[Target]:
    """Every routable MCP expose of the fleet; collisions and unroutable exposes are reported."""
    out: list[Target] = []
    seen: dict[str, Target] = {}
    for cap in ctx.fleet.capabilities:
        for expose in cap.spec.exposes:
            if expose.type != "mcp":
                continue
            if expose.transport == "stdio":
                ctx.diags.warn(expose.where, "a stdio MCP expose cannot be routed by the MCP gateway: skipped")
                continue
            if expose.address in (None, "localhost", "127.0.0.1", "::1"):
                ctx.diags.error(
                    expose.where, "the MCP gateway cannot reach an expose bound to localhost; set address: 0.0.0.0"
                )
                continue
            namespace = expose.namespace or ""
            if "_" in namespace or not namespace:
                ctx.diags.error(expose.where, f"MCP namespace {namespace!r} cannot name a gateway target (no '_')")
                continue
            other = seen.get(namespace)
            if other is not None:
                ctx.diags.error(
                    expose.where,
                    f"MCP namespace {namespace!r} of {cap.name!r} is also used by {other.capability.name!r} "
                    f"({other.expose.where})",
                )
                continue
            duplicates = sorted({t for t in expose.tools if expose.tools.count(t) > 1})
            for tool in duplicates:
                ctx.diags.error(expose.where, f"tool {tool!r} is declared twice in MCP namespace {namespace!r}")
            target = Target(cap, expose, _token(cap, expose, ctx))
            seen[namespace] = target
            out.append(target)
    return sorted(out, key=lambda t: t.name)


def routing_table(ctx: Context) -> list[dict[str, Any]]:
    """tool -> capability, namespace, port: what `skipper gateway tools` prints."""
    return [
        {"tool": f"{t.name}_{tool}", "capability": t.capability.name, "namespace": t.name, "port": t.expose.port}
        for t in targets(ctx)
        for tool in sorted(set(t.expose.tools))
    ]


def config(ctx: Context, found: list[Target]) -> dict[str, Any]:
    settings = ctx.fleet.spec.routing.mcpGateway
    path = settings.path if settings else "/mcp"
    rules = [
        f'mcp.tool.target == "{t.name}" && mcp.tool.name == "{tool}"'
        for t in found
        for tool in sorted(set(t.expose.tools))
    ]
    backend_targets = []
    for t in found:
        target: dict[str, Any] = {"name": t.name, "mcp": {"host": t.host}}
        if t.token is not None:
            target["policies"] = {"backendAuth": {"key": {"value": {"file": f"/var/run/secrets/mcp/{t.name}/token"}}}}
        backend_targets.append(target)
    raw: dict[str, Any] = {
        "adminAddr": "127.0.0.1:15000",
        "statsAddr": f"0.0.0.0:{METRICS}",
        "readinessAddr": f"0.0.0.0:{READINESS}",
    }
    otlp = ctx.fleet.spec.observability.otlp
    if otlp is not None:  # gateway spans join the capabilities' traces in the same collector
        protocol = "grpc" if otlp.protocol == "grpc" else "http"
        raw["tracing"] = {"otlpEndpoint": otlp.endpoint, "otlpProtocol": protocol, "randomSampling": otlp.sampling}
    route: dict[str, Any] = {
        "name": "mcp",
        "matches": [{"path": {"pathPrefix": path}}],
        "backends": [{"mcp": {"prefixMode": "always", "failureMode": "failOpen", "targets": backend_targets}}],
    }
    if rules:
        route["policies"] = {"mcpAuthorization": {"rules": rules}}
    return {
        "config": raw,
        "binds": [{"port": PORT, "listeners": [{"name": "mcp", "protocol": "HTTP", "routes": [route]}]}],
    }


def _meta(ctx: Context, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    labels = names.fleet_labels(ctx.fleet, "mcp-gateway")
    return {"name": name, "namespace": ctx.fleet.namespace, "labels": labels, "annotations": annotations}


def _deployment(ctx: Context, text: str, found: list[Target]) -> Obj:
    settings = ctx.fleet.spec.routing.mcpGateway
    name = component(ctx)
    selector = {"app.kubernetes.io/instance": name}
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": name}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": "/config", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    for index, t in enumerate(x for x in found if x.token):
        secret, key = t.token or ("", "")
        volumes.append(
            {"name": f"token-{index}", "secret": {"secretName": secret, "items": [{"key": key, "path": "token"}]}}
        )
        mounts.append({"name": f"token-{index}", "mountPath": f"/var/run/secrets/mcp/{t.name}", "readOnly": True})
    probe = {"httpGet": {"path": "/healthz/ready", "port": "readiness"}, "periodSeconds": 5}
    container = {
        "name": "agentgateway",
        "image": settings.image if settings else "",
        "args": ["-f", "/config/config.yaml"],
        "ports": [
            {"name": "mcp", "containerPort": PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS, "protocol": "TCP"},
            {"name": "readiness", "containerPort": READINESS, "protocol": "TCP"},
        ],
        "readinessProbe": probe,
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": names.RESTRICTED_CONTAINER,
        "volumeMounts": mounts,
    }
    checksum = hashlib.sha256(text.encode()).hexdigest()
    mesh_labels, mesh_annotations = mesh.pod_metadata(ctx)
    annotations = {"checksum/config": checksum, "prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(ctx, name),
        "spec": {
            "replicas": settings.replicas if settings else 2,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": names.fleet_labels(ctx.fleet, "mcp-gateway") | selector | mesh_labels,
                    "annotations": annotations | mesh_annotations,
                },
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10101,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def generate(ctx: Context) -> list[Obj]:
    settings = ctx.fleet.spec.routing.mcpGateway
    if settings is None or not settings.enabled:
        return []
    found = targets(ctx)
    name = component(ctx)
    text = to_yaml_document(config(ctx, found))
    selector = {"app.kubernetes.io/instance": name}
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(ctx, name),
            "automountServiceAccountToken": False,
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(ctx, name), "data": {"config.yaml": text}},
        _deployment(ctx, text, found),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(ctx, name),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {"name": "mcp", "port": PORT, "targetPort": "mcp", "protocol": "TCP", "appProtocol": "http"},
                    {"name": "metrics", "port": METRICS, "targetPort": "metrics", "protocol": "TCP"},
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(ctx, name),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
    ]
    if (
        ctx.serves("monitoring.coreos.com/v1", "ServiceMonitor")
        and ctx.fleet.spec.observability.prometheus.serviceMonitor
    ):
        objects.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": _meta(ctx, name),
                "spec": {
                    "selector": {"matchLabels": selector},
                    "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
                },
            }
        )
    where = ctx.fleet.at(("routing", "mcpGateway"))
    if settings.host and ctx.fleet.spec.routing.ingress is None:
        ctx.diags.error(
            ctx.fleet.at(("routing", "mcpGateway", "host")),
            "a gateway host is reached through a route: it needs routing.ingress",
        )
    objects += route(ctx, _meta(ctx, name), settings.host, [Rule(settings.path, name, "mcp", PORT)], where)
    return objects
