"""render(request) -> result: the pipeline, stage by stage.

    inputs (load -> models -> overlay) -> resolve -> generators -> clean -> wiring -> serialize -> order

Stage contracts: `load` reads files and does not validate; models do not read files; the overlay
and resolve stages return new data; generators do not sort, serialize, log or read env, clock or
randomness; `wiring` checks the cleaned objects against each other as the controllers will;
`resources.Assembler` serializes each object once it is final and fixes the one order; `serialize`
does not reorder. Nothing below the CLI and the plugins reads the process environment or the
working directory: what a render depends on is in its `RenderRequest`.

With `jobs` other than 1, the two stages that scale with the fleet run in shards (`parallel`):
resolve reads the specs ahead in worker processes, and generators -> clean -> wiring -> serialize
run per run of capabilities; each shard's documents and findings merge back in fleet order, so
the result does not depend on `jobs`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal, NamedTuple, TextIO

from skipper_render import parallel, resources, serialize, wiring
from skipper_render.errors import Collector, Diagnostic, Location, SkipperError, ValidationError
from skipper_render.generators import FAMILIES, Context, Obj
from skipper_render.inputs import (
    MANIFEST,
    check_kube_version,
    effective_spec,
    load_inputs,
    locate,
    pick_cluster,
    setting,
)
from skipper_render.load import Document, Limits
from skipper_render.model.fleet import Cluster, FleetSpec
from skipper_render.resolve import ResolvedCapability, ResolvedFleet, Target, resolve
from skipper_render.spec import SpecCache

__all__ = ["MANIFEST", "RenderRequest", "RenderResult", "environments", "locate", "render", "render_request"]

Part = Literal["all", "fleet", "capabilities"]
Format = resources.Format
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
    output: Format = "yaml"  # the form documents are kept in (the other is derived on demand)
    origin: Mapping[str, str] = {}  # setting -> how the user gave it (`ARGOCD_ENV_SKIPPER_ENV`), for messages
    specs: SpecCache | None = None  # specs shared by several renders of one fleet (render --all-envs)
    jobs: int = 1  # processes rendering capabilities (0: one per usable CPU; see `parallel`)


_WRITE_SIZE = 1 << 20  # characters per write of `RenderResult.write_to`


@dataclass(frozen=True)
class RenderResult:
    """What a render produced: the documents in their final order, the warnings, the resolved fleet."""

    documents: tuple[resources.Doc, ...]
    warnings: tuple[Diagnostic, ...]
    fleet: ResolvedFleet
    root: Path  # the fleet directory
    fleet_level: int = 0  # how many of the objects are fleet-level (the Argo CD "fleet" part)
    output: Format = "yaml"
    request: RenderRequest | None = field(default=None, compare=False, repr=False)

    @cached_property
    def objects(self) -> tuple[Obj, ...]:
        """The rendered objects (parsed back from their documents on first use)."""
        if self.output == "json":
            import json

            return tuple(json.loads(d.text) for d in self.documents)
        return tuple(serialize.load_yaml_document(d.text) for d in self.documents)

    def chunks(self, output: Format | None = None) -> Iterator[str]:
        """The output stream in pieces, for writing without building it whole."""
        fmt = output or self.output
        if fmt == self.output:
            texts: Iterable[str] = (d.text for d in self.documents)
        elif fmt == "json":
            texts = (serialize.json_document(obj) for obj in self.objects)
        else:
            texts = (serialize.to_yaml_document(obj) for obj in self.objects)
        return serialize.json_stream(texts) if fmt == "json" else serialize.yaml_stream(texts)

    def yaml_documents(self) -> Iterator[tuple[resources.Doc, str]]:
        """Each document with its YAML text (what `--output-dir` writes, one file each)."""
        if self.output == "yaml":
            yield from ((d, d.text) for d in self.documents)
        else:
            yield from zip(self.documents, map(serialize.to_yaml_document, self.objects), strict=True)

    def to_yaml(self) -> str:
        """The multi-document YAML stream `skipper render` prints, byte for byte."""
        return "".join(self.chunks("yaml"))

    def to_json(self) -> str:
        """A `v1` List, as `skipper render -o json` prints it."""
        return "".join(self.chunks("json"))

    def write_to(self, stream: TextIO, output: Format | None = None) -> None:
        """Write the stream in pieces of about 1 MiB: container images set PYTHONUNBUFFERED (ours
        does), and unbuffered, a write per document was a system call per document (14,670 for
        1,000 capabilities)."""
        pending: list[str] = []
        size = 0
        for chunk in self.chunks(output):
            pending.append(chunk)
            size += len(chunk)
            if size >= _WRITE_SIZE:
                stream.write("".join(pending))
                pending.clear()
                size = 0
        if pending:
            stream.write("".join(pending))

    def write(self, directory: str | os.PathLike[str]) -> int:
        """Write one file per object into `directory`, replacing an earlier render there (see
        `skipper render --output-dir`; a directory skipper-render did not write is refused)."""
        from skipper_render import output

        return output.write_dir(self, Path(directory))


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


def _check_dns_failover(
    spec: FleetSpec,
    clusters: tuple[Cluster, ...],
    cluster: Cluster | None,
    overlay: Document | None,
    diags: Collector,
) -> None:
    """Outside traffic fails over between clusters only through DNS: one PRIMARY record per name."""
    ingress = spec.routing.ingress
    if ingress is None or cluster is None or len(clusters) < 2 or overlay is None:
        return
    where = overlay.at(("spec", "clusters"))
    settings = ingress.dnsFailover
    if settings is not None and not settings.enabled:
        diags.warn(
            where,
            "routing.ingress.dnsFailover.enabled is false: outside traffic does not fail over between clusters "
            "(unless a global load balancer does it)",
        )
        return
    primaries = [c.name for c in clusters if c.role == "primary"]
    if len(primaries) != 1:
        message = (
            f"DNS failover records need exactly one primary cluster (Route 53 failover records have one PRIMARY), "
            f"found {len(primaries)}" + (f": {', '.join(primaries)}" if primaries else "")
        )
        if settings is None:  # the default: say what is not rendered
            diags.warn(where, f"{message}; none rendered (set routing.ingress.dnsFailover.enabled: false to silence)")
        else:
            diags.error(where, f"routing.ingress.dnsFailover: {message}")


def render_request(request: RenderRequest) -> RenderResult:
    """The pipeline: one request in, one result out; every problem found is reported at once."""
    diags = Collector()
    check_kube_version(request.kube_version, request.origin)
    inputs = load_inputs(request.path, request.env, request.limits, request.origin, diags, request.capability)
    spec, smap, entries = effective_spec(
        inputs.manifest, inputs.overlay, request.capability, request.limits, request.origin
    )
    env = inputs.environment
    if env is not None and inputs.overlay is not None:
        for pinned in sorted(env.spec.pins or {}):
            if pinned not in entries:
                diags.error(inputs.overlay.at(("spec", "pins", pinned)), f"pin for unknown capability {pinned!r}")
    clusters = tuple(env.spec.clusters or ()) if env else ()
    where = inputs.overlay.at(("spec", "clusters")) if inputs.overlay else setting(request.origin, "cluster")
    cluster = pick_cluster(env, request.cluster, where, request.origin)
    if cluster is None and len(clusters) > 1 and inputs.overlay is not None:
        diags.warn(
            inputs.overlay.at(("spec", "clusters")),
            f"{request.env} has {len(clusters)} clusters; without {setting(request.origin, 'cluster').file} "
            "the render is the same for all of them (no failover, standby sizing or cluster label)",
        )
    _check_dns_failover(spec, clusters, cluster, inputs.overlay, diags)
    fleet = resolve(
        inputs.fleet_dir,
        inputs.header.metadata.name,
        request.env or DEFAULT_ENVIRONMENT,
        spec,
        smap,
        diags,
        namespace=env.spec.namespace if env else None,
        cluster=cluster,
        clusters=clusters,
        pins=env.spec.pins if env else None,
        entries=entries,
        inputs=(inputs.overlay.file,) if inputs.overlay is not None else (),
        strict=request.strict,
        schema_lint=request.schema_lint,
        specs=request.specs,
        jobs=request.jobs,
    )
    # Generators run even when resolve found errors, so one run reports every problem at once.
    ctx = Context(fleet, request.target, diags, request.api_versions)
    checker = wiring.Checker(ctx)
    assembler = resources.Assembler(request.output)
    capability_level = 0
    if request.part != "fleet":
        shard = partial(_capability_shard, ctx=ctx, fmt=request.output)
        for part in parallel.map_shards(shard, fleet.capabilities, request.jobs):
            diags.extend(part.diagnostics)
            checker.merge(part.services, part.pods, part.refused)
            for producer, docs in part.documents:
                assembler.take(producer, docs)
                capability_level += len(docs)
    fleet_level = 0
    if request.part != "capabilities" and not request.capability:
        objects = checker.fleet([resources.clean_object(o) for o in fleet_objects(ctx)])
        assembler.add("the fleet", objects, fleet=True)
        fleet_level = len(objects)
    diags.extend(assembler.errors)
    diags.raise_if_errors(ValidationError)
    if request.part != "fleet" and not capability_level:  # Argo CD would prune every workload
        message = "the render produced no capability objects (every capability absent?)"
        raise ValidationError.at(smap.at(("capabilities",)), message)
    documents = assembler.finish()
    root = locate(request.path)[0].root
    warnings = tuple(sorted(set(diags.warnings)))
    return RenderResult(documents, warnings, fleet, root, fleet_level, request.output, request)


class _Shard(NamedTuple):
    """What rendering a run of capabilities produced, in any process (see `parallel`)."""

    documents: list[tuple[str, list[resources.Doc]]]  # (producer, its documents), capability by capability
    diagnostics: list[Diagnostic]
    services: dict[str, set[int | str]]  # what the wiring check recorded, for the fleet-level check
    pods: dict[str, dict[str, str]]
    refused: bool


def _capability_shard(caps: Sequence[ResolvedCapability], ctx: Context, fmt: Format) -> _Shard:
    """Generate, clean, check and serialize each capability of `caps`, with findings of their own."""
    ctx = ctx._replace(diags=Collector())
    checker = wiring.Checker(ctx)
    writer = resources.Assembler(fmt)
    documents = []
    for cap in caps:
        objects = checker.capability(cap, [resources.clean_object(o) for o in capability_objects(cap, ctx)])
        documents.append((f"capability {cap.name}", [writer.document(o) for o in objects]))
    return _Shard(documents, ctx.diags.items, checker.services, checker.pods, checker.refused)


def capability_objects(cap: Any, ctx: Context) -> Iterator[Obj]:
    """Every object of one capability, family by family."""
    for family in FAMILIES:
        if ctx.target in family.targets and family.per_capability is not None:
            yield from family.per_capability(cap, ctx)


def fleet_objects(ctx: Context) -> Iterator[Obj]:
    """The fleet-level objects (gateways, dashboards, recording rules, classes)."""
    for family in FAMILIES:
        if ctx.target in family.targets and family.fleet is not None:
            yield from family.fleet(ctx)


def environments(path: Path, limits: Limits | None = None) -> Mapping[str, str]:
    """The environments a fleet declares (name -> overlay path), for `validate` without --env."""
    fleet_dir, manifest = locate(path, limits or Limits())
    doc = fleet_dir.load(manifest, Location(manifest))
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    envs = spec.get("environments") if isinstance(spec, dict) else None
    return {str(k): str(v) for k, v in envs.items()} if isinstance(envs, dict) else {}


def validate(
    path: str | os.PathLike[str],
    env: str | None = None,
    strict: bool = False,
    limits: Limits | None = None,
    jobs: int = 1,
) -> list[Diagnostic]:
    """Every check of `render` for one or every environment; returns warnings, raises errors.

    Across environments, a finding that holds in only some of them names them.
    """
    fleet = Path(path)
    names: list[str | None] = [env] if env else [*sorted(environments(fleet, limits))] or [None]
    found: dict[Diagnostic, list[str]] = {}
    for name in names:
        request = RenderRequest(fleet, name, strict=strict, schema_lint=True, limits=limits or Limits(), jobs=jobs)
        try:
            diagnostics: Iterable[Diagnostic] = render_request(request).warnings
        except SkipperError as exc:
            diagnostics = exc.diagnostics
        for diagnostic in set(diagnostics):
            found.setdefault(diagnostic, []).append(name or DEFAULT_ENVIRONMENT)
    labelled = [d if len(envs) == len(names) or env else _in(d, envs) for d, envs in found.items()]
    errors = [d for d in labelled if d.severity == "error"]
    if errors:
        raise ValidationError(sorted(set(errors)))
    return sorted(set(labelled))


def _in(diagnostic: Diagnostic, envs: list[str]) -> Diagnostic:
    return diagnostic._replace(message=f"{diagnostic.message} (in {', '.join(sorted(envs))})")
