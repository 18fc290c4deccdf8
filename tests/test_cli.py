from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES, MINIMAL_SPEC, fleet_yaml, served_apis, write_tree

from skipper_plugin.cli import main
from skipper_render import render

DEMO = FIXTURES / "valid" / "demo"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_render_prints_only_manifests_on_stdout() -> None:
    code, out, err = run("render", str(FIXTURES / "valid" / "naftiko-legacy"), "--env", "dev")
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
    assert "warning: rest expose on port 8080 binds to localhost" in err


def test_errors_exit_1_with_nothing_on_stdout() -> None:
    code, out, err = run("render", str(FIXTURES / "invalid" / "unknown-class"))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "naftiko.fleet.yaml:7:37: capabilities.hello.class: unknown class 'gold' (known: dev, premium, standard)"
    )


def test_usage_errors_exit_2() -> None:
    assert run("render", str(DEMO), "--target", "helm")[0] == 2
    assert run("render", str(DEMO), "--no-such-flag")[0] == 2


def test_env_is_required_when_the_fleet_declares_environments() -> None:
    code, out, err = run("render", str(DEMO))
    assert (code, out) == (1, "")
    assert "an environment is required (--env); known: dev, prod, staging" in err


def test_json_output_is_a_list_of_the_same_objects() -> None:
    _, as_yaml, _ = run("render", str(DEMO), "--env", "staging")
    code, as_json, _ = run("render", str(DEMO), "--env", "staging", "-o", "json")
    assert code == 0
    assert json.loads(as_json)["items"] == list(yaml.safe_load_all(as_yaml))


def test_manifest_path_works_like_the_directory() -> None:
    by_dir = run("render", str(DEMO), "--env", "dev")[1]
    assert run("render", str(DEMO / "naftiko.fleet.yaml"), "--env", "dev")[1] == by_dir


def test_capability_renders_one_capability_only() -> None:
    code, out, _ = run("render", str(DEMO), "--env", "dev", "--capability", "ping")
    assert code == 0
    names = {d["metadata"]["labels"]["naftiko.io/capability"] for d in yaml.safe_load_all(out)}
    assert names == {"ping"}


def test_capability_render_reads_only_its_own_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "naftiko.fleet.yaml": fleet_yaml("a: {spec: a.yml}\nbroken: {spec: broken.yml}"),
            "a.yml": MINIMAL_SPEC,
            "broken.yml": "ikanos: [unclosed\n",
        },
    )
    assert run("render", str(tmp_path), "--capability", "a")[0] == 0
    assert run("render", str(tmp_path))[0] == 1


def test_api_versions_gate_service_monitors() -> None:
    objects = list(render(DEMO, "dev").objects)
    with_sm = run("render", str(DEMO), "--env", "dev", "--api-versions", served_apis(objects))[1]
    without_sm = run(
        "render",
        str(DEMO),
        "--env",
        "dev",
        "--api-versions",
        "v1,apps/v1,autoscaling/v2,policy/v1,argoproj.io/v1alpha1,gateway.networking.k8s.io/v1",
    )[1]
    assert "kind: ServiceMonitor" in with_sm
    assert (
        "kind: ServiceMonitor" not in without_sm and "kind: Deployment" in without_sm
    )  # group/versions only: every kind


