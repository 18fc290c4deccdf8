"""Flux: objects valid against the Flux CRDs, and rendered output safe under post-build substitution."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonpointer
import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES, MINIMAL_SPEC, fleet_yaml, validate_object, write_tree

from skipper_plugin.cli import main
from skipper_render import render
from skipper_render.resources import FLUX_SUBSTITUTE

DEMO = FIXTURES / "valid" / "demo"


def test_flux_objects_for_git_and_oci() -> None:
    for source, kind, url in (
        ("git", "GitRepository", "https://github.com/example/fleet.git"),
        ("oci", "OCIRepository", "oci://ghcr.io/example/fleet"),
    ):
        result = CliRunner().invoke(main, ["flux", str(DEMO), "--env", "prod", "--source", source, "--url", url])
        assert result.exit_code == 0, result.stderr
        docs = list(yaml.safe_load_all(result.stdout))
        for doc in docs:
            validate_object(doc)
        assert docs[0]["kind"] == kind
        kustomizations = {d["metadata"]["name"]: d["spec"] for d in docs[1:]}
        assert set(kustomizations) == {
            "shipyard-prod-prod-eu",
            "shipyard-prod-prod-us",
            "shipyard-prod-prod-eu-fleet",
            "shipyard-prod-prod-us-fleet",
        }
        spec = kustomizations["shipyard-prod-prod-eu"]
        assert (spec["prune"], spec["wait"], spec["path"]) == (True, True, "./rendered/prod/prod-eu/capabilities")
        assert spec["dependsOn"] == [{"name": "shipyard-prod-prod-eu-fleet"}]
        assert spec["sourceRef"] == {"kind": kind, "name": "shipyard"}


def test_fleet_part_gets_its_own_kustomization_and_dependency() -> None:
    result = CliRunner().invoke(
        main,
        [
            "flux",
            str(FIXTURES / "valid" / "operator"),
            "--env",
            "staging",
            "--url",
            "https://git.example/f",
            "--target",
            "operator",
        ],
    )
    docs = list(yaml.safe_load_all(result.stdout))
    by_name = {d["metadata"]["name"]: d["spec"] for d in docs[1:]}
    assert by_name["harbor-staging-fleet"]["path"] == "./rendered/staging/fleet"
    assert by_name["harbor-staging"]["dependsOn"] == [{"name": "harbor-staging-fleet"}]
    assert by_name["harbor-staging"]["path"] == "./rendered/staging/capabilities"


def _flux_substitute(text: str, variables: dict[str, str]) -> str:
    """What Flux post-build substitution does to an unannotated object (envsubst, unset -> empty)."""
    return re.sub(r"(?<!\$)\$\{([^}]*)\}", lambda m: variables.get(m.group(1), ""), text)


def test_objects_holding_dollar_brace_opt_out_of_substitution(tmp_path: Path) -> None:
    spec = MINIMAL_SPEC.replace("info: {display: Hello", 'info: {display: "Costs ${PRICE}"')
    write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(), "hello.ikanos.yml": spec})
    objects = render(tmp_path, None).objects
    flagged = {o["kind"] for o in objects if o["metadata"].get("annotations", {}).get(FLUX_SUBSTITUTE) == "disabled"}
    assert flagged == {"ConfigMap"}
    for obj in objects:
        text = yaml.safe_dump(obj)
        if FLUX_SUBSTITUTE not in text:
            assert _flux_substitute(text, {}) == text  # nothing for Flux to blank
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    assert "Costs ${PRICE}" in configmap["data"]["capability.yaml"]


def _kustomizations(fleet: Path, env: str) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["flux", str(fleet), "--env", env, "--url", "https://git.example/f.git"])
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    for doc in docs:
        validate_object(doc)
    return {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Kustomization"}


@pytest.mark.parametrize(
    ("case", "kinds"),
    [("routing-istio", {"VirtualService"}), ("routing-consul", {"ServiceSplitter", "ServiceResolver"})],
)
def test_flux_leaves_the_fields_argo_rollouts_moves_alone(case: str, kinds: set[str]) -> None:
    """Flux corrects drift: without ignore rules it would reset a canary's weights mid-rollout."""
    fleet = FIXTURES / "valid" / case
    rendered = {(o["kind"], o["metadata"]["name"]): o for o in render(fleet, "prod").objects}
    specs = _kustomizations(fleet, "prod")
    rules = next(spec for name, spec in sorted(specs.items()) if not name.endswith("-fleet"))["ignore"]
    assert {r["target"]["kind"] for r in rules} == kinds
    assert all("ignore" not in spec for name, spec in specs.items() if name.endswith("-fleet"))
    for rule in rules:
        target = rule["target"]
        name = target["name"].removeprefix("^").removesuffix("$")
        obj = rendered[(target["kind"], name)]
        for path in rule["paths"]:  # every pointer resolves in the rendered object to a weight or filter
            assert jsonpointer.resolve_pointer(obj, path) in (0, 100, "")
    if case == "routing-istio":
        assert rules == [
            {
                "paths": ["/spec/http/0/route/0/weight", "/spec/http/0/route/1/weight"],
                "target": {"group": "networking.istio.io", "kind": "VirtualService", "name": "^shipyard$"},
            }
        ]


def test_flux_without_canaries_needs_no_ignore_rules() -> None:
    result = CliRunner().invoke(
        main, ["flux", str(FIXTURES / "valid" / "minimal"), "--url", "https://git.example/f.git"]
    )
    assert result.exit_code == 0, result.stderr
    kustomizations = [d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Kustomization"]
    assert kustomizations and all("ignore" not in d["spec"] for d in kustomizations)
