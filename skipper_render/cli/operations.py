"""promote, lock, warden, apply, status and logs: commands that write to the repo or a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from skipper_render.cli.base import (
    KUBECTL_OPT,
    PATH_ARG,
    fail,
    main,
    render_or_fail,
)
from skipper_render.errors import Location, SkipperError
from skipper_render.load import read_regular
from skipper_render.render import RenderRequest


@main.command("promote")
@click.argument("capability")
@click.option("--from", "source", required=True, help="Environment whose effective version is promoted.")
@click.option("--to", "target", required=True, help="Environment whose overlay gets the pin.")
@click.option(
    "-C",
    "--path",
    "path",
    metavar="PATH",
    type=click.Path(path_type=Path),
    default=".",
    show_default=True,
    help="The fleet directory or manifest.",
)
def promote_cmd(capability: str, source: str, target: str, path: Path) -> None:
    """Pin CAPABILITY in --to at --from's engine version and bundle; print the rendered diff."""
    from skipper_render.workflows import promote

    try:
        change = promote.promote(path, capability, source, target)
    except SkipperError as exc:
        fail(exc)
    sys.stdout.write(change.diff)
    click.echo(f"pinned {capability} in {change.overlay}", err=True)


@main.command("lock")
@PATH_ARG
@click.option("--env", "env", required=True, help="Environment to pin.")
def lock_cmd(path: Path, env: str) -> None:
    """Pin every capability of --env at what it renders now; print the rendered diff."""
    from skipper_render.workflows import promote

    try:
        change = promote.lock(path, env)
    except SkipperError as exc:
        fail(exc)
    sys.stdout.write(change.diff)
    click.echo(f"pinned {len(change.pins)} capabilities in {change.overlay}", err=True)


@main.group("warden")
def warden_group() -> None:
    """Warden policy bundles (OPA): build and sign in CI, verify anywhere."""


@warden_group.command("bundle")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--signing-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option(
    "--output-dir", metavar="DIR", type=click.Path(path_type=Path), required=True, help="Bundles go to DIR/<resource>."
)
def warden_bundle(path: Path, env: str | None, signing_key: Path, output_dir: Path) -> None:
    """Build one signed, reproducible bundle per capability from policies/ (a CI step)."""
    from skipper_render import output
    from skipper_render.workflows import warden

    result = render_or_fail(RenderRequest(path, env))
    try:
        key = read_regular(signing_key, str(signing_key), Location("--signing-key"), 1 << 20)
        bundles = warden.build_all(result, key)
        output.write_files(bundles, output_dir, result.root)
    except SkipperError as exc:
        fail(exc)
    for resource, data in sorted(bundles.items()):
        click.echo(f"wrote {output_dir / resource} ({len(data)} bytes)", err=True)


@warden_group.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--public-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--scope", default=None)
def warden_verify(bundle: Path, public_key: Path, scope: str | None) -> None:
    """Check a bundle as OPA does: one JWT, valid signature, scope, every file listed and unchanged."""
    from skipper_render.workflows import warden

    try:
        raw = read_regular(bundle, str(bundle), Location(str(bundle)), 256 << 20)
        key = read_regular(public_key, str(public_key), Location("--public-key"), 1 << 20)
        problems = warden.verify(raw, key, scope)
    except SkipperError as exc:
        fail(exc)
    for problem in problems:
        click.echo(f"{bundle}: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{bundle}: ok", err=True)


@main.command("apply")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@click.option("--dry-run", is_flag=True, help="Server-side dry run.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete what the render no longer has (kubectl ApplySet, parent ConfigMap <fleet>-skipper-applyset).",
)
@KUBECTL_OPT
def apply_cmd(path: Path, env: str | None, cluster: str | None, dry_run: bool, prune: bool, kubectl: str) -> None:
    """Render, then `kubectl apply --server-side` the objects (the only way skipper writes to a cluster).

    The environment's Namespace goes first and is never pruned. Without --prune nothing is deleted."""
    from skipper_render.workflows import cluster as kube

    result = render_or_fail(RenderRequest(path, env, cluster=cluster))
    try:
        sys.exit(kube.apply(result, kubectl, dry_run, cluster, prune))
    except SkipperError as exc:
        fail(exc)


@main.command("status")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@KUBECTL_OPT
def status_cmd(path: Path, env: str | None, cluster: str | None, fmt: str, kubectl: str) -> None:
    """Rendered Deployments and Rollouts (phase, canary step and weight), HPAs and PDBs, as the cluster has them."""
    import json

    from skipper_render.workflows import cluster as kube

    result = render_or_fail(RenderRequest(path, env, cluster=cluster))
    try:
        code, rows = kube.status(result, kubectl, cluster)
    except SkipperError as exc:
        fail(exc)
    if code != 0:
        sys.exit(code)
    if fmt == "json":
        sys.stdout.write(json.dumps([r._asdict() for r in rows], indent=2) + "\n")
    else:
        sys.stdout.write(kube.table(rows))


@main.command("logs")
@click.argument("capability")
@click.option(
    "-C",
    "--path",
    "path",
    metavar="PATH",
    type=click.Path(path_type=Path),
    default=".",
    show_default=True,
    help="The fleet directory or manifest.",
)
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@click.option("-f", "--follow", is_flag=True)
@click.option("--since", metavar="DURATION", help="Only logs newer than this (e.g. 10m); default: the last 200 lines.")
@KUBECTL_OPT
def logs_cmd(
    capability: str, path: Path, env: str | None, cluster: str | None, follow: bool, since: str | None, kubectl: str
) -> None:
    """The engine logs of CAPABILITY's pods, through `kubectl logs`."""
    from skipper_render.workflows import cluster as kube

    result = render_or_fail(RenderRequest(path, env, cluster=cluster))
    try:
        sys.exit(kube.logs(result, kubectl, capability, follow, cluster, since))
    except SkipperError as exc:
        fail(exc)


@main.command("failover")
@PATH_ARG
@click.option("--env", "env", required=True, help="Environment whose clusters change roles.")
@click.option("--to", "target", required=True, metavar="CLUSTER", help="The cluster that becomes the primary.")
def failover_cmd(path: Path, env: str, target: str) -> None:
    """Make CLUSTER the primary of --env (the old primary a standby); print every cluster's rendered diff.

    Only the `role` values of the overlay change. Commit the change and let GitOps apply it:
    standby sizing, DNS failover records and mesh failover move with it."""
    from skipper_render.workflows import failover

    try:
        change = failover.failover(path, env, target)
    except SkipperError as exc:
        fail(exc)
    sys.stdout.write(change.diff)
    demoted = ", ".join(change.demoted) or "none"
    click.echo(f"{change.primary} is the primary of {env} in {change.overlay} (now standby: {demoted})", err=True)
