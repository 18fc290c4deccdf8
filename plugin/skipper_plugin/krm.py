"""`skipper-krm`: skipper-render as a KRM function and as a kustomize exec plugin.

- No argument: a KRM function (kustomize `generators:`/`transformers:` with `--enable-alpha-plugins
  --enable-exec`, kpt, Argo CD `kustomize.buildOptions`, or the container image built from
  plugin/Dockerfile). Reads a `config.kubernetes.io/v1` ResourceList on stdin whose
  `functionConfig` is a `fleet.naftiko.io/v1alpha1` RenderConfig, writes the ResourceList back with
  the incoming items followed by the rendered ones, and reports findings in `results` (kyaml
  `framework.Result`). kustomize never shows `results`, only the function's stderr: errors go to
  stderr as well, and the exit code is 1.
- One argument, a RenderConfig file: a legacy kustomize exec plugin, found at
  `$KUSTOMIZE_PLUGIN_HOME/fleet.naftiko.io/v1alpha1/renderconfig/RenderConfig`. This is the form
  `kubectl kustomize --enable-alpha-plugins` runs (it has no `--enable-exec`). As a generator it
  gets no input; as a transformer kustomize sends every resource so far on stdin and drops what is
  not returned, so the input comes back first, then the rendered objects.

`spec.path` is relative to the working directory, which kustomize sets to the kustomization's
directory, and may not leave it (kustomize's own load restrictor rule).
"""

from __future__ import annotations

import posixpath
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from skipper_render import RenderRequest, fastexit, render_request, startup
from skipper_render.errors import Diagnostic, Location, SkipperError, ValidationError, shorten
from skipper_render.load import Limits, parse_yaml, parse_yaml_stream, read_regular
from skipper_render.serialize import to_yaml, to_yaml_document

USAGE = "usage: skipper-krm [RENDER_CONFIG_FILE]\n"
HELP = (
    USAGE
    + """
Render a Naftiko fleet for kustomize, kpt or Argo CD's kustomize.

  no argument         a KRM function: reads a config.kubernetes.io/v1 ResourceList on stdin whose
                      functionConfig is a fleet.naftiko.io/v1alpha1 RenderConfig, writes the list
                      back with the rendered items (findings in `results`, errors also on stderr)
  RENDER_CONFIG_FILE  a kustomize exec plugin (kubectl kustomize --enable-alpha-plugins): renders
                      the RenderConfig in that file; resources on stdin (a transformer's input)
                      come back first, then the rendered manifests

RenderConfig spec: path (relative to the kustomization, inside it), env, cluster, target, capability.
Exit codes: 0 ok, 1 render error, 2 usage error.
"""
)
CONFIG_API = "fleet.naftiko.io/v1alpha1"
RESOURCE_LIST_APIS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")
# A ResourceList carries whatever earlier generators produced: larger than a fleet file, still bounded.
INPUT_LIMITS = Limits(max_file_bytes=64 * 1024 * 1024, max_depth=128, max_nodes=2_000_000, max_bytes=256 << 20)
_FIELDS = ("path", "env", "cluster", "target", "capability")


@dataclass(frozen=True)
class RenderConfig:
    path: str = "."
    env: str | None = None
    cluster: str | None = None
    target: str = "kubernetes"
    capability: str | None = None

    def request(self, cwd: Path) -> RenderRequest:
        where = Location("RenderConfig")
        if self.target not in ("kubernetes", "operator"):
            raise ValidationError.at(where, f"spec.target {shorten(self.target, 40)!r} is not kubernetes or operator")
        rel = posixpath.normpath(self.path.replace("\\", "/"))
        if "\0" in self.path or self.path.startswith("/") or rel == ".." or rel.startswith("../"):
            raise ValidationError.at(
                where, f"spec.path {shorten(self.path, 60)!r} must stay inside the kustomization directory"
            )
        origin = {name: f"RenderConfig spec.{name}" for name in _FIELDS}
        return RenderRequest(
            path=cwd / rel,
            env=self.env,
            cluster=self.cluster,
            capability=self.capability,
            target="operator" if self.target == "operator" else "kubernetes",
            origin=origin,
        )


def parse_config(data: Any, file: str) -> RenderConfig:
    where = Location(file)
    if not isinstance(data, dict) or data.get("apiVersion") != CONFIG_API or data.get("kind") != "RenderConfig":
        raise ValidationError.at(where, f"functionConfig must be a {CONFIG_API} RenderConfig")
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        raise ValidationError.at(where, "RenderConfig spec must be a mapping")
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise ValidationError.at(where, f"RenderConfig spec: unknown field {shorten(str(unknown[0]), 40)!r}")
    values = {}
    for key, value in spec.items():
        if value in (None, ""):
            continue
        if isinstance(value, dict | list):
            raise ValidationError.at(where, f"RenderConfig spec.{key} must be a string")
        values[key] = str(value)
    return RenderConfig(**values)


