"""Target `operator`: Capability CRs (specRef mode) and the CapabilityClasses they select.

The Skipper operator reads the spec ConfigMap verbatim and selects the class through
`spec.info.labels["naftiko.io/tier"]`; operator-only expose settings (`public`, `lifecycle`) are
written as CRD `capability.exposes[]` entries (`tags: [public]`, `lifecycle`) beside the specRef.
"""

from __future__ import annotations

from typing import Any

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.resolve import ResolvedCapability

API_VERSION = "naftiko.io/v1alpha3"
CLASS_LABELS = {"app.kubernetes.io/managed-by": names.MANAGED_BY, "app.kubernetes.io/name": "capability-class"}


def capability(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    if cap.state == "suspended":
        ctx.diags.warn(cap.where, "the operator has no suspended state: the Capability is rendered as running")
    display = cap.spec.display or cap.name
    exposes: list[dict[str, Any]] = []
    for expose in cap.spec.exposes:
        settings = cap.exposes.get(expose.namespace or "")
        public = cap.is_public(expose.namespace)
        if not public and (settings is None or settings.lifecycle is None):
            continue
        exposes.append(
            {
                "type": expose.type,
                "namespace": expose.namespace,
                "port": expose.port,
                "tags": ["public"] if public else None,
                "lifecycle": settings.lifecycle if settings else None,
            }
        )
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "Capability",
            "metadata": names.metadata(cap.name, cap, ctx.fleet, {names.SPEC_DIGEST: cap.spec.digest[7:]}),
            "spec": {
                "specRef": {"configMap": names.spec_configmap(cap.name), "key": names.SPEC_KEY},
                "info": {
                    "label": display,
                    "description": cap.spec.description or display,
                    "labels": {**cap.labels, names.TIER: cap.class_name},
                },
                "capability": {"exposes": exposes} if exposes else None,
            },
        }
    ]


# Families the operator target does not render, since the Skipper operator creates the workloads
# (and their labels): field -> what is left out. Each configured one is named in a warning.
DROPPED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("security", "mtls"), "no Certificate"),
    (("security", "networkPolicy"), "no NetworkPolicy"),
    (("security", "warden"), "no Warden"),
    (("routing", "mesh"), "no mesh objects"),
    (("observability", "alerts"), "no alert rules"),
    (("observability", "dashboard"), "no dashboard"),
    (("observability", "prometheus", "scrapeConfig"), "no scrape config"),
)


def dropped(ctx: Context) -> None:
    spec = ctx.fleet.spec.model_dump(exclude_defaults=True)
    for path, what in DROPPED:
        value: object = spec
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value not in (None, False, "none", {}) and not (isinstance(value, dict) and value.get("enabled") is False):
            ctx.diags.warn(
                ctx.fleet.at(path),
                f"target operator: {what} is rendered for {'.'.join(path)} (the operator runs the pods); "
                "render --target kubernetes for it",
            )


def classes(ctx: Context) -> list[Obj]:
    dropped(ctx)
    used = sorted({cap.class_name for cap in ctx.fleet.capabilities})
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "CapabilityClass",
            # cluster-scoped and shared by every fleet and environment on the cluster: no label that
            # differs between them, or two renders would fight over the object
            "metadata": {"name": name, "labels": CLASS_LABELS},
            "spec": ctx.fleet.classes[name].model_dump(exclude_none=True),
        }
        for name in used
    ]
