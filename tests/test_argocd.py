"""The Argo CD CMP contract, exercised as the sidecar runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURES, ROOT, line_of, served_apis, validate_object

from skipper_plugin.argocd import find_manifest, request_from_environ, settings_from_environ
from skipper_render import SkipperError, render

DEMO = FIXTURES / "valid" / "demo"
ENVIRONMENTS_LINE = line_of(DEMO / "naftiko.fleet.yaml", "  environments:")
UNKNOWN_QA_PLUGIN = "unknown environment 'qa' given by ARGOCD_ENV_SKIPPER_ENV (known: dev, prod, staging)"
BIN = Path(sys.executable).parent


def _argocd_env(**extra: str) -> dict[str, str]:
    """Only what the repo-server passes: the sidecar's PATH/HOME, build env, ARGOCD_ENV_*, PARAM_*."""
    env = {"PATH": os.environ["PATH"], "HOME": "/home/argocd"}
    env |= {"ARGOCD_APP_NAME": "shipyard-dev", "ARGOCD_APP_NAMESPACE": "shipyard-dev", "ARGOCD_APP_REVISION": "abc1234"}
    env |= {"KUBE_VERSION": "1.33.1"}
    return env | extra


def _generate(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(BIN / "skipper"), "argocd", "generate"], cwd=cwd, env=env, capture_output=True, check=False
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A streamed repo as the CMP sees it: the fleet lives in fleets/shipyard."""
    shutil.copytree(DEMO, tmp_path / "repo" / "fleets" / "shipyard")
    return tmp_path / "repo"


def test_application_names_never_change_when_clusters_come_and_go(tmp_path: Path) -> None:
    """Adding a cluster to an environment must not rename (so cascade-delete) the running apps."""

    def apps(fleet: Path) -> set[str]:
        out = subprocess.run(
            [str(BIN / "skipper"), "argocd", "appset", str(fleet), "--env", "staging", "--repo", "https://g/f.git"],
            capture_output=True,
            check=True,
        ).stdout
        return {e["app"] for e in yaml.safe_load(out)["spec"]["generators"][0]["list"]["elements"]}

    fleet = shutil.copytree(DEMO, tmp_path / "fleet")
    before = apps(fleet)
    assert "shipyard-staging-in-cluster-shipyard" in before
    overlay = fleet / "environments" / "staging.yaml"
    clusters = "  clusters:\n    - {name: in-cluster}\n    - {name: staging-us, region: us-east-1, role: standby}\n"
    overlay.write_text(overlay.read_text().replace("spec:\n", "spec:\n" + clusters, 1))
    after = apps(fleet)
    assert before <= after and any(a.startswith("shipyard-staging-staging-us-") for a in after)


def test_generate_matches_skipper_render_byte_for_byte(repo: Path) -> None:
    app = repo / "fleets" / "shipyard"
    env = _argocd_env(
        ARGOCD_APP_SOURCE_PATH="fleets/shipyard", ARGOCD_ENV_SKIPPER_ENV="prod", ARGOCD_ENV_SKIPPER_CLUSTER="prod-eu"
    )
    generated = _generate(app, env)
    assert generated.returncode == 0, generated.stderr
    rendered = subprocess.run(
        [str(BIN / "skipper"), "render", str(DEMO), "--env", "prod", "--cluster", "prod-eu"],
        capture_output=True,
        check=True,
    )
    assert generated.stdout == rendered.stdout


def test_generate_finds_the_manifest_above_the_app_path(repo: Path) -> None:
    sub = repo / "fleets" / "shipyard" / "capabilities"
    env = _argocd_env(
        ARGOCD_APP_SOURCE_PATH="fleets/shipyard/capabilities",
        ARGOCD_APP_PARAMETERS='[{"name": "environment", "string": "dev"}]',
        PARAM_ENVIRONMENT="dev",
        ARGOCD_ENV_SKIPPER_ENV="prod",
        ARGOCD_ENV_SKIPPER_CAPABILITY="ping",
    )
    generated = _generate(sub, env)
    assert generated.returncode == 0, generated.stderr
    docs = list(yaml.safe_load_all(generated.stdout))
    assert {d["metadata"]["namespace"] for d in docs} == {"shipyard-dev"}  # the parameter won over the env var
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"} == {"ping"}


def test_generate_never_looks_above_the_repository(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "naftiko.fleet.yaml").write_text("not: a fleet\n")  # outside the streamed repo
    empty = repo / "other"
    empty.mkdir()
    generated = _generate(empty, _argocd_env(ARGOCD_APP_SOURCE_PATH="other", ARGOCD_ENV_SKIPPER_ENV="dev"))
    assert (generated.returncode, generated.stdout) == (1, b"")
    assert b"no naftiko.fleet.yaml in the app path or above it in the files Argo CD sent" in generated.stderr


def test_errors_are_short_exit_nonzero_and_print_nothing(repo: Path) -> None:
    app = repo / "fleets" / "shipyard"
    generated = _generate(app, _argocd_env(ARGOCD_APP_SOURCE_PATH="fleets/shipyard", ARGOCD_ENV_SKIPPER_ENV="qa"))
    assert (generated.returncode, generated.stdout) == (1, b"")
    assert generated.stderr.decode().splitlines() == [
        f"naftiko.fleet.yaml:{ENVIRONMENTS_LINE}:3: spec.environments: {UNKNOWN_QA_PLUGIN}",
        "skipper: 1 error",
    ]


def test_empty_output_is_never_success(tmp_path: Path) -> None:
    fleet = shutil.copytree(FIXTURES / "invalid" / "all-absent", tmp_path / "app")
    generated = _generate(fleet, _argocd_env(ARGOCD_APP_SOURCE_PATH="."))
    assert (generated.returncode, generated.stdout) == (1, b"")


def test_kube_api_versions_gate_service_monitors(repo: Path) -> None:
    app = repo / "fleets" / "shipyard"
    base = _argocd_env(ARGOCD_APP_SOURCE_PATH="fleets/shipyard", ARGOCD_ENV_SKIPPER_ENV="dev")
    objects = list(render(DEMO, "dev").objects)
    served = _generate(app, base | {"KUBE_API_VERSIONS": served_apis(objects)})
    assert b"kind: ServiceMonitor" in served.stdout
    without = _generate(app, base | {"KUBE_API_VERSIONS": served_apis(objects, drop=("ServiceMonitor",))})
    assert without.returncode == 0 and b"kind: ServiceMonitor" not in without.stdout
    assert b"does not serve monitoring.coreos.com/v1/ServiceMonitor: none is rendered" in without.stderr
    # a kind a feature needs is never dropped silently: an error names the API and the field
    refused = _generate(app, base | {"KUBE_API_VERSIONS": served_apis(objects, drop=("Rollout",))})
    assert (refused.returncode, refused.stdout) == (1, b"")
    assert (
        b"capabilities.oauth-tools.rollout: the cluster does not serve argoproj.io/v1alpha1/Rollout" in refused.stderr
    )


def test_settings_precedence_and_empty_values() -> None:
    environ = {
        "ARGOCD_ENV_SKIPPER_ENV": "prod",
        "ARGOCD_APP_PARAMETERS": '[{"name": "environment", "string": ""}, {"name": "target", "string": "operator"}]',
        "PARAM_ENVIRONMENT": "ignored: only the JSON is read",
        "ARGOCD_ENV_SKIPPER_CAPABILITY": "",
        "ARGOCD_ENV_SKIPPER_TARGET": "kubernetes",
    }
    settings, origin = settings_from_environ(environ)
    assert settings == {"env": "prod", "target": "operator"}
    assert (origin["env"], origin["target"]) == ("ARGOCD_ENV_SKIPPER_ENV", "parameter target")
    request = request_from_environ(environ | {"ARGOCD_APP_SOURCE_PATH": "."}, DEMO)
    assert (request.env, request.target, request.capability) == ("prod", "operator", None)


def test_worker_processes_are_the_sidecar_s_setting() -> None:
    """SKIPPER_JOBS is the sidecar container's own variable (not an Application's): unset, one
    worker per CPU the container may use."""
    base = {"ARGOCD_ENV_SKIPPER_ENV": "prod", "ARGOCD_APP_SOURCE_PATH": "."}
    assert request_from_environ(base, DEMO).jobs == 0
    assert request_from_environ(base | {"SKIPPER_JOBS": "1"}, DEMO).jobs == 1
    with pytest.raises(SkipperError, match="SKIPPER_JOBS must be a whole number"):
        request_from_environ(base | {"SKIPPER_JOBS": "all"}, DEMO)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ('[{"name": "enviroment", "string": "dev"}]', "unknown parameter 'enviroment' (known: capability, cluster,"),
        ('[{"name": "cluster", "array": ["a"]}]', "parameter 'cluster' takes a string, not a list or a map"),
        ('[{"name": "part", "map": {"a": "b"}}]', "parameter 'part' takes a string, not a list or a map"),
        ("{not json", "ARGOCD_APP_PARAMETERS: is not the JSON array Argo CD sends"),
    ],
)
def test_bad_parameters_are_refused(parameters: str, message: str) -> None:
    with pytest.raises(SkipperError, match=re.escape(message)):
        request_from_environ({"ARGOCD_APP_PARAMETERS": parameters, "ARGOCD_APP_SOURCE_PATH": "."}, DEMO)


def test_manifest_search_stays_in_the_streamed_tree(tmp_path: Path) -> None:
    """With manifest-generate-paths streaming, cwd is the top of what was sent: never climb above it;
    a source path deeper than the tree does not break the search."""
    streamed = tmp_path / "_cmp_server" / "uuid"
    shutil.copytree(DEMO, streamed)
    (tmp_path / "_cmp_server" / "naftiko.fleet.yaml").write_text("planted: above the streamed tree\n")
    assert find_manifest(streamed, "fleets/shipyard") == streamed
    app = streamed / "capabilities"
    assert find_manifest(app, "a/b/c/d/e/f/capabilities") == streamed
    other = tmp_path / "_cmp_server" / "uuid2" / "app"
    other.mkdir(parents=True)
    with pytest.raises(SkipperError, match=r"no naftiko\.fleet\.yaml"):
        find_manifest(other, "app")  # the planted manifest one level above the tree is never read


def test_plugin_yaml_follows_the_cmp_contract() -> None:
    plugin = yaml.safe_load((ROOT / "argocd" / "plugin.yaml").read_text())
    assert (plugin["apiVersion"], plugin["kind"]) == ("argoproj.io/v1alpha1", "ConfigManagementPlugin")
    assert f"{plugin['metadata']['name']}-{plugin['spec']['version']}" == "skipper-render-v1"
    assert "discover" not in plugin["spec"]
    command = plugin["spec"]["generate"]["command"]
    assert shutil.which(command[0], path=str(BIN)) is not None
    names = {p["name"] for p in plugin["spec"]["parameters"]["static"]}
    assert names == {"environment", "cluster", "target", "capability", "part"}


def test_sidecar_patch_applies_to_a_repo_server(tmp_path: Path) -> None:
    """kubectl kustomize applies the patch to a stand-in repo-server (the real base needs network)."""
    base = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "argocd-repo-server"},
        "spec": {
            "selector": {"matchLabels": {"app": "r"}},
            "template": {
                "metadata": {"labels": {"app": "r"}},
                "spec": {"containers": [{"name": "argocd-repo-server", "image": "quay.io/argoproj/argocd"}]},
            },
        },
    }
    params = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cmd-params-cm"}}
    (tmp_path / "repo-server.yaml").write_text(yaml.safe_dump_all([base, params]))
    for name in ("repo-server-patch.yaml", "plugin.yaml", "namespace.yaml", "argocd-cmd-params.yaml"):
        shutil.copy(ROOT / "argocd" / name, tmp_path)
    kustomization = yaml.safe_load((ROOT / "argocd" / "kustomization.yaml").read_text())
    assert (
        "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml" in kustomization["resources"]
    )
    kustomization["resources"] = ["namespace.yaml", "repo-server.yaml"]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, check=True).stdout
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(built)}
    assert docs[("Namespace", "argocd")]
    plugin = yaml.safe_load(docs[("ConfigMap", "skipper-render-plugin")]["data"]["plugin.yaml"])
    assert plugin["metadata"]["name"] == "skipper-render"
    settings = docs[("ConfigMap", "argocd-cmd-params-cm")]["data"]
    assert settings["applicationsetcontroller.enable.progressive.syncs"] == "true"
    pod = docs[("Deployment", "argocd-repo-server")]["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "skipper-render")
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    mounts = {m["mountPath"]: m["name"] for m in sidecar["volumeMounts"]}
    assert mounts["/tmp"] == "skipper-render-tmp"
    assert {"/var/run/argocd", "/home/argocd/cmp-server/plugins"} <= set(mounts)
    assert {"name": "skipper-render-tmp", "emptyDir": {}} in pod["volumes"]
    for doc in docs.values():
        validate_object(doc)


def test_the_example_applicationset_is_what_the_command_prints() -> None:
    """argocd/examples/applicationset.yaml names the command that made it; it must not go stale."""
    example = (ROOT / "argocd" / "examples" / "applicationset.yaml").read_text()
    command = example.splitlines()[1].removeprefix("#   skipper ").split()
    assert command[:2] == ["argocd", "appset"]
    out = subprocess.run([str(BIN / "skipper"), *command], capture_output=True, check=True, cwd=ROOT).stdout
    assert example.split("\n", 2)[2] == out.decode()


def test_examples_and_appset_validate_against_the_argo_schemas() -> None:
    for path in sorted((ROOT / "argocd" / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            validate_object(doc)
    out = subprocess.run(
        [str(BIN / "skipper"), "argocd", "appset", str(DEMO), "--env", "prod", "--repo", "https://git.example/f.git"],
        capture_output=True,
        check=True,
    ).stdout
    appset = yaml.safe_load(out)
    validate_object(appset)
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    capabilities = ("oauth-tools", "shipyard", "teams", "telemetry", "")  # "": the fleet part (Namespace, rules)
    assert {(e["capability"], e["cluster"]) for e in elements} == {
        (cap, cluster) for cap in capabilities for cluster in ("prod-eu", "prod-us")
    }
    assert {e["app"] for e in elements if e["cluster"] == "prod-eu"} == {
        f"shipyard-prod-prod-eu-{c or 'fleet'}" for c in capabilities
    }
    # RollingSync: per cluster in order, the fleet part before the capabilities; only In operators
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    order = [{e["key"]: e["values"][0] for e in s["matchExpressions"]} for s in steps]
    assert order == [
        {"naftiko.io/cluster": c, "naftiko.io/part": p}
        for c in ("prod-eu", "prod-us")
        for p in ("fleet", "capabilities")
    ]
    assert {e["operator"] for s in steps for e in s["matchExpressions"]} == {"In"}
    labels = appset["spec"]["template"]["metadata"]["labels"]
    assert (labels["naftiko.io/cluster"], labels["naftiko.io/part"]) == ("{{.destination}}", "{{.part}}")
    assert appset["spec"]["template"]["spec"]["source"]["plugin"]["name"] == "skipper-render-v1"
    shipyard = next(e for e in elements if e["capability"] == "shipyard")
    assert shipyard["paths"] == "capabilities/shipyard;environments/prod.yaml;naftiko.fleet.yaml"
    ignored = {d["kind"] for d in appset["spec"]["template"]["spec"]["ignoreDifferences"]}
    assert {"VirtualService", "HTTPRoute"} <= ignored
