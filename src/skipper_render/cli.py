"""`skipper`: options -> a frozen request -> the library. Stdout carries manifests only.

Exit codes: 0 ok, 1 render/validation error (messages on stderr as `file:line:col: path: message`,
nothing on stdout), 2 usage error.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

# Argo CD runs the plugin as a fresh process on every cache miss, so start-up time matters:
# pydantic's plugin discovery scans every installed distribution's entry points (~50 ms) and
# skipper-render uses no pydantic plugin. Set before pydantic is first imported.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from skipper_render import serialize
from skipper_render.errors import Collector, Diagnostic, Location, SkipperError
from skipper_render.render import RenderRequest, RenderResult, render, validate
from skipper_render.resolve import Target
from skipper_render.resources import prune

_PATH = click.argument("path", type=click.Path(path_type=Path), default=".")


def _fail(exc: SkipperError) -> NoReturn:
    for diagnostic in exc.diagnostics:
        click.echo(str(diagnostic), err=True)
    count = len(exc.diagnostics)
    click.echo(f"skipper: {count} error{'s' if count != 1 else ''}", err=True)
    sys.exit(1)


def _warn(warnings: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


def _target(name: str) -> Target:
    return "operator" if name == "operator" else "kubernetes"


def _render(request: RenderRequest) -> RenderResult:
    """Render, or report every error on stderr and exit 1 with nothing on stdout."""
    try:
        return render(request)
    except SkipperError as exc:
        _fail(exc)


def _cluster_names(result: RenderResult) -> list[str | None]:
    return [c.name for c in result.clusters] or [None]


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


@main.command("render")
@_PATH
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
@click.option("--output-dir", type=click.Path(path_type=Path), help="Write one file per object into DIR (atomically).")
@click.option("--check", "check_dir", type=click.Path(path_type=Path), help="Fail with the diff when DIR is stale.")
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
        target=_target(target),
        strict=strict,
        api_versions=parse_api_versions(api_versions),
        kube_version=kube_version,
    )
    result = _render(request)
    _warn(result.warnings)
    if check_dir is not None or output_dir is not None:
        _write_or_check(result.objects, output_dir, check_dir)
        return
    text = serialize.to_json(result.objects) if fmt == "json" else serialize.to_yaml(result.objects)
    sys.stdout.write(text)


def _write_or_check(objects: tuple[dict[str, object], ...], output_dir: Path | None, check_dir: Path | None) -> None:
    from skipper_render import output  # file I/O helpers load only when asked for

    if check_dir is not None:
        from skipper_render import review

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
@_PATH
@click.option("--env", "env", help="Validate one environment (default: the base manifest and every environment).")
@click.option("--strict", is_flag=True, help="Spec-schema warnings become errors.")
def validate_cmd(path: Path, env: str | None, strict: bool) -> None:
    """Run every check of `render`, print findings, emit no objects."""
    try:
        warnings = validate(path, env, strict)
    except SkipperError as exc:
        _fail(exc)
    _warn(warnings)
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
@_PATH
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
    from skipper_render import review

    if (against is None) == (env_b is None):
        raise click.UsageError("give exactly one of --against GIT_REF|DIR and --env-b ENV")
    kind = _target(target)

    def rendered(fleet: Path, environment: str | None) -> tuple[dict[str, object], ...]:
        return render(RenderRequest(fleet, environment, cluster=cluster, target=kind)).objects

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
        _fail(exc)
    changes = review.compare(old, new, *labels)
    title = f"skipper diff {labels[0]} -> {labels[1]}" + (f" ({env})" if env and env_b is None else "")
    sys.stdout.write(review.markdown(changes, title) if fmt == "markdown" else review.unified(changes))
    if exit_code and changes:
        sys.exit(1)


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
        _fail(exc)
    result = _render(request)
    _warn(result.warnings)
    sys.stdout.write(serialize.to_yaml(result.objects))


@argocd_group.command("appset")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--repo", required=True, help="Git repository URL Argo CD pulls the fleet from.")
@click.option("--revision", default="HEAD", show_default=True)
@click.option("--app-path", default=".", show_default=True, help="The fleet's directory inside the repository.")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
def argocd_appset(path: Path, env: str | None, repo: str, revision: str, app_path: str, target: str) -> None:
    """An ApplicationSet: one Application per capability (and cluster) plus the fleet-level part."""
    from skipper_render.plugins import argocd

    result = _render(RenderRequest(path, env, target=_target(target)))
    clusters = _cluster_names(result)
    appset = argocd.applicationset(result.fleet, clusters, repo, revision, app_path, target, result.fleet_level > 0)
    sys.stdout.write(serialize.to_yaml([prune(appset)]))


@main.command("flux")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--source", "kind", type=click.Choice(["git", "oci"]), default="git", show_default=True)
@click.option("--url", required=True, help="Git URL, or oci:// URL of the pushed rendered artifact.")
@click.option("--ref", default="main", show_default=True, help="Branch (git) or tag (oci).")
@click.option("--root", default="./rendered", show_default=True, help="Where CI writes rendered/<env>[/<cluster>].")
@click.option("--target", type=click.Choice(["kubernetes", "operator"]), default="kubernetes", show_default=True)
def flux_cmd(path: Path, env: str | None, kind: str, url: str, ref: str, root: str, target: str) -> None:
    """The Flux source and Kustomizations (prune, wait, dependsOn the fleet part) for one environment."""
    from skipper_render.plugins import flux

    result = _render(RenderRequest(path, env, target=_target(target)))
    clusters = _cluster_names(result)
    objects = [flux.source(result.fleet, kind, url, ref)]
    objects += flux.kustomizations(result.fleet, kind, clusters, root, result.fleet_level > 0)
    sys.stdout.write(serialize.to_yaml([prune(o) for o in objects]))


@main.group("gateway")
def gateway_group() -> None:
    """The fleet's MCP gateway."""


