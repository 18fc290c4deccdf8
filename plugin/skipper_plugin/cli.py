"""The `skipper` executable: the engine's commands plus the delivery commands of this layer
(`skipper argocd generate|appset`, `skipper flux`), all built on `skipper_render`'s public API."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from skipper_render import RenderRequest, SkipperError, fastexit, render_request, startup
from skipper_render.cli import main
from skipper_render.cli.base import PATH_ARG, fail, render_or_fail, target_of, warn

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
    result.write_to(sys.stdout)


CHECK_OPT = click.option(
    "--check",
    "check_file",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Fail with the diff when FILE is not what this command prints (CI: regenerate it).",
)


def _print_or_check(text: str, check_file: Path | None) -> None:
    """Print the generated objects, or compare them with the committed FILE."""
    if check_file is None:
        sys.stdout.write(text)
        return
    try:
        current = check_file.read_text(encoding="utf-8") if check_file.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {check_file}: {exc}") from None
    if current != text:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True), str(check_file), "generated"
        )
        click.echo("".join(diff), err=True, nl=False)
        click.echo(f"skipper: {check_file} is stale; regenerate it", err=True)
        sys.exit(1)


@argocd_group.command("appset")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--repo", required=True, help="Git repository URL Argo CD pulls the fleet from.")
@click.option("--revision", default="HEAD", show_default=True)
@click.option("--app-path", default=".", show_default=True, help="The fleet's directory inside the repository.")
@click.option("--project", default="default", show_default=True, help="Argo CD project of the Applications.")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
@CHECK_OPT
def argocd_appset(
    path: Path,
    env: str | None,
    repo: str,
    revision: str,
    app_path: str,
    project: str,
    target: str,
    check_file: Path | None,
) -> None:
    """An ApplicationSet: per cluster, the fleet-level part, then one Application per capability."""
    from skipper_plugin import argocd
    from skipper_render.resources import prune
    from skipper_render.serialize import to_yaml

    result = render_or_fail(RenderRequest(path, env, target=target_of(target)))
    appset = argocd.applicationset(result, repo, revision, app_path, target, project)
    _print_or_check(to_yaml([prune(appset)]), check_file)


@main.command("flux")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="The cluster these objects bootstrap (required for a multi-cluster environment).")
@click.option("--source", "kind", type=click.Choice(["git", "oci"]), default="git", show_default=True)
@click.option("--url", required=True, help="Git URL, or oci:// URL of the pushed rendered artifacts.")
@click.option("--ref", help="Branch (git, default main) or tag (oci, default <env>[-<cluster>]).")
@click.option(
    "--root", default="./rendered", show_default=True, help="git: where CI writes rendered/<env>[/<cluster>]."
)
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
@CHECK_OPT
def flux_cmd(
    path: Path,
    env: str | None,
    cluster: str | None,
    kind: str,
    url: str,
    ref: str | None,
    root: str,
    target: str,
    check_file: Path | None,
) -> None:
    """The Flux source and Kustomizations of one environment in one cluster."""
    from skipper_plugin import flux
    from skipper_render.resources import prune
    from skipper_render.serialize import to_yaml

    try:
        probe = render_request(RenderRequest(path, env, target=target_of(target)))
        chosen = flux.pick_cluster(probe, cluster)
        result = render_request(RenderRequest(path, env, cluster=chosen, target=target_of(target)))
        objects = [flux.source(result, kind, url, ref, chosen), *flux.kustomizations(result, kind, root, chosen)]
    except SkipperError as exc:
        fail(exc)
    _print_or_check(to_yaml([prune(o) for o in objects]), check_file)


def run() -> NoReturn:
    """The `skipper` executable: every command, then a fast exit (see `skipper_render.fastexit`)."""
    startup.no_pydantic_plugins()
    fastexit.run(main)
