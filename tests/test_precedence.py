"""One test per step of: built-in < class < defaults < capability < merge < patches < pins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import MINIMAL_SPEC, env_yaml, fleet_yaml, write_tree

from skipper_render import render


def _render(tmp_path: Path, capabilities: str, extra: str = "", env: str | None = None) -> dict[str, Any]:
    files = {"hello.ikanos.yml": MINIMAL_SPEC}
    envs = ""
    if env is not None:
        files["environments/prod.yaml"] = env_yaml("prod", env)
        envs = "prod: environments/prod.yaml"
    files["naftiko.fleet.yaml"] = fleet_yaml(capabilities, extra, envs)
    write_tree(tmp_path, files)
    result = render(tmp_path, "prod" if env is not None else None)
    return next(o for o in result.objects if o["kind"] == "Deployment")


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_builtin_default_class_is_standard(tmp_path: Path) -> None:
    deployment = _render(tmp_path, "hello: {spec: hello.ikanos.yml}")
    assert deployment["metadata"]["labels"]["naftiko.io/tier"] == "standard"
    assert _container(deployment)["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert _container(deployment)["image"] == "ghcr.io/naftiko/ikanos:v1.0.0-beta4"


def test_class_is_overridden_by_fleet_defaults(tmp_path: Path) -> None:
    deployment = _render(
        tmp_path, "hello: {spec: hello.ikanos.yml, class: premium}", "defaults: {resources: {requests: {cpu: 750m}}}"
    )
    assert _container(deployment)["resources"]["requests"] == {"cpu": "750m", "memory": "512Mi"}


def test_fleet_defaults_are_overridden_by_the_capability(tmp_path: Path) -> None:
    deployment = _render(tmp_path, "hello: {spec: hello.ikanos.yml, class: premium}", "defaults: {class: dev}")
    assert deployment["metadata"]["labels"]["naftiko.io/tier"] == "premium"
    env = {e["name"]: e.get("value") for e in _container(deployment)["env"]}
    assert env["RESILIENCE4J_RETRY_CONFIGS_DEFAULT_MAXATTEMPTS"] == "5"


def test_capability_env_overrides_class_resilience_env(tmp_path: Path) -> None:
    deployment = _render(
        tmp_path, "hello: {spec: hello.ikanos.yml, env: {RESILIENCE4J_RETRY_CONFIGS_DEFAULT_MAXATTEMPTS: '9'}}"
    )
    env = {e["name"]: e.get("value") for e in _container(deployment)["env"]}
    assert env["RESILIENCE4J_RETRY_CONFIGS_DEFAULT_MAXATTEMPTS"] == "9"


def test_capability_is_overridden_by_overlay_merge(tmp_path: Path) -> None:
    deployment = _render(
        tmp_path,
        "hello: {spec: hello.ikanos.yml, replicas: 2}",
        env="merge: {capabilities: {hello: {replicas: 3}}}",
    )
    assert deployment["spec"]["replicas"] == 3


def test_merge_is_overridden_by_patches(tmp_path: Path) -> None:
    deployment = _render(
        tmp_path,
        "hello: {spec: hello.ikanos.yml, replicas: 2}",
        env="merge: {capabilities: {hello: {replicas: 3}}}\n"
        "patches: [{op: replace, path: /capabilities/hello/replicas, value: 4}]",
    )
    assert deployment["spec"]["replicas"] == 4


def test_patches_are_overridden_by_pins(tmp_path: Path) -> None:
    deployment = _render(
        tmp_path,
        "hello: {spec: hello.ikanos.yml}",
        env="patches: [{op: add, path: /capabilities/hello/version, value: v1.0.0-beta3}]\n"
        "pins: {hello: {engine: v1.0.0-beta2}}",
    )
    assert _container(deployment)["image"] == "ghcr.io/naftiko/ikanos:v1.0.0-beta2"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.0.0-beta2"


def test_hpa_owns_replicas_unless_fixed_or_suspended(tmp_path: Path) -> None:
    assert "replicas" not in _render(tmp_path / "a", "hello: {spec: hello.ikanos.yml}")["spec"]
    assert _render(tmp_path / "b", "hello: {spec: hello.ikanos.yml, state: suspended}")["spec"]["replicas"] == 0
    assert (
        _render(tmp_path / "c", "hello: {spec: hello.ikanos.yml, class: tiny}", "classes: {tiny: {resources: {}}}")[
            "spec"
        ]["replicas"]
        == 1
    )