@gateway_group.command("tools")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def gateway_tools(path: Path, env: str | None, cluster: str | None, fmt: str) -> None:
    """The MCP gateway's routing table: exposed tool -> capability, namespace, port."""
    from skipper_render.generators import Context
    from skipper_render.generators.mcp_gateway import routing_table

    result = _render(RenderRequest(path, env, cluster=cluster))
    rows = routing_table(Context(result.fleet, "kubernetes", Collector()))
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    header = ("TOOL", "CAPABILITY", "NAMESPACE", "PORT")
    table = [header, *((r["tool"], r["capability"], r["namespace"], str(r["port"])) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


@main.command("promote")
@click.argument("capability")
@click.option("--from", "source", required=True, help="Environment whose effective version is promoted.")
@click.option("--to", "target", required=True, help="Environment whose overlay gets the pin.")
@click.option("-C", "--path", "path", type=click.Path(path_type=Path), default=".", show_default=True)
def promote_cmd(capability: str, source: str, target: str, path: Path) -> None:
    """Pin CAPABILITY in --to at --from's engine version and bundle; print the rendered diff."""
    from skipper_render import promote

    try:
        change = promote.promote(path, capability, source, target)
    except SkipperError as exc:
        _fail(exc)
    sys.stdout.write(change.diff)
    click.echo(f"pinned {capability} in {change.overlay}", err=True)


@main.command("lock")
@_PATH
@click.option("--env", "env", required=True, help="Environment to pin.")
def lock_cmd(path: Path, env: str) -> None:
    """Pin every capability of --env at what it renders now; print the rendered diff."""
    from skipper_render import promote

    try:
        change = promote.lock(path, env)
    except SkipperError as exc:
        _fail(exc)
    sys.stdout.write(change.diff)
    click.echo(f"pinned {len(change.pins)} capabilities in {change.overlay}", err=True)


@main.group("warden")
def warden_group() -> None:
    """Warden policy bundles (OPA): build and sign in CI, verify anywhere."""


@warden_group.command("bundle")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--signing-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--output-dir", type=click.Path(path_type=Path), required=True, help="Bundles go to DIR/<resource>.")
def warden_bundle(path: Path, env: str | None, signing_key: Path, output_dir: Path) -> None:
    """Build one signed, reproducible bundle per capability from policies/ (a CI step)."""
    from skipper_render import warden

    result = _render(RenderRequest(path, env))
    settings = result.fleet.spec.security.warden
    if settings is None or settings.bundle is None or settings.signing is None:
        _fail(SkipperError([Diagnostic(Location("naftiko.fleet.yaml"), "security.warden needs bundle and signing")]))
    fleet_dir = path if path.is_dir() else path.parent
    key = signing_key.read_bytes()
    try:
        bundles = {
            settings.bundle.resource.replace("{capability}", cap.name): warden.build(
                fleet_dir, cap.name, key, settings.signing.keyId, settings.signing.scope
            )
            for cap in result.fleet.capabilities
        }
    except SkipperError as exc:
        _fail(exc)
    for resource, data in sorted(bundles.items()):
        target = output_dir / resource
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        click.echo(f"wrote {target} ({len(data)} bytes)", err=True)


@warden_group.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--public-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--scope", default=None)
def warden_verify(bundle: Path, public_key: Path, scope: str | None) -> None:
    """Check a bundle as OPA does: one JWT, valid signature, scope, every file listed and unchanged."""
    from skipper_render import warden

    problems = warden.verify(bundle.read_bytes(), public_key.read_bytes(), scope)
    for problem in problems:
        click.echo(f"{bundle}: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{bundle}: ok", err=True)


_KUBECTL = click.option(
    "--kubectl", default="kubectl", show_default=True, envvar="SKIPPER_KUBECTL", help="kubectl binary."
)


@main.command("apply")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@click.option("--dry-run", is_flag=True, help="Server-side dry run.")
@_KUBECTL
def apply_cmd(path: Path, env: str | None, cluster: str | None, dry_run: bool, kubectl: str) -> None:
    """Render, then `kubectl apply --server-side` the objects (the only way skipper writes to a cluster)."""
    from skipper_render import cluster as kube

    result = _render(RenderRequest(path, env, cluster=cluster))
    try:
        sys.exit(kube.apply(result, kubectl, dry_run, cluster))
    except SkipperError as exc:
        _fail(exc)


@main.command("status")
@_PATH
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@_KUBECTL
def status_cmd(path: Path, env: str | None, cluster: str | None, kubectl: str) -> None:
    """The fleet's workloads in the cluster, through `kubectl get`."""
    from skipper_render import cluster as kube

    result = _render(RenderRequest(path, env, cluster=cluster))
    try:
        sys.exit(kube.status(result, kubectl, cluster))
    except SkipperError as exc:
        _fail(exc)


@main.command("logs")
@click.argument("capability")
@click.option("-C", "--path", "path", type=click.Path(path_type=Path), default=".", show_default=True)
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of the environment; also the kubectl context.")
@click.option("-f", "--follow", is_flag=True)
@_KUBECTL
def logs_cmd(capability: str, path: Path, env: str | None, cluster: str | None, follow: bool, kubectl: str) -> None:
    """The engine logs of CAPABILITY's pods, through `kubectl logs`."""
    from skipper_render import cluster as kube

    result = _render(RenderRequest(path, env, cluster=cluster))
    try:
        sys.exit(kube.logs(result, kubectl, capability, follow, cluster))
    except SkipperError as exc:
        _fail(exc)
