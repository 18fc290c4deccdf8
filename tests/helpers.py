"""Test helpers: fleets written to tmp dirs, and schema validation of rendered objects."""

from __future__ import annotations

import json
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUBE_VERSION = "1.33"
CORE_GROUPS = {"", "apps", "autoscaling", "policy", "networking.k8s.io", "batch", "rbac.authorization.k8s.io"}

MINIMAL_SPEC = """\
ikanos: "1.0.0-beta4"
info: {display: Hello, description: Hello capability}
capability:
  exposes:
    - {type: rest, address: "0.0.0.0", port: 8080, namespace: hello-api, resources: {hi: {path: /hi}}}
    - {type: control, address: "0.0.0.0", port: 9090}
"""


def served_apis(objects: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> str:
    """A KUBE_API_VERSIONS value (as Argo CD writes it: group/version and group/version/Kind, sorted)
    serving every kind of `objects` except the `drop`ped kinds."""
    kinds = {f"{o['apiVersion']}/{o['kind']}" for o in objects if o["kind"] not in drop}
    return ",".join(sorted(kinds | {k.rpartition("/")[0] for k in kinds}))


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of `path` that starts with `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def fleet_yaml(capabilities: str = "hello: {spec: hello.ikanos.yml}", extra: str = "", envs: str = "") -> str:
    """A small manifest; `capabilities`, `extra` and `envs` are YAML fragments at spec level."""
    lines = [
        "apiVersion: fleet.naftiko.io/v1alpha1",
        "kind: Fleet",
        "metadata: {name: demo}",
        "spec:",
        "  namespace: demo",
        "  capabilities:",
        *("    " + line for line in textwrap.dedent(capabilities).strip().splitlines()),
    ]
    if extra:
        lines += ["  " + line for line in textwrap.dedent(extra).strip().splitlines()]
    if envs:
        lines += ["  environments:", *("    " + line for line in textwrap.dedent(envs).strip().splitlines())]
    return "\n".join(lines) + "\n"


def env_yaml(name: str, spec: str) -> str:
    body = "\n".join("  " + line for line in textwrap.dedent(spec).strip().splitlines())
    return f"apiVersion: fleet.naftiko.io/v1alpha1\nkind: Environment\nmetadata: {{name: {name}}}\nspec:\n{body}\n"


@cache
def _crd_validator(group: str, kind: str, version: str) -> jsonschema.Draft7Validator:
    path = SCHEMAS / "crds" / group / f"{kind.lower()}_{version}.json"
    if not path.exists():
        raise AssertionError(f"no schema for {group}/{version} {kind}: every emitted kind must be validated")
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


def validate_object(obj: dict[str, Any]) -> None:
    """Kubernetes kinds through kubernetes-validate (strict), CRD kinds through their JSON schema."""
    group, _, version = obj["apiVersion"].rpartition("/")
    if group in CORE_GROUPS:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        return
    errors = sorted(_crd_validator(group, obj["kind"], version).iter_errors(obj), key=str)
    if errors:
        where = f"{obj['kind']} {obj['metadata'].get('name')}"
        raise AssertionError(f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors))
