"""The fleet's MCP gateway: agentgateway (standalone) federating every capability's MCP expose.

One target per MCP expose, named by its namespace, so a tool is exposed as `<namespace>_<tool>`
(`prefixMode: always` keeps names stable as the fleet grows); `failureMode: failOpen` keeps one
capability's outage from failing every session; `mcpAuthorization` allows exactly the declared
tools; `mcpAuthentication` (OAuth, mode strict) admits only clients with a token of the
configured issuer: the gateway holds every capability's backend credentials, so a gateway with a
public host and no `auth` is refused. With Warden, tool calls are authorized by an OPA sidecar
(`extAuthz`). Objects: ServiceAccount, ConfigMap (config.yaml), Deployment, Service,
PodDisruptionBudget, ServiceMonitor, and a TLS route on `host` (HTTPRoute or Ingress).

Ports avoid every mesh sidecar's (Istio 15000-15090, Linkerd 4140-4191, Consul 19000-21000): the
listener 3000, stats 9902, readiness 9903, admin on localhost 9901. agentgateway watches its config
file (a ConfigMap mounted as a directory, never `subPath`) and reloads routes, backends and
policies in place; only its `config:` section (addresses, tracing) is read at start, so only that
section's digest is in the pod template: adding a capability or a tool never rolls the gateway.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from skipper_render import names
from skipper_render.generators import mesh, warden
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.routes import Rule, route
from skipper_render.model.ikanos import Bind, Expose
from skipper_render.resolve import ResolvedCapability
from skipper_render.serialize import to_yaml_document

PORT, METRICS, READINESS, ADMIN = 3000, 9902, 9903, 9901
STARTUP_DIGEST = "naftiko.io/startup-digest"
COMPONENT = "mcp-gateway"  # app.kubernetes.io/name of the gateway's objects
TOKENS = "/var/run/secrets/mcp"


class Target(NamedTuple):
    capability: ResolvedCapability
    expose: Expose
    token: tuple[str, str] | None  # (Secret, key) holding the raw bearer token, when the expose needs one

    @property
    def name(self) -> str:
        return self.expose.namespace or ""

    @property
    def host(self) -> str:
        return f"http://{mesh.base.host(self.capability)}:{self.expose.port}/mcp"


def component(ctx: Context) -> str:
    return names.mcp_gateway(ctx.fleet)


def token_secret(ctx: Context, expose: Expose) -> str:
    """The Secret holding a capability's bearer token for the gateway (when no bind holds it)."""
    return names.short(f"{component(ctx)}-{expose.namespace}", 253)


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
    fallback = token_secret(ctx, expose)
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
            for tool in sorted({t for t in expose.tools if expose.tools.count(t) > 1}):
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


def startup_config(ctx: Context) -> dict[str, Any]:
    """The `config:` section: what agentgateway reads only at start."""
    raw: dict[str, Any] = {
        "adminAddr": f"127.0.0.1:{ADMIN}",
        "statsAddr": f"0.0.0.0:{METRICS}",
        "readinessAddr": f"0.0.0.0:{READINESS}",
    }
    otlp = ctx.fleet.spec.observability.otlp
    if otlp is not None:  # gateway spans join the capabilities' traces in the same collector
        protocol = "grpc" if otlp.protocol == "grpc" else "http"
        raw["tracing"] = {"otlpEndpoint": otlp.endpoint, "otlpProtocol": protocol, "randomSampling": otlp.sampling}
    return raw


def _policies(ctx: Context, found: list[Target]) -> dict[str, Any]:
    settings = ctx.fleet.spec.routing.mcpGateway
    policies: dict[str, Any] = {}
    auth = settings.auth if settings else None
    if auth is not None:
        authentication: dict[str, Any] = {
            "issuer": auth.issuer,
            "audiences": auth.audiences,
            "mode": "strict",
            "resourceMetadata": {"resource": f"https://{settings.host}{settings.path}"}
            if settings and settings.host
            else {},
        }
        if auth.jwksUrl:
            authentication["jwks"] = {"url": auth.jwksUrl}
        policies["mcpAuthentication"] = authentication
    if warden.settings(ctx) is not None:  # the OPA sidecar decides on every request (mcp-name header)
        policies["extAuthz"] = {
            "host": warden.GRPC_ADDR,
            "protocol": {"grpc": {"context": {"fleet": ctx.fleet.name, "environment": ctx.fleet.environment}}},
            "failureMode": "deny",
            "policies": {"http": {"requestTimeout": "2s"}},
        }
    rules = [
        f'mcp.tool.target == "{t.name}" && mcp.tool.name == "{tool}"'
        for t in found
        for tool in sorted(set(t.expose.tools))
    ]
    if rules:
        policies["mcpAuthorization"] = {"rules": rules}
    return policies