def test_output_dir_is_written_atomically_and_check_detects_staleness(tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    code, stdout, _ = run("render", str(DEMO), "--env", "dev", "--output-dir", str(out))
    assert (code, stdout) == (0, "")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert "shipyard-dev/deployment.apps_shipyard.yaml" in files
    assert run("render", str(DEMO), "--env", "dev", "--check", str(out))[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    # A failing render leaves the previous tree untouched.
    assert run("render", str(FIXTURES / "invalid" / "unknown-class"), "--output-dir", str(out))[0] == 1
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == before
    (out / "shipyard-dev" / "service_ping.yaml").unlink()
    code, stdout, err = run("render", str(DEMO), "--env", "dev", "--check", str(out))
    assert (code, stdout) == (1, "")
    assert "+++ rendered/shipyard-dev/service_ping" in err


def test_validate_checks_every_environment(tmp_path: Path) -> None:
    assert run("validate", str(DEMO))[0] == 0
    fleet = shutil.copytree(DEMO, tmp_path / "demo")
    (fleet / "environments" / "staging.yaml").write_text(
        (fleet / "environments" / "staging.yaml").read_text() + "  pins: {ghost: {engine: v1}}\n"
    )
    code, out, err = run("validate", str(fleet))
    assert (code, out) == (1, "")
    assert "environments/staging.yaml" in err


@pytest.mark.parametrize("kind", ["fleet", "environment", "all"])
def test_schema_accepts_the_demo_and_rejects_unknown_fields(kind: str) -> None:
    code, out, _ = run("schema", "--kind", kind)
    assert code == 0
    validator = jsonschema.Draft202012Validator(json.loads(out))
    fleet = yaml.safe_load((DEMO / "naftiko.fleet.yaml").read_text())
    env = yaml.safe_load((DEMO / "environments" / "prod.yaml").read_text())
    docs = {"fleet": [fleet], "environment": [env], "all": [fleet, env]}[kind]
    for doc in docs:
        assert list(validator.iter_errors(doc)) == []
        bad = {**doc, "spec": {**doc["spec"], "surprise": 1}}
        assert list(validator.iter_errors(bad)) != []


def test_warden_needs_bundle_and_signing(tmp_path: Path) -> None:
    extra = "security:\n  warden: {enabled: true, bundle: {service: https://bundles.example.com}}"
    write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(extra=extra), "hello.ikanos.yml": MINIMAL_SPEC})
    code, out, err = run("render", str(tmp_path))
    assert (code, out) == (1, "")
    assert "security.warden: security.warden needs bundle and signing" in err


def test_kube_version_must_serve_the_output() -> None:
    assert run("render", str(DEMO), "--env", "dev", "--kube-version", "1.33.1")[0] == 0
    code, out, err = run("render", str(DEMO), "--env", "dev", "--kube-version", "v1.22.17")
    assert (code, out) == (1, "")
    assert "Kubernetes v1.22.17 is too old: the output needs 1.23+ (autoscaling/v2)" in err


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"naftiko.fleet.yaml": "- a\n"},
            "naftiko.fleet.yaml:1:1: a fleet manifest must be a mapping (apiVersion, kind, metadata, spec)",
        ),
        (
            {
                "naftiko.fleet.yaml": fleet_yaml("hello: {spec: hello.ikanos.yml, labels: [a]}"),
                "hello.ikanos.yml": MINIMAL_SPEC,
            },
            "naftiko.fleet.yaml:7:37: capabilities.hello.labels: expected a mapping, found a list",
        ),
    ],
)
def test_shape_errors_are_plain_words(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    write_tree(tmp_path, files)
    code, out, err = run("render", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == expected


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("render", str(tmp_path / "nope"))
    assert code == 1
    assert err.splitlines()[0] == f"{tmp_path / 'nope'}: no such fleet directory or manifest"


def test_the_executable_exits_like_main(tmp_path: Path) -> None:
    """`skipper` skips interpreter teardown (start-up/exit time); stdout, stderr and codes must not suffer."""
    exe = str(Path(sys.executable).parent / "skipper")
    ok = subprocess.run([exe, "render", str(DEMO), "--env", "prod", "-o", "json"], capture_output=True, check=False)
    assert ok.returncode == 0
    assert ok.stdout.decode() == run("render", str(DEMO), "--env", "prod", "-o", "json")[1]
    bad = subprocess.run([exe, "render", str(FIXTURES / "invalid" / "unknown-class")], capture_output=True, check=False)
    assert (bad.returncode, bad.stdout) == (1, b"")
    assert bad.stderr.decode().endswith("skipper: 1 error\n")
    assert subprocess.run([exe, "render", "--no-such-flag"], capture_output=True, check=False).returncode == 2
    written = tmp_path / "out"
    assert (
        subprocess.run([exe, "render", str(DEMO), "--env", "dev", "--output-dir", str(written)], check=False).returncode
        == 0
    )
    assert len(list(written.rglob("*.yaml"))) == len(
        list(yaml.safe_load_all(run("render", str(DEMO), "--env", "dev")[1]))
    )
