"""Every environment at once: the tree CI commits or pushes for Flux, `DIR/<env>[/<cluster>]/`.

Each environment (each cluster of an environment that names clusters) is rendered like
`skipper render --env ENV [--cluster C]`, its fleet-level objects under `fleet/` and the rest under
`capabilities/`, one directory per Flux Kustomization (`skipper flux` points at them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from skipper_render import output
from skipper_render.errors import Collector, Diagnostic
from skipper_render.inputs import load_inputs
from skipper_render.load import Limits
from skipper_render.render import RenderRequest, environments, locate, render_request
from skipper_render.spec import SpecCache


class Tree(NamedTuple):
    files: dict[str, str]  # path under DIR -> YAML document
    warnings: tuple[Diagnostic, ...]
    root: Path  # the fleet directory


def leaves(path: Path, limits: Limits = Limits()) -> Iterator[tuple[str | None, str | None]]:
    """(environment, cluster) pairs, in order: each environment, each of its clusters."""
    names: list[str | None] = [*sorted(environments(path, limits))] or [None]
    for env in names:
        found = load_inputs(path, env, limits, {}, Collector()).environment if env is not None else None
        clusters: list[str | None] = [c.name for c in (found.spec.clusters or [])] if found is not None else []
        for cluster in clusters or [None]:
            yield env, cluster


def render_tree(request: RenderRequest) -> Tree:
    """Render every leaf with the request's other settings; the first error stops the tree."""
    files: dict[str, str] = {}
    warnings: set[Diagnostic] = set()
    specs = SpecCache()  # each spec is read and checked once for every environment and cluster
    for env, cluster in leaves(request.path, request.limits):
        result = render_request(request._replace(env=env, cluster=cluster, output="yaml", part="all", specs=specs))
        prefix = "/".join(p for p in (env or "default", cluster) if p)
        files |= {f"{prefix}/{rel}": text for rel, text in output.files(result, split=True).items()}
        warnings |= set(result.warnings)
    return Tree(files, tuple(sorted(warnings)), locate(request.path)[0].root)
