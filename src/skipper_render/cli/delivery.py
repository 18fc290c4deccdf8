"""argocd, flux and gateway: the GitOps delivery commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from skipper_render import serialize
from skipper_render.cli.base import (
    PATH_ARG,
    cluster_names,
    fail,
    main,
    render_or_fail,
    target_of,
    warn,
)
from skipper_render.errors import Collector, SkipperError
from skipper_render.render import RenderRequest
from skipper_render.resources import prune


@main.group("argocd")
def argocd_group() -> None:
    """Argo CD: the config-management-plugin generate step and the fleet's ApplicationSet."""


@argocd_group.command("generate")
def argocd_generate() -> None:
    """The CMP `generate` command: settings from ARGOCD_ENV_SKIPPER_* / PARAM_*, cwd = the app path."""
    from skipper_render.plugins import argocd

    try:
        request = argocd.request_from_environ(os.environ, Path.cwd())
    except SkipperError as exc:
        fail(exc)
    result = render_or_fail(request)
    warn(result.warnings)
    sys.stdout.write(serialize.to_yaml(result.objects))


@argocd_group.command("appset")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--repo", required=True, help="Git repository URL Argo CD pulls the fleet from.")
@click.option("--revision", default="HEAD", show_default=True)
@click.option("--app-path", default=".", show_default=True, help="The fleet's directory inside the repository.")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
def argocd_appset(path: Path, env: str | None, repo: str, revision: str, app_path: str, target: str) -> None:
    """An ApplicationSet: one Application per capability (and cluster) plus the fleet-level part."""
    from skipper_render.plugins import argocd

    result = render_or_fail(RenderRequest(path, env, target=target_of(target)))
    clusters = cluster_names(result)
    appset = argocd.applicationset(result.fleet, clusters, repo, revision, app_path, target, result.fleet_level > 0)
    sys.stdout.write(serialize.to_yaml([prune(appset)]))


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
    from skipper_render.plugins import flux

    result = render_or_fail(RenderRequest(path, env, target=target_of(target)))
    clusters = cluster_names(result)
    objects = [flux.source(result.fleet, kind, url, ref)]
    objects += flux.kustomizations(result.fleet, kind, clusters, root, result.fleet_level > 0, result.objects)
    sys.stdout.write(serialize.to_yaml([prune(o) for o in objects]))


@main.group("gateway")
def gateway_group() -> None:
    """The fleet's MCP gateway."""


@gateway_group.command("tools")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def gateway_tools(path: Path, env: str | None, cluster: str | None, fmt: str) -> None:
    """The MCP gateway's routing table: exposed tool -> capability, namespace, port."""
    from skipper_render.generators import Context
    from skipper_render.generators.mcp_gateway import routing_table

    result = render_or_fail(RenderRequest(path, env, cluster=cluster))
    rows = routing_table(Context(result.fleet, "kubernetes", Collector()))
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    header = ("TOOL", "CAPABILITY", "NAMESPACE", "PORT")
    table = [header, *((r["tool"], r["capability"], r["namespace"], str(r["port"])) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
