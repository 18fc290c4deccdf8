"""`skipper-krm`: skipper-render as a KRM function and as a kustomize exec plugin.

- No argument: a KRM function (kustomize `generators:`/`transformers:` with `--enable-alpha-plugins
  --enable-exec`, kpt, Argo CD `kustomize.buildOptions`). Reads a `config.kubernetes.io/v1`
  ResourceList on stdin whose `functionConfig` is a `fleet.naftiko.io/v1alpha1` RenderConfig,
  writes the ResourceList back with the incoming items followed by the rendered ones, and reports
  findings in `results` (kyaml `framework.Result`: message, severity, file). Exit 1 on error,
  still writing the ResourceList so the orchestrator can show the results.
- One argument, a RenderConfig file: a legacy kustomize exec plugin, found at
  `$KUSTOMIZE_PLUGIN_HOME/fleet.naftiko.io/v1alpha1/renderconfig/RenderConfig`; manifests on stdout.
  This is the form `kubectl kustomize --enable-alpha-plugins` runs (it has no `--enable-exec`).

`spec.path` is relative to the working directory, which kustomize sets to the kustomization's dir.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from skipper_render import RenderRequest, fastexit, render_request
from skipper_render.errors import Diagnostic, Location, SkipperError, ValidationError
from skipper_render.load import Limits, parse_yaml
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
                      the RenderConfig in that file, manifests on stdout

RenderConfig spec: path (relative to the kustomization), env, cluster, target, capability.
Exit codes: 0 ok, 1 render error, 2 usage error.
"""
)
CONFIG_API = "fleet.naftiko.io/v1alpha1"
RESOURCE_LIST_API = "config.kubernetes.io/v1"
_LIST_LIMITS = Limits(max_file_bytes=256 * 1024 * 1024, max_depth=128, max_alias_nodes=100_000)


@dataclass(frozen=True)
class RenderConfig:
    path: str = "."
    env: str | None = None
    cluster: str | None = None
    target: str = "kubernetes"
    capability: str | None = None

    def request(self, cwd: Path) -> RenderRequest:
        if self.target not in ("kubernetes", "operator"):
            raise ValidationError.at(Location(), f"spec.target {self.target!r} is not kubernetes or operator")
        return RenderRequest(
            path=cwd / self.path,
            env=self.env,
            cluster=self.cluster,
            capability=self.capability,
            target="operator" if self.target == "operator" else "kubernetes",
        )


def parse_config(data: Any, file: str) -> RenderConfig:
    where = Location(file)
    if not isinstance(data, dict) or data.get("apiVersion") != CONFIG_API or data.get("kind") != "RenderConfig":
        raise ValidationError.at(where, f"functionConfig must be a {CONFIG_API} RenderConfig")
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        raise ValidationError.at(where, "RenderConfig spec must be a mapping")
    unknown = sorted(set(spec) - {"path", "env", "cluster", "target", "capability"})
    if unknown:
        raise ValidationError.at(where, f"RenderConfig spec: unknown field {unknown[0]!r}")
    values = {k: str(v) for k, v in spec.items() if v not in (None, "")}
    return RenderConfig(**values)


def _result(diagnostic: Diagnostic) -> dict[str, Any]:
    result: dict[str, Any] = {"message": str(diagnostic), "severity": diagnostic.severity}
    if diagnostic.location.file:
        result["file"] = {"path": diagnostic.location.file}
    return result


def run_function(stdin: str, cwd: Path) -> tuple[str, int]:
    """ResourceList in -> ResourceList out, and the exit code."""
    items: list[Any] = []
    resource_list: dict[str, Any] = {"apiVersion": RESOURCE_LIST_API, "kind": "ResourceList"}
    try:
        doc = parse_yaml(stdin.encode(), "<stdin>", _LIST_LIMITS)
        if not isinstance(doc.data, dict) or doc.data.get("kind") != "ResourceList":
            raise ValidationError.at(Location("<stdin>"), "input is not a ResourceList")
        items = list(doc.data.get("items") or [])
        config = parse_config(doc.data.get("functionConfig"), "functionConfig")
        result = render_request(config.request(cwd))
    except SkipperError as exc:
        resource_list |= {"items": items, "results": [_result(d) for d in exc.diagnostics]}
        return to_yaml_document(resource_list), 1
    resource_list["items"] = items + list(result.objects)
    if result.warnings:
        resource_list["results"] = [_result(d) for d in result.warnings]
    return to_yaml_document(resource_list), 0


def run_exec_plugin(config_file: Path, cwd: Path) -> str:
    doc = parse_yaml(config_file.read_bytes(), config_file.name)
    return to_yaml(render_request(parse_config(doc.data, config_file.name).request(cwd)).objects)


def main() -> None:
    """Console script `skipper-krm [CONFIG_FILE]`."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write(USAGE + "Try 'skipper-krm --help'.\n")
        sys.exit(2)
    cwd = Path.cwd()
    if args:
        try:
            sys.stdout.write(run_exec_plugin(Path(args[0]), cwd))
        except SkipperError as exc:
            sys.stderr.write(f"{exc}\n")
            sys.exit(1)
        except OSError as exc:
            sys.stderr.write(f"skipper-krm: cannot read {args[0]}: {exc.strerror}\n")
            sys.exit(1)
        return
    text, code = run_function(sys.stdin.read(), cwd)
    sys.stdout.write(text)
    sys.exit(code)


def run() -> NoReturn:
    """The `skipper-krm` executable: `main`, then a fast exit (kustomize starts it on every build)."""
    fastexit.run(main)
