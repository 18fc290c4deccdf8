"""render(request) -> result: the pipeline, stage by stage.

    load -> models -> overlay -> resolve -> generators -> finalize (order) -> [serialize in the caller]

Stage contracts: `load` reads files and does not validate; models do not read files; the overlay
and resolve stages return new data; generators do not sort, serialize, log or read env, clock or
randomness; `resources.finalize` fixes the one order; `serialize` does not reorder. Nothing below
the CLI and the plugins reads the process environment or the working directory: what a render
depends on is in its `RenderRequest`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pydantic

from skipper_render import resources, serialize
from skipper_render.errors import Collector, Diagnostic, LoadError, Location, SkipperError, ValidationError
from skipper_render.generators import FAMILIES, Context, Obj
from skipper_render.load import Document, FleetDir, Limits
from skipper_render.model.fleet import Cluster, Environment, Fleet, FleetSpec
from skipper_render.overlay import SourceMap, apply_overlay
from skipper_render.resolve import ResolvedFleet, Target, resolve

MANIFEST = "naftiko.fleet.yaml"
Part = Literal["all", "fleet", "capabilities"]
DEFAULT_ENVIRONMENT = "default"  # the environment label of a fleet that declares no environments


class RenderRequest(NamedTuple):
    path: Path
    env: str | None
    cluster: str | None = None
    capability: str | None = None
    part: Part = "all"  # "fleet": only fleet-level objects (gateways, dashboards, classes); "capabilities": the rest
    target: Target = "kubernetes"
    strict: bool = False
    schema_lint: bool = False  # check specs against the ikanos JSON Schema (always with strict)
    api_versions: frozenset[str] | None = None
    kube_version: str | None = None
    limits: Limits = Limits()


class RenderResult(NamedTuple):
    """What a render produced: the objects in their final order, the warnings, the resolved fleet."""

    objects: tuple[Obj, ...]
    warnings: tuple[Diagnostic, ...]
    fleet: ResolvedFleet
    fleet_level: int = 0  # how many of the objects are fleet-level (the Argo CD "fleet" part)

    def to_yaml(self) -> str:
        """The multi-document YAML stream `skipper render` prints, byte for byte."""
        return serialize.to_yaml(self.objects)

    def to_json(self) -> str:
        """A `v1` List, as `skipper render -o json` prints it."""
        return serialize.to_json(self.objects)

    def write(self, directory: str | os.PathLike[str]) -> int:
        """Write one file per object into `directory` (see `skipper render --output-dir`); returns the count."""
        from skipper_render import output

        return output.write_dir(self.objects, Path(directory))


def locate(path: Path) -> tuple[FleetDir, str]:
    """A fleet directory or a manifest path -> (fleet root, manifest file name)."""
    if path.is_dir():
        return FleetDir(path), MANIFEST
    return FleetDir(path.parent), path.name


def pydantic_errors(
    exc: pydantic.ValidationError, where: SourceMap | Document, prefix: tuple[str, ...] = ()
) -> list[Diagnostic]:
    """Pydantic errors as located diagnostics ("unknown field 'x'", "field required", ...)."""
    out = []
    for err in exc.errors(include_url=False):
        path = tuple(p for p in err["loc"] if isinstance(p, str | int) and p != "[key]")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {path[-1]!r}"
        elif err["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        elif err["type"] in ("model_type", "dict_type", "model_attributes_type"):
            message = f"expected a mapping, found {type(err['input']).__name__}"
        elif err["type"] == "list_type":
            message = f"expected a list, found {type(err['input']).__name__}"
        elif err["type"] == "literal_error":
            message = f"{err['input']!r} is not allowed: {message.lower()}"
        full = prefix + path
        loc = where.loc(full) if isinstance(where, Document) else where.loc(path)
        out.append(Diagnostic(Location(loc.file, loc.line, loc.col, path if prefix else full), message))
    return out


def _validate_model(model: type[pydantic.BaseModel], data: Any, doc: Document) -> Any:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_errors(exc, doc)) from None


def load_inputs(
    request: RenderRequest,
) -> tuple[FleetDir, Document, Fleet, Document | None, Environment | None]:
    """Read and check the manifest and (if an environment is named) its overlay."""
    if not request.path.exists():
        raise LoadError.at(Location(str(request.path)), "no such fleet directory or manifest")
    fleet_dir, manifest = locate(request.path)
    fleet_dir = FleetDir(fleet_dir.root, request.limits)
    if not fleet_dir.exists(manifest):
        raise LoadError.at(Location(manifest), f"no fleet manifest {manifest} in {fleet_dir.root}")
    doc = fleet_dir.load(manifest, Location(manifest))
    if not isinstance(doc.data, dict):
        raise ValidationError.at(doc.loc(()), "a fleet manifest must be a mapping (apiVersion, kind, metadata, spec)")
    header = _validate_model(_FleetHeader, {k: v for k, v in doc.data.items() if k != "spec"}, doc)
    environments = (doc.data.get("spec") or {}).get("environments") or {}
    known = ", ".join(sorted(environments)) if isinstance(environments, dict) else ""
    if request.env is None:
        if known:
            raise ValidationError.at(
                doc.loc(("spec", "environments")), f"an environment is required (--env); known: {known}"
            )
        return fleet_dir, doc, header, None, None
    if not isinstance(environments, dict) or request.env not in environments:
        raise ValidationError.at(
            doc.loc(("spec", "environments")),
            f"unknown environment {request.env!r} (known: {known or 'none'})",
        )
    where = doc.loc(("spec", "environments", request.env))
    env_rel = fleet_dir.resolve(str(environments[request.env]), where)
    env_doc = fleet_dir.load(env_rel, where)
    env = _validate_model(Environment, env_doc.data, env_doc)
    return fleet_dir, doc, header, env_doc, env


class _FleetHeader(Fleet):
    """The manifest minus its `spec`, which is validated after the overlay is applied."""

    spec: Any = None


def effective_spec(
    doc: Document, env_doc: Document | None, only: str | None = None
) -> tuple[FleetSpec, SourceMap, frozenset[str]]:
    """The validated effective spec and the names of all its capabilities.

    With `only`, just that capability's entry is validated, so rendering one capability of a
    1,000-capability fleet costs about what it costs in a 10-capability fleet.
    """
    data, smap = apply_overlay(doc, env_doc)
    entries = data.get("capabilities")
    names = frozenset(str(k) for k in entries) if isinstance(entries, dict) else frozenset()
    if only is not None and isinstance(entries, dict):
        if only not in entries:
            known = ", ".join(sorted(names))
            raise ValidationError.at(smap.loc(("capabilities",)), f"unknown capability {only!r} (known: {known})")
        data = {**data, "capabilities": {only: entries[only]}}
    try:
        return FleetSpec.model_validate(data), smap, names
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_errors(exc, smap)) from None


def _cluster(env: Environment | None, name: str | None, where: Location) -> Cluster | None:
    clusters = (env.spec.clusters if env else None) or []
    if name is None:
        return None
    found = next((c for c in clusters if c.name == name), None)
    if found is None:
        known = ", ".join(c.name for c in clusters) or "none"
        raise ValidationError.at(where, f"unknown cluster {name!r} (known: {known})")
    return found


MIN_KUBE = (1, 23)  # autoscaling/v2 HorizontalPodAutoscaler; policy/v1 PDB needs 1.21


def check_kube_version(version: str | None) -> None:
    """The target cluster's version (`--kube-version`, Argo CD's KUBE_VERSION) must serve what we emit."""
    if version is None:
        return
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    if match is None:
        raise ValidationError.at(Location(), f"kube version {version!r} is not MAJOR.MINOR[.PATCH]")
    if (int(match.group(1)), int(match.group(2))) < MIN_KUBE:
        raise ValidationError.at(
            Location(), f"Kubernetes {version} is too old: the output needs 1.23+ (autoscaling/v2)"
        )


def render(
    path: str | os.PathLike[str],
    env: str | None = None,
    *,
    cluster: str | None = None,
    capability: str | None = None,
    target: Target = "kubernetes",
    part: Part = "all",
    strict: bool = False,
    api_versions: Iterable[str] | None = None,
    kube_version: str | None = None,
) -> RenderResult:
    """Render the fleet at `path` (its directory or manifest) for one environment.

    Raises `SkipperError` (with every problem found in `.diagnostics`) when the fleet does not render.
    """
    return render_request(
        RenderRequest(
            Path(path),
            env,
            cluster=cluster,
            capability=capability,
            part=part,
            target=target,
            strict=strict,
            api_versions=None if api_versions is None else frozenset(api_versions),
            kube_version=kube_version,
        )
    )


def render_request(request: RenderRequest) -> RenderResult:
    """The pipeline: one request in, one result out."""
    check_kube_version(request.kube_version)
    fleet_dir, doc, header, env_doc, env = load_inputs(request)
    spec, smap, names = effective_spec(doc, env_doc, request.capability)
    diags = Collector()
    if env is not None and env_doc is not None:
        for pinned in sorted(env.spec.pins or {}):
            if pinned not in names:
                diags.error(env_doc.loc(("spec", "pins", pinned)), f"pin for unknown capability {pinned!r}")
    cluster = _cluster(env, request.cluster, env_doc.loc(("spec", "clusters")) if env_doc else Location())
    fleet = resolve(
        fleet_dir,
        header.metadata.name,
        request.env or DEFAULT_ENVIRONMENT,
        spec,
        smap,
        diags,
        namespace=env.spec.namespace if env else None,
        cluster=cluster,
        clusters=tuple(env.spec.clusters or ()) if env else (),
        pins=env.spec.pins if env else None,
        names=names,
        strict=request.strict,
        schema_lint=request.schema_lint,
    )
    # Generators run even when resolve found errors, so one run reports every problem at once.
    ctx = Context(fleet, request.target, diags, request.api_versions)
    produced = run_generators(
        ctx,
        per_capability=request.part != "fleet",
        fleet_level=request.part != "capabilities" and not request.capability,
    )
    objects, duplicate_errors = resources.finalize(produced)
    diags.extend(duplicate_errors)
    diags.raise_if_errors(ValidationError)
    if not objects:
        raise ValidationError.at(
            smap.loc(("capabilities",)), "the render produced no objects (every capability absent?)"
        )
    fleet_objects = sum(1 for producer, _ in produced if producer.endswith("(fleet)"))
    return RenderResult(tuple(objects), tuple(sorted(set(diags.warnings))), fleet, fleet_objects)


def run_generators(ctx: Context, per_capability: bool = True, fleet_level: bool = True) -> list[tuple[str, Obj]]:
    produced: list[tuple[str, Obj]] = []
    for family in FAMILIES:
        if ctx.target not in family.targets:
            continue
        if family.per_capability is not None and per_capability:
            for cap in ctx.fleet.capabilities:
                produced += [(f"{family.name}({cap.name})", obj) for obj in family.per_capability(cap, ctx)]
        if family.fleet is not None and fleet_level:
            produced += [(f"{family.name}(fleet)", obj) for obj in family.fleet(ctx)]
    return produced


def environments(path: Path, limits: Limits | None = None) -> Mapping[str, str]:
    """The environments a fleet declares (name -> overlay path), for `validate` without --env."""
    fleet_dir, manifest = locate(path)
    doc = FleetDir(fleet_dir.root, limits or Limits()).load(manifest, Location(manifest))
    envs = (doc.data.get("spec") or {}).get("environments") if isinstance(doc.data, dict) else None
    return {str(k): str(v) for k, v in envs.items()} if isinstance(envs, dict) else {}


def validate(
    path: str | os.PathLike[str], env: str | None = None, strict: bool = False, limits: Limits | None = None
) -> list[Diagnostic]:
    """Every check of `render` for one or every environment; returns warnings, raises errors."""
    path = Path(path)
    names: list[str | None] = [env] if env else [*sorted(environments(path, limits))] or [None]
    warnings: list[Diagnostic] = []
    errors: list[Diagnostic] = []
    for name in names:
        try:
            result = render_request(
                RenderRequest(path, name, strict=strict, schema_lint=True, limits=limits or Limits())
            )
            warnings.extend(result.warnings)
        except SkipperError as exc:
            errors.extend(exc.diagnostics)
    if errors:
        raise ValidationError(sorted(set(errors)))
    return sorted(set(warnings))
