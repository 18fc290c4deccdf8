"""Effective fleet -> one frozen `ResolvedCapability` per capability, sorted by name.

This is where the precedence chain ends: built-in defaults < class < fleet `defaults` <
capability entry (overlay `merge` and `patches` are already in the effective spec) < overlay `pins`.
Only the specs of the capabilities in the (possibly narrowed) effective spec are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Literal, NamedTuple
from urllib.parse import urlparse

from skipper_render import store
from skipper_render.errors import Collector, Location, SkipperError, Where
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
from skipper_render.spec import SpecCache, SpecReader

Target = Literal["kubernetes", "operator"]
# The built-in layer of the precedence chain; constructed, not validated, so that importing this
# module builds no pydantic validator (start-up time: Argo CD starts the plugin on every cache miss).
BUILTIN = CapabilityFields.model_construct(class_="standard", state="running", rollout=Rollout.model_construct())
_LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|KEY", re.IGNORECASE)


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
    where: Where
    inputs: tuple[str, ...] = ()  # fleet-relative files (or a store entry) it is rendered from

    @property
    def progressive(self) -> bool:
        """Rolled out by Argo Rollouts (canary or blue-green) instead of a Deployment."""
        return self.rollout.strategy in ("canary", "blueGreen")

    def is_public(self, namespace: str | None) -> bool:
        settings = self.exposes.get(namespace or "")
        if settings is not None:
            return settings.public
        expose = next((e for e in self.spec.exposes if e.namespace == namespace), None)
        return expose is not None and "public" in expose.tags


class Member(NamedTuple):
    """What every slice of a render knows of every capability of the fleet, from the manifest alone:
    enough for one capability's policies (who calls it, what its callees' classes are), so that
    a one-capability render needs no other capability's files (the composition law, SPEC 4)."""

    name: str
    class_name: str
    state: str
    calls: tuple[str, ...]


def roster(entries: Mapping[str, Any], defaults: CapabilityFields | None) -> dict[str, Member]:
    """Every capability entry of the effective spec, read leniently (the full render validates them)."""
    fallback_class = _pick("class_", defaults)
    fallback_state = _pick("state", defaults)
    fallback_calls = tuple(sorted({str(c) for c in _pick("calls", defaults) or []}))
    out = {}
    seen: dict[int, tuple[str, str, tuple[str, ...]]] = {}  # entries a one-capability render shares
    for name, entry in entries.items():
        raw = entry if isinstance(entry, dict) else {}
        if not raw:  # most entries of a large fleet, as a one-capability render reads them
            out[str(name)] = Member(str(name), fallback_class, fallback_state, fallback_calls)
            continue
        fields = seen.get(id(raw))
        if fields is None:
            klass, state, calls = raw.get("class"), raw.get("state"), raw.get("calls")
            fields = seen[id(raw)] = (
                klass if isinstance(klass, str) else fallback_class,
                state if isinstance(state, str) else fallback_state,
                tuple(sorted({str(c) for c in calls})) if isinstance(calls, list) else fallback_calls,
            )
        out[str(name)] = Member(str(name), *fields)
    return out


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
    members: Mapping[str, Member] = field(default_factory=dict)  # every capability, rendered or not
    source: SourceMap | None = None  # where each field of the effective spec was written
    inputs: tuple[str, ...] = ()  # fleet-relative files every capability's render reads (overlay, keys)

    def at(self, path: tuple[str | int, ...]) -> Where:
        """The manifest or overlay position of a field of the effective spec."""
        return self.source.at(path) if self.source is not None else Location(path=path)

    @property
    def standbys(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.role == "standby")

    @cached_property
    def callers(self) -> Mapping[str, frozenset[str]]:
        """capability -> the running (or suspended) capabilities that declare `calls:` to it."""
        out: dict[str, set[str]] = {name: set() for name in self.members}
        for member in self.members.values():
            if member.state == "absent":
                continue
            for callee in member.calls:
                if callee in out and callee != member.name:
                    out[callee].add(member.name)
        return {name: frozenset(found) for name, found in out.items()}

    def callees(self, name: str) -> list[tuple[str, ClassSpec]]:
        """The capabilities `name` calls that are rendered, with their classes, by name."""
        member = self.members.get(name)
        out = []
        for callee in member.calls if member else ():
            found = self.members.get(callee)
            klass = self.classes.get(found.class_name) if found else None
            if found is not None and found.state != "absent" and klass is not None and callee != name:
                out.append((callee, klass))
        return out


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
    entries: Mapping[str, Any] | None = None,
    inputs: tuple[str, ...] = (),
    strict: bool = False,
    schema_lint: bool = False,
    specs: SpecCache | None = None,
    jobs: int = 1,
) -> ResolvedFleet:
    classes = effective_classes(spec)
    reader = SpecReader(fleet_dir, diags, strict, schema_lint, specs)
    pins = pins or {}
    if jobs != 1:
        reader.prefetch(_spec_paths(spec, smap, reader.fleet, pins), jobs)
    resolved = []
    members = roster(entries if entries is not None else spec.capabilities, spec.defaults)
    if entries is None:  # validated entries: take the roster from them
        members = {
            name: Member(
                name,
                _pick("class_", e, spec.defaults),
                _pick("state", e, spec.defaults),
                tuple(sorted(set(_pick("calls", e, spec.defaults) or []))),
            )
            for name, e in spec.capabilities.items()
        }
    known = frozenset(members)
    standby = cluster is not None and cluster.role == "standby"
    resources_cache: dict[str, Resources] = {}
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
                resources_cache,
            )
        except SkipperError as exc:  # a file problem in one capability must not hide the others'
            diags.extend(exc.diagnostics)
            continue
        if cap is not None:
            resolved.append(cap)
    key, key_files = _warden_key(fleet_dir, spec, smap, diags)
    fleet = ResolvedFleet(
        name,
        environment,
        cluster,
        namespace or spec.namespace,
        spec,
        classes,
        tuple(resolved),
        clusters,
        key,
        members,
        smap,
        tuple(sorted({*inputs, *key_files})),
    )
    for cap in fleet.capabilities:
        _undeclared_calls(cap, fleet, diags)
    _ingress_identity(fleet, diags)
    return fleet


