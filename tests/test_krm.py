"""skipper-krm against the KRM functions spec, real kubectl kustomize (exec plugin) and real kpt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FIXTURES, line_of

from skipper_plugin.krm import run_function
from skipper_render import render

DEMO = FIXTURES / "valid" / "demo"
ENVIRONMENTS_LINE = line_of(DEMO / "naftiko.fleet.yaml", "  environments:")
UNKNOWN_QA = "unknown environment 'qa' given by RenderConfig spec.env (known: dev, prod, staging)"
KRM = Path(__file__).parent / "krm"
SKIPPER_KRM = Path(sys.executable).parent / "skipper-krm"


def _canonical(objects: list[Any]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(DEMO, tmp_path / "fleet")
    return tmp_path


def test_generator_resource_list(workdir: Path) -> None:
    proc = subprocess.run(
        [str(SKIPPER_KRM)], input=(KRM / "generator.yaml").read_bytes(), cwd=workdir, capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = yaml.safe_load(proc.stdout)
    assert (out["apiVersion"], out["kind"]) == ("config.kubernetes.io/v1", "ResourceList")
    expected = render(workdir / "fleet", "staging").objects
    assert _canonical(out["items"]) == _canonical(list(expected))
    assert {r["severity"] for r in out.get("results", [])} <= {"warning"}


def test_transformer_keeps_incoming_items_first(workdir: Path) -> None:
    text, code = run_function((KRM / "transformer.yaml").read_text(), workdir)
    out = yaml.safe_load(text)
    assert code == 0
    incoming = yaml.safe_load((KRM / "transformer.yaml").read_text())["items"]
    assert out["items"][0] == incoming[0]
    assert {o["kind"] for o in out["items"][1:]} >= {"Deployment", "Service", "ConfigMap"}


def test_errors_become_results_and_exit_1(workdir: Path) -> None:
    text, code = run_function((KRM / "bad-env.yaml").read_text(), workdir)
    out = yaml.safe_load(text)
    assert code == 1
    assert out["items"] == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep-me"}}]
    assert out["results"] == [
        {
            "message": (f"naftiko.fleet.yaml:{ENVIRONMENTS_LINE}:3: spec.environments: {UNKNOWN_QA}"),
            "severity": "error",
            "file": {"path": "naftiko.fleet.yaml"},
        }
    ]


def test_warnings_become_results(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "valid" / "naftiko-legacy", tmp_path / "fleet")
    text, code = run_function((KRM / "generator.yaml").read_text().replace("staging", "dev"), tmp_path)
    results = yaml.safe_load(text)["results"]
    assert code == 0
    assert {r["severity"] for r in results} == {"warning"}
    assert any("binds to localhost" in r["message"] for r in results)


def test_not_a_render_config_is_an_error(workdir: Path) -> None:
    bad = (KRM / "generator.yaml").read_text().replace("kind: RenderConfig", "kind: Other")
    text, code = run_function(bad, workdir)
    assert code == 1
    assert (
        "functionConfig must be a fleet.naftiko.io/v1alpha1 RenderConfig"
        in yaml.safe_load(text)["results"][0]["message"]
    )


def _plugin_home(tmp_path: Path) -> Path:
    home = tmp_path / "plugins"
    plugin = home / "fleet.naftiko.io" / "v1alpha1" / "renderconfig" / "RenderConfig"
    plugin.parent.mkdir(parents=True, exist_ok=True)
    plugin.write_text(f'#!/bin/sh\nexec "{SKIPPER_KRM}" "$@"\n')
    plugin.chmod(0o755)
    return home


def _kubectl_kustomize(workdir: Path, spec: str, section: str = "generators") -> subprocess.CompletedProcess[bytes]:
    """`kubectl kustomize --enable-alpha-plugins` on a kustomization beside the fleet dir."""
    (workdir / "kustomization.yaml").write_text(f"resources: [extra.yaml]\n{section}:\n  - render.yaml\n")
    (workdir / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep-me}\n")
    config = "apiVersion: fleet.naftiko.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: shipyard}\n"
    (workdir / "render.yaml").write_text(f"{config}spec: {spec}\n")
    env = {**os.environ, "KUSTOMIZE_PLUGIN_HOME": str(_plugin_home(workdir))}
    cmd = ["kubectl", "kustomize", "--enable-alpha-plugins", str(workdir)]
    return subprocess.run(cmd, env=env, capture_output=True, check=False)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("section", ["generators", "transformers"])
def test_real_kubectl_kustomize_runs_the_exec_plugin(workdir: Path, section: str) -> None:
    built = _kubectl_kustomize(workdir, "{path: fleet, env: prod, cluster: prod-eu}", section)
    assert built.returncode == 0, built.stderr
    expected = render(workdir / "fleet", "prod", cluster="prod-eu").objects
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep-me"}}
    # as a transformer, the resources kustomize passes in come back (kustomize drops what is not returned)
    assert _canonical(list(yaml.safe_load_all(built.stdout))) == _canonical([extra, *expected])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_exec_plugin_errors_fail_the_build(workdir: Path) -> None:
    built = _kubectl_kustomize(workdir, "{path: fleet, env: qa}")
    assert built.returncode != 0
    assert built.stdout == b""
    assert b"unknown environment 'qa' given by RenderConfig spec.env" in built.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_spec_path_may_not_leave_the_kustomization(workdir: Path) -> None:
    for path in ("../fleet", "/etc", "fleet/../../x"):
        built = _kubectl_kustomize(workdir, f"{{path: '{path}', env: prod}}")
        assert built.returncode != 0
        assert b"must stay inside the kustomization directory" in built.stderr


@pytest.mark.skipif(shutil.which("kpt") is None, reason="kpt is not installed")
def test_real_kpt_runs_the_krm_function(workdir: Path) -> None:
    package = workdir / "pkg"
    package.mkdir()
    config = yaml.safe_load((KRM / "generator.yaml").read_text())["functionConfig"]
    (workdir / "render.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        ["kpt", "fn", "eval", "pkg", "--exec", str(SKIPPER_KRM), "--fn-config", "render.yaml"],
        cwd=workdir,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    written = [yaml.safe_load(p.read_text()) for p in sorted(package.rglob("*.yaml"))]
    for obj in written:  # kpt records where it wrote each object
        obj["metadata"].get("annotations", {}).pop("config.kubernetes.io/index", None)
        obj["metadata"].get("annotations", {}).pop("internal.config.kubernetes.io/path", None)
        if obj["metadata"].get("annotations") == {}:
            del obj["metadata"]["annotations"]
    expected = render(workdir / "fleet", "staging").objects
    assert _canonical(written) == _canonical(list(expected))
