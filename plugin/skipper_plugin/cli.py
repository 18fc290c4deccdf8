"""The `skipper` executable: the engine's commands plus the delivery commands of this layer
(`skipper argocd generate|appset`, `skipper flux`), all built on `skipper_render`'s public API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

# Set before pydantic is first imported (see skipper_render.cli).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from skipper_render import RenderRequest, SkipperError, fastexit
from skipper_render.cli import main
from skipper_render.cli.base import PATH_ARG, cluster_names, fail, render_or_fail, target_of, warn

__all__ = ["main", "run"]


@main.group("argocd")
def argocd_group() -> None:
    """Argo CD: the config-management-plugin generate step and the fleet's ApplicationSet."""


@argocd_group.command("generate")
def argocd_generate() -> None:
    """The CMP `generate` command: settings from ARGOCD_ENV_SKIPPER_* / PARAM_*, cwd = the app path."""
    from skipper_plugin import argocd

    try:
        request = argocd.request_from_environ(os.environ, Path.cwd())
    except SkipperError as exc:
        fail(exc)
    result = render_or_fail(request)
    warn(result.warnings)
    sys.stdout.write(result.to_yaml())


@argocd_group.command("appset")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--repo", required=True, help="Git repository URL Argo CD pulls the fleet from.")
@click.option("--revision", default="HEAD", show_default=True)
@click.option("--app-path", default=".", show_default=True, help="The fleet's directory inside the repository.")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
def argocd_appset(path: Path, env: str | None, repo: str, revision: str, app_path: str, target: str) -> None:
    """An ApplicationSet: one Application per capability (and cluster) plus the fleet-level part."""
    from skipper_plugin import argocd
    from skipper_render.resources import prune
    from skipper_render.serialize import to_yaml

    result = render_or_fail(RenderRequest(path, env, target=target_of(target)))
    clusters = cluster_names(result)
    appset = argocd.applicationset(result.fleet, clusters, repo, revision, app_path, target, result.fleet_level > 0)
    sys.stdout.write(to_yaml([prune(appset)]))


@main.command("flux")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--source", "kind", type=click.Choice(["git", "oci"]), default="git", show_default=True)
@click.option("--url", required=True, help="Git URL, or oci:// URL of the pushed rendered artifact.")
@click.option("--ref", default="main", show_default=True, help="Branch (git) or tag (oci).")
@click.option("--root", default="./rendered", show_default=True, help="Where CI writes rendered/<env>[/<cluster>].")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
def flux_cmd(path: Path, env: str | None, kind: str, url: str, ref: str, root: str, target: str) -> None:
    """The Flux source and Kustomizations (prune, wait, dependsOn the fleet part) for one environment."""
    from skipper_plugin import flux
    from skipper_render.resources import prune
    from skipper_render.serialize import to_yaml

    result = render_or_fail(RenderRequest(path, env, target=target_of(target)))
    clusters = cluster_names(result)
    objects = [flux.source(result.fleet, kind, url, ref)]
    objects += flux.kustomizations(result.fleet, kind, clusters, root, result.fleet_level > 0, result.objects)
    sys.stdout.write(to_yaml([prune(o) for o in objects]))


def run() -> NoReturn:
    """The `skipper` executable: every command, then a fast exit (see `skipper_render.fastexit`)."""
    fastexit.run(main)
