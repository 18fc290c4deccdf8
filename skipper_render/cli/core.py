"""render, validate, schema and diff: the commands that only read the fleet."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from skipper_render.cli.base import (
    JOBS_OPT,
    KUBECTL_OPT,
    PATH_ARG,
    fail,
    main,
    parse_api_versions,
    render_or_fail,
    target_of,
    warn,
)
from skipper_render.errors import SkipperError
from skipper_render.render import RenderRequest, render_request, validate

TARGET_OPT = click.option(
    "--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True
)


@main.command("render")
@PATH_ARG
@click.option("--env", "env", help="Environment to render (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@click.option("--capability", help="Render one capability only (reads only its files).")
@click.option(
    "--part",
    type=click.Choice(["all", "fleet", "capabilities"]),
    default="all",
    show_default=True,
    help="fleet: only fleet-level objects (gateways, dashboards, classes); capabilities: the rest.",
)
@TARGET_OPT
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--output-dir",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Write one file per object into DIR, replacing an earlier render there (never other files).",
)
@click.option(
    "--check", "check_dir", metavar="DIR", type=click.Path(path_type=Path), help="Fail with the diff when DIR is stale."
)
@click.option("--at", "at", metavar="GIT_REF", help="Render the fleet as it was at this git revision (replay).")
@click.option(
    "--all-envs",
    is_flag=True,
    help="Every environment (each cluster) into DIR/<env>[/<cluster>]/{fleet,capabilities} (--output-dir/--check).",
)
@click.option("--strict", is_flag=True, help="Spec-schema warnings become errors.")
@click.option("--kube-version", help="Target cluster version (as Argo CD's KUBE_VERSION).")
@click.option("--api-versions", help="Served APIs, comma-separated (as Argo CD's KUBE_API_VERSIONS).")
@JOBS_OPT
def render_cmd(
    path: Path,
    env: str | None,
    cluster: str | None,
    capability: str | None,
    part: str,
    target: str,
    fmt: str,
    output_dir: Path | None,
    check_dir: Path | None,
    at: str | None,
    all_envs: bool,
    strict: bool,
    kube_version: str | None,
    api_versions: str | None,
    jobs: int,
) -> None:
    """Render the fleet at PATH (a directory or a manifest file) for one environment."""
    if output_dir is not None and check_dir is not None:
        raise click.UsageError("--output-dir and --check cannot be used together")
    if all_envs and (output_dir is None) == (check_dir is None):
        raise click.UsageError("--all-envs writes a tree: give --output-dir DIR or --check DIR")
    if all_envs and (env or cluster or capability or part != "all"):
        raise click.UsageError(
            "--all-envs renders every environment and cluster whole: drop --env/--cluster/--capability/--part"
        )
    request = RenderRequest(
        path=path,
        env=env,
        cluster=cluster,
        capability=capability,
        part="fleet" if part == "fleet" else "capabilities" if part == "capabilities" else "all",
        target=target_of(target),
        strict=strict,
        api_versions=parse_api_versions(api_versions),
        kube_version=kube_version,
        output="json" if fmt == "json" and output_dir is None and check_dir is None else "yaml",
        jobs=jobs,
    )
    if at is None:
        _emit(request, all_envs, output_dir, check_dir)
        return
    from skipper_render.workflows import review

    with review.temporary_dir() as tmp:
        try:
            checked_out = review.checkout(path, at, Path(tmp))
        except SkipperError as exc:
            fail(exc)
        _emit(request._replace(path=checked_out), all_envs, output_dir, check_dir)


def _emit(request: RenderRequest, all_envs: bool, output_dir: Path | None, check_dir: Path | None) -> None:
    from skipper_render import output

    try:
        if all_envs:
            from skipper_render.workflows.tree import render_tree

            tree = render_tree(request)
            files, root, warnings = tree.files, tree.root, tree.warnings
        else:
            result = render_request(request)
            if output_dir is None and check_dir is None:
                warn(result.warnings)
                result.write_to(sys.stdout)
                return
            files, root, warnings = output.files(result), result.root, result.warnings
        warn(warnings)
        if check_dir is not None:
            _check(files, check_dir)
            return
        assert output_dir is not None
        count = output.write_files(files, output_dir, root)
    except SkipperError as exc:
        fail(exc)
    click.echo(f"wrote {count} objects to {output_dir}", err=True)


def _check(files: dict[str, str], check_dir: Path) -> None:
    """Exit 1 with the differences when DIR is not exactly this render (names only for foreign files)."""
    from skipper_render.workflows import review

    expected = review.Side({rel.removesuffix(".yaml"): text for rel, text in files.items()})
    stale = review.unified(review.compare(review.from_dir(check_dir), expected, str(check_dir), "rendered"))
    if stale:
        click.echo(stale, err=True, nl=False)
        click.echo(f"skipper: {check_dir} is stale; re-render it with --output-dir", err=True)
        sys.exit(1)


@main.command("validate")
@PATH_ARG
@click.option("--env", "env", help="Validate one environment (default: the base manifest and every environment).")
@click.option("--strict", is_flag=True, help="Spec-schema warnings become errors.")
@JOBS_OPT
def validate_cmd(path: Path, env: str | None, strict: bool, jobs: int) -> None:
    """Run every check of `render`, print findings, emit no objects."""
    try:
        warnings = validate(path, env, strict, jobs=jobs)
    except SkipperError as exc:
        fail(exc)
    warn(warnings)
    click.echo("ok", err=True)


@main.command("schema")
@click.option("--kind", type=click.Choice(["all", "fleet", "environment"]), default="all", show_default=True)
def schema_cmd(kind: str) -> None:
    """Print the JSON Schema of the fleet manifest and environment overlay (for editors)."""
    from skipper_render.schema import json_schema  # only this command pays for schema generation

    sys.stdout.write(json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n")


@main.command("diff")
@PATH_ARG
@click.option("--env", "env", help="Environment to render (required when the fleet declares environments).")
@click.option("--against", metavar="GIT_REF|DIR", help="A git revision (the fleet as it was there) or a rendered dir.")
@click.option("--env-b", help="Compare --env with this environment of the same tree.")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@TARGET_OPT
@click.option("--format", "fmt", type=click.Choice(["unified", "markdown"]), default="unified", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences (as git diff --exit-code).")
@click.option(
    "--live",
    is_flag=True,
    help="Against the cluster: `kubectl diff --server-side`, kubectl's exit codes (0 same, 1 different, >1 failed).",
)
@click.option("--prune", is_flag=True, help="With --live: the fleet is applied with `apply --prune` (ApplySet labels).")
@KUBECTL_OPT
@JOBS_OPT
def diff_cmd(
    path: Path,
    env: str | None,
    against: str | None,
    env_b: str | None,
    cluster: str | None,
    target: str,
    fmt: str,
    exit_code: bool,
    live: bool,
    prune: bool,
    kubectl: str,
    jobs: int,
) -> None:
    """Rendered diff for review and PR comments: environments, git revisions, rendered directories, or
    (--live) the cluster. Unified and markdown output start with the blast radius: per capability
    and gateway, whether pods restart or the change applies in place, and why."""
    from skipper_render.workflows import effects, review

    if live:
        if against is not None or env_b is not None:
            raise click.UsageError("--live compares with the cluster: not with --against or --env-b")
        from skipper_render.workflows import cluster as kube

        result = render_or_fail(RenderRequest(path, env, cluster=cluster, target=target_of(target), jobs=jobs))
        try:
            sys.exit(kube.diff_live(result, kubectl, cluster, prune))
        except SkipperError as exc:
            fail(exc)
    if prune:
        raise click.UsageError("--prune goes with --live")
    if (against is None) == (env_b is None):
        raise click.UsageError("give exactly one of --against GIT_REF|DIR, --env-b ENV or --live")
    kind = target_of(target)

    def rendered(fleet: Path, environment: str | None, drop_namespace: bool = False) -> review.Side:
        result = render_request(RenderRequest(fleet, environment, cluster=cluster, target=kind, jobs=jobs))
        return review.keyed(result.yaml_documents(), drop_namespace)

    try:
        if env_b is not None:
            old, new = rendered(path, env, True), rendered(path, env_b, True)
            labels = (env or "default", env_b)
        elif against is not None and Path(against).is_dir():
            old, new = review.from_dir(Path(against)), rendered(path, env)
            labels = (against, "rendered")
        else:
            with review.temporary_dir() as tmp:
                old = rendered(review.checkout(path, str(against), Path(tmp), "--against"), env)
            new = rendered(path, env)
            labels = (str(against), "working-tree")
    except SkipperError as exc:
        fail(exc)
    changes = review.compare(old, new, *labels)
    radius, notes = effects.effects(old, new, changes)
    title = f"skipper diff {labels[0]} -> {labels[1]}" + (f" ({env})" if env and env_b is None else "")
    if fmt == "markdown":
        sys.stdout.write(review.markdown(changes, title, notes, effects.table(radius)))
    else:
        sys.stdout.write(effects.preamble(radius) + review.unified(changes))
    if exit_code and changes:
        sys.exit(1)
