"""render, validate, schema and diff: the commands that only read the fleet."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from skipper_render import serialize
from skipper_render.cli.base import (
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
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--output-dir",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Write one file per object into DIR (atomically).",
)
@click.option(
    "--check", "check_dir", metavar="DIR", type=click.Path(path_type=Path), help="Fail with the diff when DIR is stale."
)
@click.option("--strict", is_flag=True, help="Spec-schema warnings become errors.")
@click.option("--kube-version", help="Target cluster version (as Argo CD's KUBE_VERSION).")
@click.option("--api-versions", help="Served APIs, comma-separated (as Argo CD's KUBE_API_VERSIONS).")
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
    strict: bool,
    kube_version: str | None,
    api_versions: str | None,
) -> None:
    """Render the fleet at PATH (a directory or a manifest file) for one environment."""
    if output_dir is not None and check_dir is not None:
        raise click.UsageError("--output-dir and --check cannot be used together")
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
    )
    result = render_or_fail(request)
    warn(result.warnings)
    if check_dir is not None or output_dir is not None:
        _write_or_check(result.objects, output_dir, check_dir)
        return
    text = serialize.to_json(result.objects) if fmt == "json" else serialize.to_yaml(result.objects)
    sys.stdout.write(text)


def _write_or_check(objects: tuple[dict[str, object], ...], output_dir: Path | None, check_dir: Path | None) -> None:
    from skipper_render import output  # file I/O helpers load only when asked for

    if check_dir is not None:
        from skipper_render.workflows import review

        changes = review.compare(review.from_dir(check_dir), review.keyed(objects), str(check_dir), "rendered")
        stale = review.unified(changes)
        if stale:
            click.echo(stale, err=True, nl=False)
            click.echo(f"skipper: {check_dir} is stale; re-render it with --output-dir", err=True)
            sys.exit(1)
        return
    if output_dir is not None:
        count = output.write_dir(objects, output_dir)
        click.echo(f"wrote {count} objects to {output_dir}", err=True)


@main.command("validate")
@PATH_ARG
@click.option("--env", "env", help="Validate one environment (default: the base manifest and every environment).")
@click.option("--strict", is_flag=True, help="Spec-schema warnings become errors.")
def validate_cmd(path: Path, env: str | None, strict: bool) -> None:
    """Run every check of `render`, print findings, emit no objects."""
    try:
        warnings = validate(path, env, strict)
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


if __name__ == "__main__":  # pragma: no cover
    main()


@main.command("diff")
@PATH_ARG
@click.option("--env", "env", help="Environment to render (required when the fleet declares environments).")
@click.option("--against", help="A git ref (render the fleet as it was there) or a rendered directory.")
@click.option("--env-b", help="Compare --env with this environment of the same tree.")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["unified", "markdown"]), default="unified", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences (as git diff --exit-code).")
def diff_cmd(
    path: Path,
    env: str | None,
    against: str | None,
    env_b: str | None,
    cluster: str | None,
    target: str,
    fmt: str,
    exit_code: bool,
) -> None:
    """Rendered diff for review and PR comments: environments, git refs or rendered directories."""
    from skipper_render.workflows import review

    if (against is None) == (env_b is None):
        raise click.UsageError("give exactly one of --against GIT_REF|DIR and --env-b ENV")
    kind = target_of(target)

    def rendered(fleet: Path, environment: str | None) -> tuple[dict[str, object], ...]:
        return render_request(RenderRequest(fleet, environment, cluster=cluster, target=kind)).objects

    try:
        if env_b is not None:
            old = review.keyed(rendered(path, env), drop_namespace=True)
            new = review.keyed(rendered(path, env_b), drop_namespace=True)
            labels = (env or "default", env_b)
        elif against is not None and Path(against).is_dir():
            old, new = review.from_dir(Path(against)), review.keyed(rendered(path, env))
            labels = (against, "rendered")
        else:
            with review.temporary_dir() as tmp:
                old = review.keyed(rendered(review.checkout(path, str(against), Path(tmp)), env))
            new = review.keyed(rendered(path, env))
            labels = (str(against), "working-tree")
    except SkipperError as exc:
        fail(exc)
    changes = review.compare(old, new, *labels)
    title = f"skipper diff {labels[0]} -> {labels[1]}" + (f" ({env})" if env and env_b is None else "")
    sys.stdout.write(review.markdown(changes, title) if fmt == "markdown" else review.unified(changes))
    if exit_code and changes:
        sys.exit(1)
