"""Security (SPEC 2.6): External Secrets for binds, cert-manager Certificates, NetworkPolicies.

- `security.secrets.provider` other than `kubernetes`: each bind Secret the workload mounts (see
  binds.py) is produced by an External Secrets `ExternalSecret` of the same name. A file bind's
  Secret is templated into the YAML file the engine reads (one root key per bind key); a
  location-less bind's Secret holds one key per environment variable. Remote keys come from
  `security.secrets.remoteKey` (`{environment}`, `{capability}`, `{namespace}`) or the bind's own
  `binds.<namespace>.remoteKey`. No secret value is ever rendered.
- `security.mtls` without a mesh: a Certificate `{cap}` (Secret `{cap}-mtls`, rotated by
  cert-manager per `duration` / `renewBefore`), mounted read-only at `/app/tls`.
- `security.networkPolicy`: ingress to each capability only from its declared callers, the MCP
  gateway (MCP ports), the ingress controller (public ports) and anyone on the control port.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators import binds
from skipper_render.generators.base import Context, Obj
from skipper_render.resolve import ResolvedCapability

ESO = "external-secrets.io/v1"
TLS_MOUNT = "/app/tls"


def _remote_key(cap: ResolvedCapability, ctx: Context, namespace: str) -> str:
    override = cap.binds.get(namespace)
    template = (override and override.remoteKey) or ctx.fleet.spec.security.secrets.remoteKey
    return (
        template.replace("{environment}", ctx.fleet.environment)
        .replace("{capability}", cap.name)
        .replace("{namespace}", namespace)
    )


def external_secrets(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    secrets = ctx.fleet.spec.security.secrets
    if secrets.provider == "kubernetes":
        return []
    if secrets.store is None:
        ctx.diags.error(cap.where, f"secrets provider {secrets.provider!r} needs security.secrets.store")
        return []
    plan = binds.plan(cap, ctx.diags)
    store = {"kind": secrets.store.kind, "name": secrets.store.name}
    out: list[Obj] = []

    def external_secret(secret: str, data: list[dict[str, Any]], template: dict[str, str] | None) -> Obj:
        target: dict[str, Any] = {"name": secret, "creationPolicy": "Owner", "deletionPolicy": "Retain"}
        if template:
            target["template"] = {"engineVersion": "v2", "data": template}
        spec = {"refreshInterval": secrets.refreshInterval, "secretStoreRef": store, "target": target, "data": data}
        return {
            "apiVersion": ESO,
            "kind": "ExternalSecret",
            "metadata": names.metadata(secret, cap, ctx.fleet),
            "spec": spec,
        }

    for group in plan.files:
        data, template = [], {}
        for key, readers in sorted(group.files.items()):
            values: set[str] = set()
            for bind in readers:  # binds sharing a file share its root keys
                remote = _remote_key(cap, ctx, bind.namespace)
                for value in sorted({v for _, v in bind.keys} - values):
                    data.append({"secretKey": value, "remoteRef": {"key": remote, "property": value}})
                    values.add(value)
            lines = [f'{v}: {{{{ index . "{v}" | toJson }}}}' for v in sorted(values)]
            template[key] = "\n".join(lines) + "\n"
        out.append(external_secret(group.secret, _unique(data), template))
    for env in plan.env:
        remote = _remote_key(cap, ctx, env.bind.namespace)
        data = [{"secretKey": v, "remoteRef": {"key": remote, "property": v}} for v in env.variables]
        out.append(external_secret(env.secret, data, None))
    return out


def _unique(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in data:
        seen.setdefault(item["secretKey"], item)
    return list(seen.values())


def certificate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    mtls = ctx.fleet.spec.security.mtls
    if mtls is None or ctx.fleet.spec.routing.mesh != "none":
        return []  # a mesh brings its own workload certificates
    host = f"{cap.name}.{cap.namespace}"
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {
                "secretName": f"{cap.name}-mtls",
                "issuerRef": {"kind": mtls.issuer.kind, "name": mtls.issuer.name, "group": "cert-manager.io"},
                "duration": mtls.duration,
                "renewBefore": mtls.renewBefore,
                "commonName": f"{host}.svc",
                "dnsNames": [cap.name, host, f"{host}.svc", f"{host}.svc.cluster.local"],
                "usages": ["server auth", "client auth"],
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        }
    ]


def network_policy(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    if not ctx.fleet.spec.security.networkPolicy:
        return []
    ports = names.ports(cap)
    callers = sorted(ctx.fleet.callers.get(cap.name, ()))
    rules: list[dict[str, Any]] = []
    business = [{"port": p.number, "protocol": "TCP"} for p in ports if p.expose.type != "control"]
    if callers and business:
        expression = {"key": names.CAPABILITY, "operator": "In", "values": callers}
        rules.append({"from": [{"podSelector": {"matchExpressions": [expression]}}], "ports": business})
    gateway = ctx.fleet.spec.routing.mcpGateway
    mcp = [{"port": p.number, "protocol": "TCP"} for p in ports if p.expose.type == "mcp"]
    if gateway is not None and gateway.enabled and mcp:
        instance = {"app.kubernetes.io/instance": names.mcp_gateway(ctx.fleet)}
        rules.append({"from": [{"podSelector": {"matchLabels": instance}}], "ports": mcp})
    public = [{"port": p.number, "protocol": "TCP"} for p in names.ingress_ports(cap, ctx.fleet)]
    namespace = names.ingress_namespace(cap, ctx.fleet)
    if public and namespace is not None:
        selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
        rules.append({"from": [{"namespaceSelector": selector}], "ports": public})
    control = names.control_port(cap)
    if control is not None:  # Prometheus scrapes it from its own namespace
        rules.append({"ports": [{"port": control.number, "protocol": "TCP"}]})
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": names.metadata(cap.name, cap, ctx.fleet),
            "spec": {"podSelector": {"matchLabels": names.selector(cap)}, "policyTypes": ["Ingress"], "ingress": rules},
        }
    ]


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    return [*external_secrets(cap, ctx), *certificate(cap, ctx), *network_policy(cap, ctx)]