def _spec_paths(
    spec: FleetSpec, smap: SourceMap, fleet_dir: FleetDir, pins: Mapping[str, Pin]
) -> list[tuple[str, Where]]:
    """The spec files `_resolve_one` reads, in its order, with where the manifest names each (to read
    them ahead; absent and pinned capabilities read none, a path it refuses is left to it)."""
    wanted: list[tuple[str, Where]] = []
    for name in sorted(spec.capabilities):
        entry = spec.capabilities[name]
        pin = pins.get(name)
        if _pick("state", entry, spec.defaults) == "absent" or (pin is not None and pin.spec is not None):
            continue
        where = smap.at(("capabilities", name, "spec"))
        try:
            wanted.append((fleet_dir.resolve(entry.spec, where), where))
        except SkipperError:
            continue
    return wanted


def _ingress_identity(fleet: ResolvedFleet, diags: Collector) -> None:
    """Mesh and network policies admit the ingress controller by where it runs: say which when the
    manifest does not (guessing the fleet's own namespace would admit every pod in it)."""
    ingress = fleet.spec.routing.ingress
    if ingress is None or ingress.controllerNamespace or (ingress.gateway and ingress.gateway.namespace):
        return
    if fleet.spec.routing.mesh == "none" and not fleet.spec.security.networkPolicy:
        return
    if ingress.api == "ingress":
        message = (
            "routing.ingress.controllerNamespace is not set: policies admit the ingress from namespace "
            "'ingress-nginx' (ingress-nginx's default); set it to where your controller runs"
        )
    elif ingress.serviceAccount is None:
        message = (
            "the Gateway runs in the fleet's own namespace: admitting it by namespace admits every pod there; "
            "set routing.ingress.serviceAccount (its mesh identity) or routing.ingress.controllerNamespace"
        )
    else:
        return
    diags.warn(fleet.at(("routing", "ingress")), message)


def _undeclared_calls(cap: ResolvedCapability, fleet: ResolvedFleet, diags: Collector) -> None:
    """A consumes baseUri at another capability's Service that `calls:` does not declare: the mesh
    and network policies admit only declared callers (the manifest is the one source of who calls
    whom, so a one-capability render knows it without reading other specs)."""
    for consume in cap.spec.consumes:
        parts = (urlparse(consume.base_uri or "").hostname or "").split(".")
        callee = parts[0]
        same_namespace = len(parts) == 1 or parts[1] == cap.namespace
        if callee in fleet.members and callee != cap.name and callee not in cap.calls and same_namespace:
            diags.warn(
                consume.where,
                f"{cap.name} consumes capability {callee!r} but does not declare it in calls: "
                "its policies will not admit the calls; add it to capabilities."
                f"{cap.name}.calls",
            )


