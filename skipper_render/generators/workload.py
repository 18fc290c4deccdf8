"""The engine workload: Deployment (pod template with mounts, env, probes, security) and Service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from skipper_render import names
from skipper_render.generators import binds, mesh, rollout, warden
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.config import import_mounts
from skipper_render.model.klass import Resilience
from skipper_render.resolve import ResolvedCapability

# Resilience4j's Spring module names (`resilience4j.<module>.configs.default.<field>`).
_R4J_MODULES = {
    "circuitBreaker": "CIRCUITBREAKER",
    "retry": "RETRY",
    "bulkhead": "BULKHEAD",
    "rateLimit": "RATELIMITER",
}
_PROPAGATORS = {"w3c": "tracecontext,baggage", "b3": "b3multi"}
_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_CONTAINER_SECURITY = {**names.RESTRICTED_CONTAINER, "privileged": False}


@lru_cache(maxsize=64)  # one class serves many capabilities; its settings are frozen (hashable)
def resilience_env(resilience: Resilience | None) -> Mapping[str, str]:
    """`RESILIENCE4J_<MODULE>_CONFIGS_DEFAULT_<FIELD>`: Spring relaxed binding of the class defaults."""
    out: dict[str, str] = {}
    if resilience is None:
        return MappingProxyType(out)
    for module, prefix in _R4J_MODULES.items():
        block = getattr(resilience, module)  # a flat model: iterate its fields (no serializer to build)
        for field, value in block or ():
            if value is not None:
                out[f"RESILIENCE4J_{prefix}_CONFIGS_DEFAULT_{field.upper()}"] = str(value)
    return MappingProxyType(out)


def otel_env(cap: ResolvedCapability, ctx: Context) -> dict[str, str]:
    otlp = ctx.fleet.spec.observability.otlp
    if otlp is None:
        return {}
    control = cap.spec.control
    if control is not None:
        # The engine hands the spec's tracing settings to OTel autoconfigure as a properties
        # *supplier*: defaults that system properties and OTEL_* environment variables override.
        for field, ours, theirs in (
            ("sampling", otlp.sampling, control.sampling),
            ("propagation", otlp.propagation, control.propagation),
        ):
            if theirs is not None and theirs != ours:
                ctx.diags.warn(
                    control.where,
                    f"the spec's observability.traces.{field} ({theirs}) is overridden in the engine by the "
                    f"fleet's observability.otlp.{field} ({ours}): OTEL_* environment variables win",
                )
    attributes = {
        "service.namespace": ctx.fleet.name,
        "deployment.environment.name": ctx.fleet.environment,
        "naftiko.capability": cap.name,
        "k8s.namespace.name": cap.namespace,
    }
    return {
        "OTEL_SERVICE_NAME": cap.name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": otlp.protocol,
        "OTEL_RESOURCE_ATTRIBUTES": ",".join(f"{k}={v}" for k, v in sorted(attributes.items())),
        "OTEL_PROPAGATORS": _PROPAGATORS[otlp.propagation],
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": _number(otlp.sampling),
    }


def _number(value: float) -> str:
    return re.sub(r"\.0$", "", repr(value)) if value != int(value) or value == 0 else str(int(value))


def pod_annotations(cap: ResolvedCapability) -> dict[str, str]:
    out = {names.SPEC_DIGEST: cap.spec.digest.removeprefix("sha256:")}
    control = names.control_port(cap)
    if control is not None:
        out |= {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(control.number),
            "prometheus.io/path": "/metrics",
        }
    return out


def _probes(cap: ResolvedCapability) -> dict[str, Any]:
    """The control port's health endpoints; without one, a TCP probe on the first served port, so
    a starting JVM is not Ready before it listens (no liveness: an open port proves too little)."""
    if names.control_port(cap) is None:
        served = names.served_ports(cap)
        if not served:
            return {}
        tcp = {"tcpSocket": {"port": served[0].name}}
        return {
            "startupProbe": {**tcp, "periodSeconds": 2, "failureThreshold": 60},
            "readinessProbe": {**tcp, "periodSeconds": 5, "failureThreshold": 3},
        }

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "control"},
            "periodSeconds": period,
            "failureThreshold": failures,
        }

    return {
        "startupProbe": probe("/health/live", 2, 60),
        "livenessProbe": probe("/health/live", 10, 3),
        "readinessProbe": probe("/health/ready", 5, 3),
    }


def pod_spec(cap: ResolvedCapability, ctx: Context) -> dict[str, Any]:
    plan = binds.plan(cap, ctx.diags)
    volumes: list[dict[str, Any]] = [
        {"name": "spec", "configMap": {"name": names.spec_configmap(cap.name)}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "spec", "mountPath": names.SPEC_MOUNT, "subPath": names.SPEC_KEY, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if ctx.fleet.spec.security.mtls is not None and ctx.fleet.spec.routing.mesh == "none":
        volumes.append({"name": "mtls", "secret": {"secretName": f"{cap.name}-mtls"}})
        mounts.append({"name": "mtls", "mountPath": "/app/tls", "readOnly": True})
    for index, imp in enumerate(import_mounts(cap)):
        volumes.append({"name": f"import-{index}", "configMap": {"name": imp.configmap}})
        mounts.append({"name": f"import-{index}", "mountPath": imp.mount, "subPath": imp.key, "readOnly": True})
    for index, group in enumerate(plan.files):
        volume = f"bind-{index}"
        volumes.append({"name": volume, "secret": {"secretName": group.secret}})
        if group.directory == names.ENGINE_WORKDIR:  # never hide the engine jar: mount file by file
            for key in sorted(group.files):
                mounts.append(
                    {
                        "name": volume,
                        "mountPath": f"{group.directory}/{key}",
                        "subPath": key,
                        "readOnly": True,
                    }
                )
        else:
            mounts.append({"name": volume, "mountPath": group.directory, "readOnly": True})
    env: dict[str, dict[str, Any]] = {}
    for group_env in plan.env:
        for variable in group_env.variables:
            ref = {"name": group_env.secret, "key": variable}
            env[variable] = {"name": variable, "valueFrom": {"secretKeyRef": ref}}
    plain = {**resilience_env(cap.klass.resilience), **otel_env(cap, ctx), **cap.env}
    env |= {k: {"name": k, "value": v} for k, v in plain.items()}
    container = {
        "name": names.CONTAINER,
        "image": cap.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["serve", names.SPEC_MOUNT],
        "ports": [{"name": p.name, "containerPort": p.number, "protocol": "TCP"} for p in names.ports(cap)],
        "env": [env[k] for k in sorted(env)],
        "resources": cap.resources.model_dump(exclude_none=True),
        "securityContext": _CONTAINER_SECURITY,
        "volumeMounts": sorted(mounts, key=lambda m: m["mountPath"]),
        **_probes(cap),
    }
    containers: list[dict[str, Any]] = [container]
    if warden.enforces_capabilities(ctx):
        sidecar, sidecar_volumes, _ = warden.sidecar(f"{cap.name}-warden", cap.name, ctx)
        containers.append(sidecar)
        volumes += sidecar_volumes
    return {
        "serviceAccountName": cap.name,
        # Consul's connect-inject logs in with the token (ACLs): its webhook refuses a pod without it.
        "automountServiceAccountToken": ctx.fleet.spec.routing.mesh == "consul",
        "enableServiceLinks": False,
        "securityContext": _POD_SECURITY,
        "containers": containers,
        "volumes": sorted(volumes, key=lambda v: v["name"]),
    }


def deployment(cap: ResolvedCapability, ctx: Context) -> Obj:
    control = [p.number for p in names.ports(cap) if p.expose.type == "control"]
    served = [(p.name, p.number) for p in names.served_ports(cap)]
    mesh_labels, mesh_annotations = mesh.pod_metadata(ctx, cap.name, served, control, cap.where)
    annotations = pod_annotations(cap) | mesh_annotations
    if warden.enforces_capabilities(ctx):  # OPA reads its config only at start
        annotations[warden.DIGEST] = warden.sidecar(f"{cap.name}-warden", cap.name, ctx)[2]
    strategy: dict[str, Any] = {"type": "RollingUpdate"}
    rolling = {
        k: getattr(cap.rollout, k) for k in ("maxSurge", "maxUnavailable") if getattr(cap.rollout, k) is not None
    }
    if rolling:
        strategy["rollingUpdate"] = rolling
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "spec": {
            "replicas": cap.replicas,
            "selector": {"matchLabels": names.selector(cap)},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": names.labels(cap, ctx.fleet) | mesh_labels, "annotations": annotations},
                "spec": pod_spec(cap, ctx),
            },
        },
    }


def service(cap: ResolvedCapability, ctx: Context) -> Obj | None:
    ports = names.ports(cap)
    if not ports:
        return None
    metadata = names.metadata(cap.name, cap, ctx.fleet, mesh.service_annotations(cap, ctx))
    metadata["labels"] = metadata["labels"] | mesh.service_labels(ctx)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": names.selector(cap),
            "ports": [
                {
                    "name": p.name,
                    "port": p.number,
                    "targetPort": p.name,
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
                for p in ports
            ],
        },
    }


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    svc = service(cap, ctx)
    if svc is None:
        ctx.diags.warn(cap.where, "no expose listens on a port (stdio only): no Service is rendered")
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": names.metadata(cap.name, cap, ctx.fleet),
        "automountServiceAccountToken": False,
    }
    workload = deployment(cap, ctx)
    if cap.progressive:
        workload = rollout.rollout_object(cap, ctx, workload)
    extra = [*rollout.extra_services(cap, svc, ctx), *rollout.analysis_template(cap, ctx)]
    return [account, workload, *([svc] if svc else []), *extra]
