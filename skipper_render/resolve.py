"""Effective fleet -> one frozen `ResolvedCapability` per capability, sorted by name.

This is where the precedence chain ends: built-in defaults < class < fleet `defaults` <
capability entry (overlay `merge` and `patches` are already in the effective spec) < overlay `pins`.
Only the specs of the capabilities in the (possibly narrowed) effective spec are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Literal, NamedTuple
from urllib.parse import urlparse

from skipper_render import store
from skipper_render.errors import Collector, Location, SkipperError
from skipper_render.load import FleetDir, package_documents
from skipper_render.model.fleet import (
    BindSource,
    CapabilityEntry,
    CapabilityFields,
    Cluster,
    ExposeSettings,
    FleetSpec,
    Pin,
    Rollout,
)
from skipper_render.model.ikanos import CapabilitySpec
from skipper_render.model.klass import ClassSpec, Hpa, Resources
from skipper_render.overlay import SourceMap, merge_patch
from skipper_render.spec import SpecReader

Target = Literal["kubernetes", "operator"]
# The built-in layer of the precedence chain; constructed, not validated, so that importing this
# module builds no pydantic validator (start-up time: Argo CD starts the plugin on every cache miss).
BUILTIN = CapabilityFields.model_construct(class_="standard", state="running", rollout=Rollout.model_construct())
_LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


class ResolvedCapability(NamedTuple):
    name: str
    namespace: str
    state: Literal["running", "suspended"]
    class_name: str
    klass: ClassSpec
    resources: Resources
    replicas: int | None  # a fixed count; None when the HPA owns it
    hpa: Hpa | None
    image: str
    version: str
    exposes: Mapping[str, ExposeSettings]
    rollout: Rollout
    env: Mapping[str, str]
    labels: Mapping[str, str]
    calls: tuple[str, ...]
    binds: Mapping[str, BindSource]
    spec: CapabilitySpec
    where: Location

    def is_public(self, namespace: str | None) -> bool:
        settings = self.exposes.get(namespace or "")
        if settings is not None:
            return settings.public
        expose = next((e for e in self.spec.exposes if e.namespace == namespace), None)
        return expose is not None and "public" in expose.tags


@dataclass(frozen=True)
class ResolvedFleet:
    name: str
    environment: str
    cluster: Cluster | None
    namespace: str
    spec: FleetSpec
    classes: Mapping[str, ClassSpec]
    capabilities: tuple[ResolvedCapability, ...]
    clusters: tuple[Cluster, ...] = ()  # every cluster of the environment (several = multi-region)
    warden_key: str | None = None  # the Warden bundle verification key (PEM), read from the repo

    @property
    def standbys(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.role == "standby")

    @cached_property
    def callers(self) -> Mapping[str, frozenset[str]]:
        """capability -> the capabilities that call it (`calls:`, or a consumes baseUri at its Service)."""
        out: dict[str, set[str]] = {cap.name: set() for cap in self.capabilities}
        for cap in self.capabilities:
            for callee in cap.calls:
                out.setdefault(callee, set()).add(cap.name)
            for consume in cap.spec.consumes:
                parts = (urlparse(consume.base_uri or "").hostname or "").split(".")
                if parts[0] in out and parts[0] != cap.name and (len(parts) == 1 or parts[1] == cap.namespace):
                    out[parts[0]].add(cap.name)
        return {name: frozenset(found) for name, found in out.items()}

    @cached_property
    def callees(self) -> Mapping[str, tuple[ResolvedCapability, ...]]:
        """capability -> the capabilities it calls, by name: `callers` read the other way."""
        out: dict[str, list[ResolvedCapability]] = {cap.name: [] for cap in self.capabilities}
        for callee in sorted(self.capabilities, key=lambda c: c.name):
            for caller in self.callers.get(callee.name, ()):
                out[caller].append(callee)
        return {name: tuple(found) for name, found in out.items()}


@cache
def builtin_classes() -> dict[str, ClassSpec]:
    """The shipped defaults (package data read by `load`), validated once per process."""
    return {name: ClassSpec.model_validate(doc.data["spec"]) for name, doc in package_documents("classes").items()}


def effective_classes(spec: FleetSpec) -> dict[str, ClassSpec]:
    return {**builtin_classes(), **(spec.classes or {})}


def _pick(field: str, *layers: CapabilityFields | None) -> Any:
    """The first layer (highest precedence first) that sets `field`."""
    for layer in layers:
        if layer is not None and field in layer.model_fields_set and getattr(layer, field) is not None:
            return getattr(layer, field)
    return getattr(BUILTIN, field)


def _merged_map(field: str, *layers: CapabilityFields | None) -> dict[str, Any]:
    """Key-level merge of a map field, lowest layer first."""
    out: dict[str, Any] = {}
    for layer in layers:
        if layer is not None and getattr(layer, field):
            out.update(getattr(layer, field))
    return out


def resolve(
    fleet_dir: FleetDir,
    name: str,
    environment: str,
    spec: FleetSpec,
    smap: SourceMap,
    diags: Collector,
    *,
    namespace: str | None = None,
    cluster: Cluster | None = None,
    clusters: tuple[Cluster, ...] = (),
    pins: Mapping[str, Pin] | None = None,
    names: frozenset[str] | None = None,
    strict: bool = False,
    schema_lint: bool = False,
) -> ResolvedFleet:
    classes = effective_classes(spec)
    reader = SpecReader(fleet_dir, diags, strict, schema_lint)
    resolved = []
    known = names if names is not None else frozenset(spec.capabilities)
    pins = pins or {}
    standby = cluster is not None and cluster.role == "standby"
    for cap_name in sorted(spec.capabilities):
        target = namespace or spec.namespace
        try:
            cap = _resolve_one(
                cap_name,
                spec.capabilities[cap_name],
                spec,
                known,
                classes,
                reader,
                smap,
                diags,
                target,
                pins.get(cap_name),
                standby,
            )
        except SkipperError as exc:  # a file problem in one capability must not hide the others'
            diags.extend(exc.diagnostics)
            continue
        if cap is not None:
            resolved.append(cap)
    key = _warden_key(fleet_dir, spec, smap, diags)
    return ResolvedFleet(
        name, environment, cluster, namespace or spec.namespace, spec, classes, tuple(resolved), clusters, key
    )


def _warden_key(fleet_dir: FleetDir, spec: FleetSpec, smap: SourceMap, diags: Collector) -> str | None:
    warden = spec.security.warden
    if warden is None or not warden.enabled:
        return None
    if warden.bundle is None or warden.signing is None:
        diags.error(smap.loc(("security", "warden")), "security.warden needs bundle and signing")
        return None
    where = smap.loc(("security", "warden", "signing", "publicKey"))
    try:
        raw = fleet_dir.read_bytes(fleet_dir.resolve(warden.signing.publicKey, where), where)
    except SkipperError as exc:
        diags.extend(exc.diagnostics)
        return None
    if b"PUBLIC KEY-----" not in raw or b"PRIVATE KEY" in raw:
        diags.error(where, "security.warden.signing.publicKey must be a PEM public key (never a private key)")
        return None
    return raw.decode()


def _resolve_one(
    name: str,
    entry: CapabilityEntry,
    fleet: FleetSpec,
    known_names: frozenset[str],
    classes: Mapping[str, ClassSpec],
    reader: SpecReader,
    smap: SourceMap,
    diags: Collector,
    namespace: str,
    pin: Pin | None,
    standby: bool = False,
) -> ResolvedCapability | None:
    path = ("capabilities", name)
    defaults = fleet.defaults
    state = _pick("state", entry, defaults)
    if state == "absent":
        return None
    class_name = _pick("class_", entry, defaults)
    klass = classes.get(class_name)
    for callee in _pick("calls", entry, defaults) or []:
        if callee not in known_names:
            diags.error(smap.loc((*path, "calls")), f"calls unknown capability {callee!r}")
    if klass is None:
        where = smap.loc((*path, "class") if "class_" in entry.model_fields_set else ("defaults", "class"))
        diags.error(where, f"unknown class {class_name!r} (known: {', '.join(sorted(classes))})")
        return None
    where = smap.loc((*path, "spec"))
    rel = reader.fleet.resolve(entry.spec, where)
    if pin is not None and pin.spec is not None:  # a pinned environment renders the reviewed bundle
        spec = store.read(reader.fleet, pin.spec, smap.loc(path), diags, reader.strict)
    else:
        spec = reader.read(rel, where)
    if spec is None:
        return None
    exposes = _pick("exposes", entry) or {}
    known = sorted(e.namespace for e in spec.exposes if e.namespace)
    for key in exposes:
        if key not in known:
            diags.error(
                smap.loc((*path, "exposes", key)),
                f"no expose with namespace {key!r} in {rel} (known: {', '.join(known) or 'none'})",
            )
    for expose in spec.exposes:
        if expose.transport == "http" and (expose.address is None or expose.address in _LOCAL_ADDRESSES):
            bound = expose.address or "localhost (the engine default)"
            diags.warn(
                expose.where,
                f"{expose.type} expose on port {expose.port} binds to {bound}: unreachable from outside the pod"
                + (" and its probes fail" if expose.type == "control" else "")
                + "; set address: 0.0.0.0",
            )
    version = (pin.engine if pin and pin.engine else None) or _pick("version", entry, defaults) or fleet.engine.version
    replicas = _pick("replicas", entry, defaults)
    hpa = klass.hpa if replicas is None and state == "running" else None
    if state == "suspended":
        replicas = 0
    elif replicas is None and hpa is None:
        replicas = 1
    if standby:  # a warm standby: one ready replica, free to scale up on failover
        replicas = min(replicas, 1) if replicas is not None else None
        hpa = hpa.model_copy(update={"minReplicas": 1}) if hpa is not None else None
    resources = Resources.model_validate(
        merge_patch(
            merge_patch(klass.resources.model_dump(exclude_none=True), _dump(defaults, "resources")),
            _dump(entry, "resources"),
        )
    )
    sep = "@" if version.startswith("sha256:") else ":"
    return ResolvedCapability(
        name=name,
        namespace=namespace,
        state=state,
        class_name=class_name,
        klass=klass,
        resources=resources,
        replicas=replicas,
        hpa=hpa,
        image=f"{fleet.engine.image}{sep}{version}",
        version=version,
        exposes=exposes,
        rollout=_pick("rollout", entry, defaults),
        env=_merged_map("env", defaults, entry),
        labels={**spec.labels, **_merged_map("labels", defaults, entry)},
        calls=tuple(sorted(set(_pick("calls", entry, defaults) or []))),
        binds=_merged_map("binds", defaults, entry),
        spec=spec,
        where=smap.loc(path),
    )


def _dump(layer: CapabilityFields | None, field: str) -> dict[str, Any]:
    value = getattr(layer, field, None) if layer is not None else None
    return value.model_dump(exclude_none=True) if value is not None else {}
