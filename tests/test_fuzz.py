"""Fuzzing the inputs a user (or an attacker) controls: manifests, overlays, specs, ResourceLists.

Whatever the mutation, the tool exits 0, 1 or 2; never with a traceback; an error is located and
leaves stdout empty and no output directory behind. Bounded for CI (derandomized, no database).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skipper_plugin.cli import main
from skipper_plugin.krm import run_function

FLEET = FIXTURES / "valid" / "routing-istio"
LOCATED = re.compile(r"^[^\s:][^:\n]*(:\d+:\d+)?: ")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NASTY = [
    "!!int abc",
    "0x_",
    "~",
    "[]",
    "{}",
    "*nope",
    '"\\0"',
    "x" * 5000,
    "-1",
    "1e999",
    ".nan",
    "<<",
    "'\t'",
    "9" * 4400,
    "../../etc/passwd",
    "/dev/zero",
    "null",
    "true",
    "{a: [1, {b: c}]}",
    "${HOME}",
    "'{{ .Values.x }}'",
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=40) | st.sampled_from(NASTY),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate_structure(text: str, data: st.DataObject) -> str:
    document = yaml.safe_load(text)
    paths = [p for p in _paths(document) if p]
    if not paths:
        return text
    path = data.draw(st.sampled_from(paths))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(VALUES)
    return yaml.safe_dump(document, sort_keys=False)


def _mutate_text(text: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    index = data.draw(st.integers(0, max(len(lines) - 1, 0)))
    choice = data.draw(st.sampled_from(["replace", "insert", "delete", "duplicate"]))
    if choice == "delete":
        del lines[index]
    elif choice == "duplicate":
        lines.insert(index, lines[index])
    else:
        line = lines[index]
        cut = data.draw(st.integers(0, len(line)))
        token = data.draw(st.sampled_from(NASTY) | st.text(max_size=8))
        lines[index] = line[:cut] + token + (line[cut:] if choice == "insert" else "\n")
    return "".join(lines)


def _mutated(text: str, data: st.DataObject) -> str:
    try:
        return _mutate_structure(text, data) if data.draw(st.booleans()) else _mutate_text(text, data)
    except yaml.YAMLError:
        return _mutate_text(text, data)


def _check(args: list[str], out_dir: Path | None) -> None:
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 1:
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        errors = [line for line in lines[:-1] if ": warning: " not in line]
        assert all(LOCATED.match(line) for line in errors), result.stderr
        if out_dir is not None:
            assert not out_dir.exists() or not any(out_dir.iterdir())


@FUZZ
@given(data=st.data(), target=st.sampled_from(["naftiko.fleet.yaml", "environments/prod.yaml", "spec"]))
def test_mutated_fleets_fail_cleanly(data: st.DataObject, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(shutil.copytree(FLEET, Path(tmp) / "fleet"))
        path = fleet / ("capabilities/shipyard/shipyard.ikanos.yml" if target == "spec" else target)
        path.write_text(_mutated(path.read_text(), data))
        out_dir = Path(tmp) / "out"
        args = ["render", str(fleet), "--env", "prod", "--cluster", "prod-eu"]
        _check([*args, "--output-dir", str(out_dir)] if data.draw(st.booleans()) else args, out_dir)


RESOURCE_LIST = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: keep-me}}
functionConfig:
  apiVersion: fleet.naftiko.io/v1alpha1
  kind: RenderConfig
  metadata: {name: shipyard}
  spec: {path: fleet, env: dev}
"""


@FUZZ
@given(data=st.data())
def test_mutated_resource_lists_fail_cleanly(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(FLEET, Path(tmp) / "fleet")
        text, code = run_function(_mutated(RESOURCE_LIST, data).encode(), Path(tmp))
        assert code in (0, 1)
        out = yaml.safe_load(text)
        assert out["kind"] == "ResourceList"
        if code == 1:
            assert all(r["severity"] == "error" for r in out["results"] if r["severity"] != "warning")
