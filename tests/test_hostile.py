"""Hostile and careless input: exit 1, a located message, nothing on stdout, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, MINIMAL_SPEC, env_yaml, fleet_yaml, write_tree

from skipper_plugin.cli import main
from skipper_plugin.krm import run_function

LOCATED = re.compile(r"^[^\s:][^:]*(:\d+:\d+)?: ")
BIN = Path(sys.executable).parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a bug
    return result.exit_code, result.stdout, result.stderr


def refused(fleet: Path, *args: str) -> str:
    """Render `fleet`, expect exit 1, nothing on stdout, located messages; return stderr."""
    code, out, err = run("render", str(fleet), *args)
    assert (code, out) == (1, ""), err
    lines = err.splitlines()
    assert lines[-1].startswith("skipper: ") and lines[-1].endswith(("error", "errors"))
    assert all(LOCATED.match(line) for line in lines[:-1]), err
    return err


def _fleet(tmp_path: Path, manifest: str, spec: str = MINIMAL_SPEC, **files: str) -> Path:
    return write_tree(tmp_path, {"naftiko.fleet.yaml": manifest, "hello.ikanos.yml": spec, **files})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "explicit YAML tag '!!int' is not allowed"),
        ("!!bool maybe", "explicit YAML tag '!!bool' is not allowed"),
        ("!!float x", "explicit YAML tag '!!float' is not allowed"),
        ("!!str 3", "explicit YAML tag '!!str' is not allowed"),
        ("!!binary aGk=", "explicit YAML tag '!!binary' is not allowed"),
        ("!!timestamp 2026-01-01", "explicit YAML tag '!!timestamp' is not allowed"),
        ("0x_", "'0x_' is not a valid number; quote it if it is text"),
        ("0b_", "'0b_' is not a valid number"),
        ("9" * 5000, "is not a valid number"),
    ],
)
def test_bad_scalars(tmp_path: Path, value: str, message: str) -> None:
    fleet = _fleet(tmp_path, fleet_yaml(f"hello: {{spec: hello.ikanos.yml, replicas: {value}}}"))
    err = refused(fleet)
    assert message in err and "naftiko.fleet.yaml:7:" in err
    assert len(err) < 500  # long values are cut in messages


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Fleet\nmetadata: {name: a}\nspec: a\n",
            "spec must be a mapping",
        ),
        (
            "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Fleet\nmetadata: {name: a}\nspec: [1]\n",
            "spec must be a mapping",
        ),
        ("- a\n- b\n", "a fleet manifest must be a mapping"),
        (
            "apiVersion: fleet.naftiko.io/v1alpha1\nkind: fleet\nmetadata: {name: a}\nspec: {}\n",
            "input should be 'Fleet'",
        ),
        ("a:\n\tb: 1\n", "a tab character: YAML indents with spaces only"),
        ("a: &x {b: 1}\nc:\n  <<: *x\n  <<: *x\n", "duplicate key '<<'"),
        (fleet_yaml('hello: {spec: "a\\x00b"}'), "a path may not contain a NUL byte"),
        (fleet_yaml('"hello\\n": {spec: hello.ikanos.yml}'), "is not a DNS-1123 label"),
        (fleet_yaml(extra="routing: {restGateway: {enabled: true}}"), "it needs routing.ingress"),
        (fleet_yaml(extra="routing: {mcpGateway: {enabled: true, host: mcp.example.com}}"), "routing.ingress"),
    ],
)
def test_bad_manifests(tmp_path: Path, manifest: str, message: str) -> None:
    err = refused(_fleet(tmp_path, manifest))
    assert message in err


def test_a_trailing_newline_is_no_valid_name(tmp_path: Path) -> None:
    err = refused(_fleet(tmp_path, fleet_yaml('hello: {spec: hello.ikanos.yml, class: "dev\\n"}')))
    assert "is not a DNS-1123 label" in err


def test_patches_are_explained_by_path_never_by_content(tmp_path: Path) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    overlay = env_yaml(
        "prod",
        f"""\
        merge: {{capabilities: {{hello: {{env: {{API_PASSWORD_HINT: {secret}}}}}}}}}
        patches:
          - {{op: replace, path: /capabilities/helo/replicas, value: 3}}
          - {{op: test, path: /capabilities/hello/env/API_PASSWORD_HINT, value: guess}}
        """,
    )
    fleet = _fleet(tmp_path, fleet_yaml(envs="prod: prod.yaml"), **{"prod.yaml": overlay})
    err = refused(fleet, "--env", "prod")
    assert "/capabilities has no key 'helo'; did you mean 'hello'?" in err
    assert "the value there differs from the one the op tests for" in err
    assert secret not in err and "guess" not in err


def test_a_patch_may_not_replace_the_spec_with_a_string(tmp_path: Path) -> None:
    overlay = env_yaml("prod", "patches: [{op: replace, path: '', value: nope}]")
    err = refused(_fleet(tmp_path, fleet_yaml(envs="prod: prod.yaml"), **{"prod.yaml": overlay}), "--env", "prod")
    assert "the patched spec is a string, not a mapping" in err


def test_patch_bombs_stop_at_the_limits(tmp_path: Path) -> None:
    # each op appends the list to itself: 945 bytes of overlay would reach gigabytes
    ops = "\n".join(
        "  - {op: copy, from: /capabilities/hello/labels/x, path: /capabilities/hello/labels/x/-}" for _ in range(40)
    )
    overlay = env_yaml("prod", f"merge: {{capabilities: {{hello: {{labels: {{x: [{'a' * 64}]}}}}}}}}\npatches:\n{ops}")
    fleet = _fleet(tmp_path, fleet_yaml(envs="prod: prod.yaml"), **{"prod.yaml": overlay})
    err = refused(fleet, "--env", "prod")
    assert "would grow the fleet past the input limits" in err


def test_kube_version_is_checked_without_tracebacks() -> None:
    fleet = FIXTURES / "valid" / "minimal"
    assert "is not a version MAJOR.MINOR" in refused(fleet, "--kube-version", "1" * 5000 + ".30")
    assert "--kube-version: " in refused(fleet, "--kube-version", "banana")


def test_imports_stay_in_data_and_never_cover_the_spec(tmp_path: Path) -> None:
    spec = MINIMAL_SPEC.replace(
        "capability:\n", "capability:\n  consumes:\n    - {import: other, from: ../../other.yml}\n"
    )
    tree = {"caps/a/hello.ikanos.yml": spec, "other.yml": 'ikanos: "1.0.0-beta4"\nconsumes: []\n'}
    manifest = fleet_yaml("hello: {spec: caps/a/hello.ikanos.yml}")
    fleet = write_tree(tmp_path / "one", {"naftiko.fleet.yaml": manifest, **tree})
    assert "resolves to /other.yml in the pod, outside /data" in refused(fleet)
    spec = MINIMAL_SPEC.replace("capability:\n", "capability:\n  consumes:\n    - {import: x, from: capability.yaml}\n")
    fleet = write_tree(tmp_path / "two", {"naftiko.fleet.yaml": fleet_yaml(), "hello.ikanos.yml": spec})
    (fleet / "capability.yaml").write_text('ikanos: "1.0.0-beta4"\nconsumes: []\n')
    assert "may not be mounted over the spec itself" in refused(fleet)


@pytest.mark.parametrize("node", ["/dev/null", "fifo"])
def test_only_regular_files_are_read(tmp_path: Path, node: str) -> None:
    fleet = _fleet(tmp_path, fleet_yaml("hello: {spec: hello.ikanos.yml}", envs="prod: prod.yaml"))
    if node == "fifo":
        import os

        os.mkfifo(fleet / "prod.yaml")  # a reader would block forever
    else:
        (fleet / "prod.yaml").symlink_to("/dev/null")
    err = refused(fleet, "--env", "prod")
    assert "is not a regular file" in err or "leaves the fleet directory" in err


def test_a_manifest_symlink_out_of_the_fleet_is_refused_before_it_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: s3cr3t\nkind: Fleet\n")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "naftiko.fleet.yaml").symlink_to(secret)
    err = refused(fleet)
    assert "leaves the fleet directory through a symlink" in err and "s3cr3t" not in err


def test_git_refs_are_never_options(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    for flag in ("--against", "--at"):
        args = ["diff", str(FIXTURES / "valid" / "minimal"), flag, f"--output={victim}"]
        if flag == "--at":
            args = ["render", str(FIXTURES / "valid" / "minimal"), "--at", f"--output={victim}"]
        code, out, err = run(*args)
        assert (code, out) == (1, "") and "is not a git revision" in err
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("resource_list", "message"),
    [
        (b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: 5\n", "items must be a list of objects"),
        (b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: true\n", "items must be a list of objects"),
        (b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: abc\n", "items must be a list of objects"),
        (b"\xff\xfe\x00\x01", "not UTF-8 text"),
        (b"[" * 200, "nesting deeper than"),
    ],
)
def test_krm_input(tmp_path: Path, resource_list: bytes, message: str) -> None:
    text, code = run_function(resource_list, tmp_path)
    assert code == 1 and message in text
    cmd = [str(BIN / "skipper-krm")]
    proc = subprocess.run(cmd, input=resource_list, capture_output=True, cwd=tmp_path, check=False)
    assert proc.returncode == 1 and message in proc.stderr.decode() and b"Traceback" not in proc.stderr


def test_validate_names_the_environments_a_finding_belongs_to(tmp_path: Path) -> None:
    overlay = env_yaml("prod", "merge: {capabilities: {hello: {class: gold}}}")
    fleet = _fleet(
        tmp_path,
        fleet_yaml(envs="dev: dev.yaml\nprod: prod.yaml"),
        **{"prod.yaml": overlay, "dev.yaml": env_yaml("dev", "namespace: demo-dev")},
    )
    code, _, err = run("validate", str(fleet))
    assert code == 1
    assert "unknown class 'gold' (known: dev, premium, standard) (in prod)" in err


def test_overlay_names_and_multi_cluster_renders_warn(tmp_path: Path) -> None:
    overlay = env_yaml("production", "clusters: [{name: a, region: r1}, {name: b, region: r2, role: standby}]")
    fleet = _fleet(tmp_path, fleet_yaml(envs="prod: prod.yaml"), **{"prod.yaml": overlay})
    code, _, err = run("render", str(fleet), "--env", "prod")
    assert code == 0
    assert "the overlay is named 'production' but the fleet lists it as 'prod'" in err
    assert "prod has 2 clusters; without --cluster the render is the same for all of them" in err


def test_warden_key_and_bundle_mistakes(tmp_path: Path) -> None:
    secure = FIXTURES / "valid" / "secure"
    public = str(secure / "keys" / "warden.pub")
    code, out, err = run(
        "warden", "bundle", str(secure), "--env", "prod", "--signing-key", public, "--output-dir", str(tmp_path / "b")
    )
    assert (code, out) == (1, "") and "--signing-key: not a PEM RSA private key" in err
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not gzip at all")
    code, _, err = run("warden", "verify", str(junk), "--public-key", public)
    assert code == 1 and "not a gzipped tar bundle" in err
