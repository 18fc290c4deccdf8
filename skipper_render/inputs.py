"""The render's inputs: the manifest and overlay read, checked against the models, overlaid.

`load` reads, the models check, `overlay` combines; this module sequences them for one request
and turns pydantic's findings into located diagnostics. Settings a user gives by flag or
variable (`--env`, `ARGOCD_ENV_SKIPPER_ENV`, `KUBE_VERSION`, ...) are named in messages as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pydantic

from skipper_render.errors import Collector, Diagnostic, LoadError, Location, ValidationError, Where, shorten
from skipper_render.load import Document, FleetDir, Keep, Limits
from skipper_render.model.fleet import Cluster, Environment, Fleet, FleetSpec
from skipper_render.overlay import SourceMap, apply_overlay, pointer_tokens

MANIFEST = "naftiko.fleet.yaml"
MIN_KUBE = (1, 23)  # autoscaling/v2 HorizontalPodAutoscaler; policy/v1 PDB needs 1.21
_KUBE_VERSION = re.compile(r"v?(\d{1,4})\.(\d{1,4})(\.\d{1,6})?([-+][0-9A-Za-z.+-]{0,64})?")


def setting(origin: Mapping[str, str], name: str) -> Location:
    """Where a setting came from, as a message prefix: `--env`, `ARGOCD_ENV_SKIPPER_ENV`, ..."""
    return Location(origin.get(name, f"--{name.replace('_', '-')}"))


class Inputs(NamedTuple):
    fleet_dir: FleetDir
    manifest: Document
    header: Fleet  # the manifest without its spec
    overlay: Document | None
    environment: Environment | None


def locate(path: Path, limits: Limits = Limits()) -> tuple[FleetDir, str]:
    """A fleet directory or a manifest path -> (fleet root, manifest file name)."""
    if path.is_dir():
        return FleetDir(path, limits), MANIFEST
    return FleetDir(path.parent, limits), path.name


def pydantic_errors(
    exc: pydantic.ValidationError, where: SourceMap | Document, prefix: tuple[str, ...] = ()
) -> list[Diagnostic]:
    """Pydantic errors as located diagnostics ("unknown field 'x'", "field required", ...).

    Values are echoed only when they are short identifiers: a message never repeats a value that
    might be a secret (an env value, a token) or a whole document.
    """
    out = []
    for err in exc.errors(include_url=False):
        path = tuple(p for p in err["loc"] if isinstance(p, str | int) and p != "[key]")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {shorten(str(path[-1]), 60)!r}"
        elif err["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        elif err["type"] in ("model_type", "dict_type", "model_attributes_type"):
            message = f"expected a mapping, found {_kind(err['input'])}"
        elif err["type"] == "list_type":
            message = f"expected a list, found {_kind(err['input'])}"
        elif err["type"] == "literal_error":
            given = err["input"]
            shown = f"{given!r} is not allowed: " if isinstance(given, str) and _IDENTIFIER.fullmatch(given) else ""
            message = f"{shown}{message[:1].lower()}{message[1:]}"
        full = prefix + path
        loc = where.loc(full) if isinstance(where, Document) else where.loc(path)
        out.append(Diagnostic(Location(loc.file, loc.line, loc.col, path if prefix else full), message))
    return out


_IDENTIFIER = re.compile(r"[A-Za-z0-9_./-]{1,60}")


def _kind(value: Any) -> str:
    kinds: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    return kinds.get(type(value), type(value).__name__)


def validate_model(model: type[pydantic.BaseModel], data: Any, doc: Document) -> Any:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_errors(exc, doc)) from None


class _FleetHeader(Fleet):
    """The manifest minus its `spec`, which is validated after the overlay is applied."""

    spec: Any = None


def only_members(only: str) -> Keep:
    """For a one-capability render: of the other capability entries, build only what the roster
    reads (class, state, calls); the rest of their values is skipped unbuilt."""
    return Keep(("spec", "capabilities"), frozenset({only}), frozenset({"class", "state", "calls"}))


def patched_entries(overlay: Document) -> frozenset[str] | None:
    """The capability entries the overlay's JSON patches read or write (None: the whole map or
    the root). A one-capability render builds them whole: `test`, `replace`, `copy` of a field of
    another entry must see that field (merge patches need nothing: they only add to what is there)."""
    spec = overlay.data.get("spec") if isinstance(overlay.data, dict) else None
    patches = spec.get("patches") if isinstance(spec, dict) else None
    found: set[str] = set()
    for op in patches if isinstance(patches, list) else ():
        for pointer in (op.get("path"), op.get("from")) if isinstance(op, dict) else ():
            tokens = pointer_tokens(pointer) if isinstance(pointer, str) else None
            if tokens is None:  # not a pointer: the patch itself reports it
                continue
            if tokens in ([], ["capabilities"]):
                return None
            if tokens[0] == "capabilities":
                found.add(tokens[1])
    return frozenset(found)


def load_inputs(
    path: Path,
    env: str | None,
    limits: Limits,
    origin: Mapping[str, str],
    diags: Collector,
    only: str | None = None,
) -> Inputs:
    """Read and check the manifest and (if an environment is named) its overlay; with `only`,
    the other capability entries are read for the roster only (see `only_members`)."""
    if "\0" in str(path) or not path.exists():
        raise LoadError.at(Location(shorten(str(path).replace("\0", "\\0"))), "no such fleet directory or manifest")
    fleet_dir, manifest = locate(path, limits)
    if not fleet_dir.exists(manifest):
        raise LoadError.at(Location(manifest), f"no fleet manifest {manifest} in {fleet_dir.root}")
    keep = only_members(only) if only is not None else None
    doc = fleet_dir.load(manifest, Location(manifest), keep)  # read_bytes refuses a symlink out of the dir
    if not isinstance(doc.data, dict):
        raise ValidationError.at(doc.at(()), "a fleet manifest must be a mapping (apiVersion, kind, metadata, spec)")
    header = validate_model(_FleetHeader, {k: v for k, v in doc.data.items() if k != "spec"}, doc)
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        raise ValidationError.at(doc.at(("spec",)), f"spec must be a mapping, found {_kind(spec)}")
    environments = spec.get("environments") or {}
    if not isinstance(environments, dict):
        raise ValidationError.at(doc.at(("spec", "environments")), "environments must map names to overlay files")
    known = ", ".join(sorted(environments))
    if env is None:
        if known:
            raise ValidationError.at(
                doc.at(("spec", "environments")),
                f"an environment is required ({setting(origin, 'env').file}); known: {known}",
            )
        return Inputs(fleet_dir, doc, header, None, None)
    if env not in environments:
        raise ValidationError.at(
            doc.at(("spec", "environments")),
            f"unknown environment {shorten(env, 60)!r} given by {setting(origin, 'env').file} "
            f"(known: {known or 'none'})",
        )
    where = doc.at(("spec", "environments", env))
    overlay_file = environments[env]
    if not isinstance(overlay_file, str):
        raise ValidationError.at(where, "an environment names its overlay file (a path)")
    env_rel = fleet_dir.resolve(overlay_file, where)
    env_doc = fleet_dir.load(env_rel, where)
    environment = validate_model(Environment, env_doc.data, env_doc)
    if keep is not None:  # entries the overlay patches are built whole (read again: rare)
        touched = patched_entries(env_doc)
        if touched is None or not touched <= keep.whole:
            keep = None if touched is None else keep._replace(whole=keep.whole | touched)
            doc = fleet_dir.load(manifest, Location(manifest), keep)
    if environment.metadata.name != env:
        diags.warn(
            env_doc.at(("metadata", "name")),
            f"the overlay is named {environment.metadata.name!r} but the fleet lists it as {env!r}",
        )
    return Inputs(fleet_dir, doc, header, env_doc, environment)


def effective_spec(
    doc: Document, env_doc: Document | None, only: str | None, limits: Limits, origin: Mapping[str, str]
) -> tuple[FleetSpec, SourceMap, dict[str, Any]]:
    """The validated effective spec, its source map, and every capability entry (raw).

    With `only`, just that capability's entry is validated, so rendering one capability of a
    1,000-capability fleet costs about what it costs in a 10-capability fleet; the raw entries of
    the others still tell who calls whom.
    """
    data, smap = apply_overlay(doc, env_doc, limits)
    entries = data.get("capabilities")
    raw = dict(entries) if isinstance(entries, dict) else {}
    if only is not None and isinstance(entries, dict):
        if only not in entries:
            raise ValidationError.at(
                smap.at(("capabilities",)),
                f"unknown capability {shorten(only, 60)!r} given by {setting(origin, 'capability').file} "
                f"(known: {shorten(', '.join(sorted(entries)), 200)})",
            )
        data = {**data, "capabilities": {only: entries[only]}}
    try:
        return FleetSpec.model_validate(data), smap, raw
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_errors(exc, smap)) from None


def pick_cluster(env: Environment | None, name: str | None, where: Where, origin: Mapping[str, str]) -> Cluster | None:
    clusters = (env.spec.clusters if env else None) or []
    if name is None:
        return None
    found = next((c for c in clusters if c.name == name), None)
    if found is None:
        known = ", ".join(c.name for c in clusters) or "none: the environment declares no clusters"
        given = setting(origin, "cluster").file
        raise ValidationError.at(where, f"unknown cluster {shorten(name, 60)!r} given by {given} (known: {known})")
    return found


def check_kube_version(version: str | None, origin: Mapping[str, str]) -> None:
    """The target cluster's version (`--kube-version`, Argo CD's KUBE_VERSION) must serve what we emit."""
    if version is None:
        return
    match = _KUBE_VERSION.fullmatch(version.strip())
    if match is None:
        raise ValidationError.at(
            setting(origin, "kube_version"), f"{shorten(version, 40)!r} is not a version MAJOR.MINOR[.PATCH]"
        )
    if (int(match.group(1)), int(match.group(2))) < MIN_KUBE:
        raise ValidationError.at(
            setting(origin, "kube_version"),
            f"Kubernetes {shorten(version, 40)} is too old: the output needs 1.23+ (autoscaling/v2)",
        )