def config(ctx: Context, found: list[Target]) -> dict[str, Any]:
    settings = ctx.fleet.spec.routing.mcpGateway
    backend_targets = []
    for t in found:
        target: dict[str, Any] = {"name": t.name, "mcp": {"host": t.host}}
        if t.token is not None:
            target["policies"] = {"backendAuth": {"key": {"value": {"file": f"{TOKENS}/{t.name}/token"}}}}
        backend_targets.append(target)
    mcp_route: dict[str, Any] = {
        "name": "mcp",
        "matches": [{"path": {"pathPrefix": settings.path if settings else "/mcp"}}],
        "backends": [{"mcp": {"prefixMode": "always", "failureMode": "failOpen", "targets": backend_targets}}],
        "policies": _policies(ctx, found) or None,
    }
    listener = {"name": "mcp", "protocol": "HTTP", "routes": [mcp_route]}
    return {"config": startup_config(ctx), "binds": [{"port": PORT, "listeners": [listener]}]}


def _meta(ctx: Context, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": ctx.fleet.namespace,
        "labels": labels or names.fleet_labels(ctx.fleet, COMPONENT),
    }


CONTAINER_PORTS = (("mcp", PORT), ("metrics", METRICS), ("readiness", READINESS))


def _deployment(ctx: Context, found: list[Target]) -> Obj:
    settings = ctx.fleet.spec.routing.mcpGateway
    name = component(ctx)
    selector = {"app.kubernetes.io/instance": name}
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": name}},  # a directory: kubelet updates it, agentgateway reloads
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
        mounts.append({"name": f"token-{index}", "mountPath": f"{TOKENS}/{t.name}", "readOnly": True})
    probe = {"httpGet": {"path": "/healthz/ready", "port": "readiness"}, "periodSeconds": 5}
    container = {
        "name": "agentgateway",
        "image": settings.image if settings else "",
        "args": ["-f", "/config/config.yaml"],
        "ports": [{"name": n, "containerPort": number, "protocol": "TCP"} for n, number in CONTAINER_PORTS],
        "readinessProbe": probe,
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": names.RESTRICTED_CONTAINER,
        "volumeMounts": mounts,
    }
    containers = [container]
    startup = hashlib.sha256(to_yaml_document(startup_config(ctx)).encode()).hexdigest()
    annotations = {STARTUP_DIGEST: startup, "prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS)}
    if warden.settings(ctx) is not None:
        sidecar, sidecar_volumes, digest = warden.sidecar(f"{name}-warden", warden.GATEWAY_SUBJECT, ctx)
        containers.append(sidecar)
        volumes += sidecar_volumes
        annotations[warden.DIGEST] = digest
    # only the MCP listener goes through the mesh; stats and readiness are plain (Prometheus, kubelet)
    mesh_labels, mesh_annotations = mesh.pod_metadata(ctx, name, [("mcp", PORT)], [METRICS, READINESS])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(ctx, name),
        "spec": {
            "replicas": settings.replicas if settings else 2,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": names.fleet_labels(ctx.fleet, COMPONENT) | selector | mesh_labels,
                    "annotations": annotations | mesh_annotations,
                },
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": ctx.fleet.spec.routing.mesh == "consul",  # see mesh/consul.py
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10101,
                        "runAsGroup": 10101,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": containers,
                    "volumes": volumes,
                },
            },
        },
    }


def _public_route(ctx: Context, name: str) -> list[Obj]:
    """The route on `host`: TLS, never a catch-all host, and only with client authentication."""
    settings = ctx.fleet.spec.routing.mcpGateway
    if settings is None or not settings.host:
        return []
    ingress = ctx.fleet.spec.routing.ingress
    where = ctx.fleet.at(("routing", "mcpGateway", "host"))
    if ingress is None:
        ctx.diags.error(where, "a gateway host is reached through a route: it needs routing.ingress")
        return []
    if settings.auth is None:
        ctx.diags.error(
            ctx.fleet.at(("routing", "mcpGateway")),
            "routing.mcpGateway.auth is required with a host: the gateway holds every capability's backend "
            "credentials, so an open gateway hands them to anyone who reaches it",
        )
    if "*" in settings.host or "{" in settings.host:
        ctx.diags.error(where, "the gateway's host must be one exact name (no wildcard, no template)")
    if ingress.api == "ingress" and ingress.tls is None:
        ctx.diags.error(where, "the gateway's public route needs TLS: set routing.ingress.tls")
    if ingress.api == "gateway" and (ingress.gateway is None or not ingress.gateway.sectionName):
        ctx.diags.warn(
            where,
            "bind the gateway's route to the Gateway's HTTPS listener (routing.ingress.gateway.sectionName): "
            "tokens must not travel in clear text",
        )
    return route(ctx, _meta(ctx, name), settings.host, [Rule(settings.path, name, "mcp", PORT)], where)


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
        _deployment(ctx, found),
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
    configmap = warden.configmap(f"{name}-warden", _meta(ctx, name), warden.GATEWAY_SUBJECT, ctx)
    if configmap is not None:
        objects.append(configmap)
    if ctx.fleet.spec.observability.prometheus.serviceMonitor:
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
    return objects + _public_route(ctx, name)
