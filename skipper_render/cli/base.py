"""The `skipper` command group and the helpers every command shares.

Exit codes: 0 ok, 1 render/validation error (messages on stderr as `file:line:col: path: message`,
nothing on stdout), 2 usage error.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import NoReturn

import click

from skipper_render.errors import Diagnostic, SkipperError
from skipper_render.render import RenderRequest, RenderResult, render_request
from skipper_render.resolve import Target

PATH_ARG = click.argument("path", type=click.Path(path_type=Path), default=".")


def fail(exc: SkipperError) -> NoReturn:
    for diagnostic in exc.diagnostics:
        click.echo(str(diagnostic), err=True)
    count = len(exc.diagnostics)
    click.echo(f"skipper: {count} error{'s' if count != 1 else ''}", err=True)
    sys.exit(1)


def warn(warnings: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


def target_of(name: str) -> Target:
    return "operator" if name == "operator" else "kubernetes"


def render_or_fail(request: RenderRequest) -> RenderResult:
    """Render, or report every error on stderr and exit 1 with nothing on stdout."""
    try:
        return render_request(request)
    except SkipperError as exc:
        fail(exc)


def cluster_names(result: RenderResult) -> list[str | None]:
    return [c.name for c in result.fleet.clusters] or [None]


def parse_api_versions(value: str | None) -> frozenset[str] | None:
    """`KUBE_API_VERSIONS` form: comma-separated `group/version` and `group/version/Kind` entries."""
    if value is None:
        return None
    return frozenset(v.strip() for v in value.split(",") if v.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="skipper-render", prog_name="skipper")
def main() -> None:
    """Render Naftiko capability fleets (naftiko.fleet.yaml) into Kubernetes YAML."""
    # A render is one short-lived batch that builds large acyclic trees; the cyclic collector
    # only re-scans them (about 20% of a 1,000-capability render). Memory is measured in bench/.
    gc.disable()


JOBS_OPT = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    envvar="SKIPPER_JOBS",
    show_default=True,
    help="Processes rendering capabilities: 0 is one per usable CPU (a fleet of 200 or more), 1 renders in this one.",
)
KUBECTL_OPT = click.option(
    "--kubectl", default="kubectl", show_default=True, envvar="SKIPPER_KUBECTL", help="kubectl binary."
)