def _result(diagnostic: Diagnostic) -> dict[str, Any]:
    result: dict[str, Any] = {"message": str(diagnostic), "severity": diagnostic.severity}
    if diagnostic.location.file:
        result["file"] = {"path": diagnostic.location.file}
    return result


def _items(data: Any) -> list[Any]:
    """The incoming items of a ResourceList: a list of objects."""
    items = data.get("items")
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationError.at(Location("<stdin>", path=("items",)), "items must be a list of objects")
    return items


def run_function(stdin: bytes | str, cwd: Path) -> tuple[str, int]:
    """ResourceList in -> ResourceList out, and the exit code."""
    resource_list, errors = function(stdin, cwd)
    return to_yaml_document(resource_list), 1 if errors else 0


def function(stdin: bytes | str, cwd: Path) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """ResourceList in -> (ResourceList out, the errors it reports)."""
    items: list[Any] = []
    resource_list: dict[str, Any] = {"apiVersion": RESOURCE_LIST_APIS[0], "kind": "ResourceList"}
    raw = stdin.encode() if isinstance(stdin, str) else stdin
    try:
        doc = parse_yaml(raw, "<stdin>", INPUT_LIMITS)
        data = doc.data
        if not isinstance(data, dict) or data.get("kind") != "ResourceList":
            raise ValidationError.at(Location("<stdin>"), "input is not a ResourceList")
        if data.get("apiVersion") in RESOURCE_LIST_APIS:
            resource_list["apiVersion"] = data["apiVersion"]
        items = _items(data)
        config = parse_config(data.get("functionConfig"), "functionConfig")
        result = render_request(config.request(cwd))
    except SkipperError as exc:
        resource_list |= {"items": items, "results": [_result(d) for d in exc.diagnostics]}
        return resource_list, exc.diagnostics
    resource_list["items"] = items + list(result.objects)
    if result.warnings:
        resource_list["results"] = [_result(d) for d in result.warnings]
    return resource_list, ()


def run_exec_plugin(config_file: Path, cwd: Path, stdin: bytes) -> str:
    """The rendered manifests after whatever resources came in (a transformer's input)."""
    where = Location(config_file.name)
    doc = parse_yaml(read_regular(config_file, config_file.name, where, Limits().max_file_bytes), config_file.name)
    incoming = [d for d in parse_yaml_stream(stdin, "<stdin>", INPUT_LIMITS) if d is not None] if stdin.strip() else []
    if not all(isinstance(d, dict) for d in incoming):
        raise ValidationError.at(Location("<stdin>"), "the input resources must be objects")
    result = render_request(parse_config(doc.data, config_file.name).request(cwd))
    return (to_yaml(incoming) if incoming else "") + result.to_yaml()


def _stdin_bytes() -> bytes:
    """Standard input, bounded; empty when it is a terminal (a generator gets no input)."""
    if sys.stdin is None or sys.stdin.isatty():
        return b""
    data = sys.stdin.buffer.read(INPUT_LIMITS.max_file_bytes + 1)
    if len(data) > INPUT_LIMITS.max_file_bytes:
        raise ValidationError.at(Location("<stdin>"), f"input is over the {INPUT_LIMITS.max_file_bytes}-byte limit")
    return data


def _fail(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        sys.stderr.write(f"{diagnostic}\n")
    count = len(diagnostics)
    sys.stderr.write(f"skipper-krm: {count} error{'s' if count != 1 else ''}\n")


def main() -> None:
    """Console script `skipper-krm [CONFIG_FILE]`."""
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write(USAGE + "Try 'skipper-krm --help'.\n")
        sys.exit(2)
    cwd = Path.cwd()
    try:
        stdin = _stdin_bytes()
        if args:
            sys.stdout.write(run_exec_plugin(Path(args[0]), cwd, stdin))
            return
    except SkipperError as exc:
        _fail(exc.diagnostics)
        sys.exit(1)
    resource_list, errors = function(stdin, cwd)
    if errors:  # kustomize shows only stderr; `results` serve kpt and other orchestrators
        _fail(errors)
    sys.stdout.write(to_yaml_document(resource_list))
    sys.exit(1 if errors else 0)


def run() -> NoReturn:
    """The `skipper-krm` executable: `main`, then a fast exit (kustomize starts it on every build)."""
    startup.no_pydantic_plugins()
    fastexit.run(main)
