"""Flux: objects valid against the Flux CRDs, and rendered output safe under post-build substitution."""

from __future__ import annotations

import re
import shutil
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


def _flux(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(main, ["flux", *args])
    docs = list(yaml.safe_load_all(result.stdout)) if result.exit_code == 0 else []
    for doc in docs:
        validate_object(doc)
    return result.exit_code, docs, result.stderr


def test_flux_objects_for_one_cluster_git_and_oci() -> None:
    for source, kind, url, base in (
        ("git", "GitRepository", "https://github.com/example/fleet.git", "./rendered/prod/prod-eu"),
        ("oci", "OCIRepository", "oci://ghcr.io/example/fleet", "."),
    ):
        code, docs, err = _flux(str(DEMO), "--env", "prod", "--cluster", "prod-eu", "--source", source, "--url", url)
        assert code == 0, err
        assert docs[0]["kind"] == kind
        kustomizations = {d["metadata"]["name"]: d["spec"] for d in docs[1:]}
        assert set(kustomizations) == {"shipyard-prod", "shipyard-prod-fleet"}
        spec = kustomizations["shipyard-prod"]
        assert (spec["prune"], spec["wait"], spec["path"]) == (True, True, f"{base}/capabilities")
        assert kustomizations["shipyard-prod-fleet"]["path"] == f"{base}/fleet"
        assert spec["dependsOn"] == [{"name": "shipyard-prod-fleet"}]
        assert spec["sourceRef"] == {"kind": kind, "name": "shipyard"}
    assert docs[0]["spec"]["ref"] == {"tag": "prod-prod-eu"}  # what the recipe pushes


def test_a_multi_cluster_environment_needs_a_cluster_and_oci_needs_oci_urls() -> None:
    code, _, err = _flux(str(DEMO), "--env", "prod", "--url", "https://git.example/f.git")
    assert code == 1 and "prod runs in 2 clusters (prod-eu, prod-us)" in err and "--cluster" in err
    code, _, err = _flux(str(DEMO), "--env", "dev", "--source", "oci", "--url", "https://ghcr.io/x")
    assert code == 1 and "--url: an OCI source needs an oci:// URL" in err


def test_the_ci_recipe_lays_out_every_path_the_kustomizations_name(tmp_path: Path) -> None:
    """README's Flux recipe: render --all-envs, then the Flux objects of each cluster; every
    Kustomization path must exist in what git holds (git) or in the artifact pushed from the leaf (oci)."""
    repo = tmp_path / "repo"
    shutil.copytree(DEMO, repo / "fleet")
    run = CliRunner().invoke(
        main, ["render", str(repo / "fleet"), "--all-envs", "--output-dir", str(repo / "rendered")]
    )
    assert run.exit_code == 0, run.stderr
    leaves = {("dev", None), ("staging", None), ("prod", "prod-eu"), ("prod", "prod-us")}
    for env, cluster in sorted(leaves, key=str):
        leaf = repo / "rendered" / env / (cluster or "")
        assert (
            leaf / "fleet" / "_cluster" / f"namespace_shipyard-{env}.yaml"
        ).is_file()  # kustomize-controller creates none
        flags = ["--cluster", cluster] if cluster else []
        for source, url, root in (("git", "https://git.example/f.git", repo), ("oci", "oci://r.example/f", leaf)):
            code, docs, err = _flux(str(repo / "fleet"), "--env", env, *flags, "--source", source, "--url", url)
            assert code == 0, err
            for ks in (d for d in docs if d["kind"] == "Kustomization"):
                path = root / ks["spec"]["path"]
                assert path.is_dir() and any(path.rglob("*.yaml")), f"{source} {env}/{cluster}: {ks['spec']['path']}"
    check = CliRunner().invoke(main, ["render", str(repo / "fleet"), "--all-envs", "--check", str(repo / "rendered")])
    assert check.exit_code == 0, check.stderr


def test_generated_files_can_be_checked(tmp_path: Path) -> None:
    args = [str(DEMO), "--env", "dev", "--url", "https://git.example/f.git"]
    target = tmp_path / "flux.yaml"
    target.write_text(CliRunner().invoke(main, ["flux", *args]).stdout)
    assert CliRunner().invoke(main, ["flux", *args, "--check", str(target)]).exit_code == 0
    stale = CliRunner().invoke(main, ["flux", *args[:-1], "https://git.example/other.git", "--check", str(target)])
    assert stale.exit_code == 1 and "is stale; regenerate it" in stale.stderr


def test_rollouts_get_health_checks_flux_can_evaluate() -> None:
    _, docs, _ = _flux(
        str(FIXTURES / "valid" / "routing-istio"), "--env", "prod", "--cluster", "prod-eu", "--url", "https://g/f"
    )
    spec = next(d["spec"] for d in docs if d["metadata"]["name"] == "harbor-prod")
    assert spec["wait"] is True
    (check,) = spec["healthCheckExprs"]
    assert (check["apiVersion"], check["kind"]) == ("argoproj.io/v1alpha1", "Rollout")
    assert "string(metadata.generation)" in check["inProgress"]  # Rollout's observedGeneration is a string


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
    args = ["flux", str(fleet), "--env", env, "--cluster", f"{env}-eu", "--url", "https://git.example/f.git"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    for doc in docs:
        validate_object(doc)
    return {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Kustomization"}


@pytest.mark.parametrize(
    ("case", "kinds"),
    [("routing-istio", {"VirtualService", "HTTPRoute"}), ("routing-consul", {"ServiceSplitter", "ServiceResolver"})],
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
    if case == "routing-istio":  # the VirtualService's three port routes, and the public route
        weights = [f"/spec/http/{i}/route/{j}/weight" for i in range(3) for j in range(2)]
        assert rules == [
            {
                "paths": weights,
                "target": {"group": "networking.istio.io", "kind": "VirtualService", "name": "^shipyard$"},
            },
            {
                "paths": ["/spec/rules/0/backendRefs/0/weight", "/spec/rules/0/backendRefs/1/weight"],
                "target": {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "^shipyard$"},
            },
        ]


def test_flux_without_canaries_needs_no_ignore_rules() -> None:
    result = CliRunner().invoke(
        main, ["flux", str(FIXTURES / "valid" / "minimal"), "--url", "https://git.example/f.git"]
    )
    assert result.exit_code == 0, result.stderr
    kustomizations = [d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Kustomization"]
    assert kustomizations and all("ignore" not in d["spec"] for d in kustomizations)