def _warden_key(
    fleet_dir: FleetDir, spec: FleetSpec, smap: SourceMap, diags: Collector
) -> tuple[str | None, tuple[str, ...]]:
    """The Warden bundle verification key (PEM) and the fleet-relative file it was read from."""
    warden = spec.security.warden
    if warden is None or not warden.enabled:
        return None, ()
    if warden.bundle is None or warden.signing is None:
        diags.error(smap.at(("security", "warden")), "security.warden needs bundle and signing")
        return None, ()
    where = smap.at(("security", "warden", "signing", "publicKey"))
    try:
        rel = fleet_dir.resolve(warden.signing.publicKey, where)
        raw = fleet_dir.read_bytes(rel, where)
    except SkipperError as exc:
        diags.extend(exc.diagnostics)
        return None, ()
    if b"PUBLIC KEY-----" not in raw or b"PRIVATE KEY" in raw:
        diags.error(where, "security.warden.signing.publicKey must be a PEM public key (never a private key)")
        return None, ()
    return raw.decode(errors="replace"), (rel,)


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
    cache: dict[str, Resources] | None = None,
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
            diags.error(smap.at((*path, "calls")), f"calls unknown capability {callee!r}")
    if klass is None:
        where = smap.at((*path, "class") if "class_" in entry.model_fields_set else ("defaults", "class"))
        diags.error(where, f"unknown class {class_name!r} (known: {', '.join(sorted(classes))})")
        return None
    where = smap.at((*path, "spec"))
    rel = reader.fleet.resolve(entry.spec, where)
    if pin is not None and pin.spec is not None:  # a pinned environment renders the reviewed bundle
        spec = store.read(reader.fleet, pin.spec, smap.at(path), diags, reader.strict)
        inputs: tuple[str, ...] = (store.entry_path(pin.spec),)
    else:
        spec = reader.read(rel, where)
        inputs = tuple(f.path for f in spec.files) if spec is not None else ()
    if spec is None:
        return None
    exposes = _pick("exposes", entry) or {}
    known = sorted(e.namespace for e in spec.exposes if e.namespace)
    for key in exposes:
        if key not in known:
            diags.error(
                smap.at((*path, "exposes", key)),
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
    env = _merged_map("env", defaults, entry)
    _plain_secrets(name, env, entry, fleet, smap, diags)
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
    resources = _resources(klass, class_name, defaults, entry, {} if cache is None else cache)
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
        env=env,
        labels={**spec.labels, **_merged_map("labels", defaults, entry)},
        calls=tuple(sorted(set(_pick("calls", entry, defaults) or []))),
        binds=_merged_map("binds", defaults, entry),
        spec=spec,
        where=smap.at(path),
        inputs=inputs,
    )


def _plain_secrets(
    name: str, env: Mapping[str, str], entry: CapabilityEntry, fleet: FleetSpec, smap: SourceMap, diags: Collector
) -> None:
    """A plain env value under a secret-looking name is a secret in git: it belongs in a bind (a
    Secret). `security.allowPlainEnv` lists names that only look secret (a warning then)."""
    allowed = set(fleet.security.allowPlainEnv or ())
    for variable in sorted(env):
        if not SECRET_NAME.search(variable):
            continue
        layer = (
            ("capabilities", name, "env", variable) if variable in (entry.env or {}) else ("defaults", "env", variable)
        )
        found = f"env {variable} looks like a secret but has a plain value in the manifest"
        if variable in allowed:
            diags.warn(smap.at(layer), f"{found}: listed in security.allowPlainEnv")
        else:
            diags.error(
                smap.at(layer), f"{found}: read it from a bind (a Secret), or list it in security.allowPlainEnv"
            )


def _resources(
    klass: ClassSpec,
    class_name: str,
    defaults: CapabilityFields | None,
    entry: CapabilityEntry,
    cache: dict[str, Resources],
) -> Resources:
    """The class's resources under the defaults' and the entry's; one object per class for the
    entries that set none (`cache`: one resolve's, where the class and the defaults are fixed)."""
    base = cache.get(class_name)
    if base is None:
        merged = merge_patch(klass.resources.model_dump(exclude_none=True), _dump(defaults, "resources"))
        base = cache[class_name] = Resources.model_validate(merged)
    if entry.resources is None:
        return base
    return Resources.model_validate(merge_patch(base.model_dump(exclude_none=True), _dump(entry, "resources")))


def _dump(layer: CapabilityFields | None, field: str) -> dict[str, Any]:
    value = getattr(layer, field, None) if layer is not None else None
    return value.model_dump(exclude_none=True) if value is not None else {}
