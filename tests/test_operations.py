"""Operations (SPEC 2.7, 2.8): hot reload where safe, the blast radius in diffs, failover in git
and on every route, and replay of a revision."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main
from skipper_render import RenderRequest, RenderResult, render
from skipper_render.errors import Location, ValidationError
from skipper_render.workflows import effects, failover, review

SECURE = FIXTURES / "valid" / "secure"
DEMO = FIXTURES / "valid" / "demo"
LINKERD = FIXTURES / "valid" / "routing-linkerd"
WORKLOADS = {"Deployment", "Rollout"}


def _templates(path: Path, env: str, cluster: str | None = None) -> dict[str, Any]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]
        for o in render(path, env, cluster=cluster).objects
        if o["kind"] in WORKLOADS
    }


def _radius(before: Path, after: Path, env: str) -> dict[str, effects.Effect]:
    old = review.keyed(render(before, env).yaml_documents())
    new = review.keyed(render(after, env).yaml_documents())
    found, _ = effects.effects(old, new, review.compare(old, new, "a", "b"))
    return {e.unit: e for e in found}


@pytest.fixture
def secure(tmp_path: Path) -> tuple[Path, Path]:
    """(the fixture as it is, a copy to change)."""
    shutil.copytree(SECURE, tmp_path / "fleet")
    return SECURE, tmp_path / "fleet"


def test_a_spec_change_rolls_that_capability_only(secure: tuple[Path, Path]) -> None:
    before, after = secure
    spec = after / "capabilities" / "ping" / "ping.ikanos.yml"
    spec.write_text(spec.read_text() + "# a comment is a change of the file the engine reads\n")
    old, new = _templates(before, "prod"), _templates(after, "prod")
    assert {name for name in old if old[name] != new[name]} == {"ping"}
    radius = _radius(before, after, "prod")
    assert radius["ping"].effect == "restart"
    assert radius["ping"].reasons == ("spec changed",)
    assert all(e.effect != "restart" for unit, e in radius.items() if unit != "ping")


def test_a_tool_added_changes_no_other_pod_template_and_not_the_gateways(secure: tuple[Path, Path]) -> None:
    before, after = secure
    spec = after / "capabilities" / "shipyard" / "shipyard.ikanos.yml"
    text = spec.read_text()
    assert "    tools:\n" in text
    spec.write_text(text.replace("    tools:\n", '    tools:\n      say-hello:\n        description: "Say hello"\n', 1))
    old, new = _templates(before, "prod"), _templates(after, "prod")
    assert {name for name in old if old[name] != new[name]} == {"shipyard"}  # its own engine reads the spec
    gateway = "vault-fleet-mcp-gateway"
    configs = {
        o["metadata"]["name"]: o for p in (before, after) for o in render(p, "prod").objects if o["kind"] == "ConfigMap"
    }
    assert gateway in configs
    old_config = next(
        o for o in render(before, "prod").objects if o["metadata"]["name"] == gateway and o["kind"] == "ConfigMap"
    )
    new_config = next(
        o for o in render(after, "prod").objects if o["metadata"]["name"] == gateway and o["kind"] == "ConfigMap"
    )
    assert old_config != new_config and "say-hello" in yaml.safe_dump(new_config)  # the allow-list has the tool
    radius = _radius(before, after, "prod")
    assert str(radius["mcp-gateway"]) == "in place (config re-read by agentgateway)"
    assert radius["shipyard"].effect == "restart"


def test_the_gateway_reads_its_config_from_a_watched_directory() -> None:
    gateway = next(
        o for o in render(SECURE, "prod").objects if o["kind"] == "Deployment" and "gateway" in o["metadata"]["name"]
    )
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert "subPath" not in mounts["config"]  # kubelet never updates a subPath mount


def test_a_policy_change_rolls_nothing(secure: tuple[Path, Path]) -> None:
    before, after = secure
    policy = after / "policies" / "shipyard" / "voyages.rego"
    policy.write_text(policy.read_text() + "\n# stricter tomorrow\n")
    assert render(before, "prod").to_yaml() == render(after, "prod").to_yaml()  # bundles are polled by OPA


def test_diff_states_the_blast_radius_in_both_formats(secure: tuple[Path, Path]) -> None:
    before, after = secure
    spec = after / "capabilities" / "ping" / "ping.ikanos.yml"
    spec.write_text(spec.read_text() + "# changed\n")
    rendered = after.parent / "rendered"
    assert (
        CliRunner().invoke(main, ["render", str(before), "--env", "prod", "--output-dir", str(rendered)]).exit_code == 0
    )
    unified = CliRunner().invoke(main, ["diff", str(after), "--env", "prod", "--against", str(rendered)])
    assert unified.exit_code == 0, unified.stderr
    head = unified.stdout.split("\n---", 1)[0].splitlines()
    assert head[0] == "# blast radius: what restarts and what changes in place"
    assert any(line.split() == ["#", "ping", "restart", "(spec", "changed)"] for line in head)
    markdown = (
        CliRunner()
        .invoke(main, ["diff", str(after), "--env", "prod", "--against", str(rendered), "--format", "markdown"])
        .stdout
    )
    assert "| `ping` | **restart** | spec changed |" in markdown
    assert "| `secure-prod/deployment.apps_ping` | changed | restart: spec changed |" in markdown
    assert "| `secure-prod/configmap_ping-spec` | changed | in place; a process reads it at start" in markdown


def _write_fleet(root: Path, overlay: str) -> Path:
    shutil.copytree(DEMO, root / "fleet")
    (root / "fleet" / "environments" / "prod.yaml").write_text(overlay)
    return root / "fleet"


OVERLAY = """\
apiVersion: fleet.naftiko.io/v1alpha1
kind: Environment
metadata:
  name: prod
spec:
  namespace: shipyard-prod
  clusters:   # eu serves; us is warm
    - name: prod-eu
      region: eu-west-1
      role: "primary"    # quoted on purpose
    - {name: prod-us, region: us-east-1, role: standby}
"""


def test_failover_changes_only_the_role_values(tmp_path: Path) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    result = CliRunner().invoke(main, ["failover", str(fleet), "--env", "prod", "--to", "prod-us"])
    assert result.exit_code == 0, result.stderr
    after = (fleet / "environments" / "prod.yaml").read_text()
    assert after == OVERLAY.replace('role: "primary"', 'role: "standby"').replace("role: standby}", "role: primary}")
    assert "prod-us is the primary of prod" in result.stderr
    # every cluster's diff, and its blast radius: standby sizing and DNS records move, nothing restarts
    assert "--- prod-before/prod-eu/shipyard-prod/horizontalpodautoscaler.autoscaling_shipyard" in result.stdout
    assert "--- prod-before/prod-us/shipyard-prod/horizontalpodautoscaler.autoscaling_shipyard" in result.stdout
    assert "-    external-dns.alpha.kubernetes.io/aws-failover: PRIMARY" in result.stdout
    radius = result.stdout.split("\n---", 1)[0].splitlines()[1:]
    assert radius and all(line.split()[2:4] == ["in", "place"] for line in radius)
    again = CliRunner().invoke(main, ["failover", str(fleet), "--env", "prod", "--to", "prod-eu"])
    assert again.exit_code == 0
    assert (fleet / "environments" / "prod.yaml").read_text() == OVERLAY  # and back, byte for byte


def test_failover_adds_a_role_where_none_was_written(tmp_path: Path) -> None:
    overlay = OVERLAY.replace('      role: "primary"    # quoted on purpose\n', "")
    fleet = _write_fleet(tmp_path, overlay)
    result = CliRunner().invoke(main, ["failover", str(fleet), "--env", "prod", "--to", "prod-us"])
    assert result.exit_code == 0, result.stderr
    after = yaml.safe_load((fleet / "environments" / "prod.yaml").read_text())
    assert [c["role"] for c in after["spec"]["clusters"]] == ["standby", "primary"]
    assert "# eu serves; us is warm" in (fleet / "environments" / "prod.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--env", "prod", "--to", "prod-ap"],
            "prod.yaml:7:3: spec.clusters: unknown cluster 'prod-ap' (known: prod-eu, prod-us)",
        ),
        (["--env", "prod", "--to", "prod-eu"], "prod-eu is already the primary: nothing to fail over"),
        (["--env", "dev", "--to", "prod-eu"], "the environment declares no clusters: nothing to fail over"),
        (["--env", "qa", "--to", "prod-eu"], "unknown environment 'qa'"),
    ],
)
def test_failover_refusals_change_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    before = {p: p.read_bytes() for p in fleet.rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["failover", str(fleet), *args])
    assert (result.exit_code, result.stdout) == (1, "")
    assert message in result.stderr
    assert {p: p.read_bytes() for p in fleet.rglob("*") if p.is_file()} == before


def test_failover_demotes_every_other_primary(tmp_path: Path) -> None:
    overlay = OVERLAY.replace(
        "    - {name: prod-us", "    - {name: prod-ap, region: ap-south-1, role: standby}\n    - {name: prod-us"
    )
    fleet = _write_fleet(tmp_path, overlay)
    result = CliRunner().invoke(main, ["failover", str(fleet), "--env", "prod", "--to", "prod-ap"])
    assert result.exit_code == 0, result.stderr
    roles = [c["role"] for c in yaml.safe_load((fleet / "environments" / "prod.yaml").read_text())["spec"]["clusters"]]
    assert roles == ["standby", "primary", "standby"]


def test_failover_that_breaks_the_render_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    real = failover.render_request
    calls = []

    def flaky(request: RenderRequest) -> RenderResult:
        calls.append(request.cluster)
        if len(calls) > 2:  # the renders after the edit fail
            raise ValidationError.at(Location("naftiko.fleet.yaml"), "boom")
        return real(request)

    monkeypatch.setattr(failover, "render_request", flaky)
    with pytest.raises(ValidationError, match="boom"):
        failover.failover(fleet, "prod", "prod-us")
    assert (fleet / "environments" / "prod.yaml").read_text() == OVERLAY
    assert not list((fleet / "environments").glob(".prod.yaml.*"))  # no temporary file left


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_linkerd_failover_exports_the_standby_and_routes_to_its_mirror() -> None:
    primary = render(LINKERD, "prod", cluster="prod-eu").objects
    standby = render(LINKERD, "prod", cluster="prod-us").objects
    for name, service in _by_kind(standby, "Service").items():
        if "gateway" not in name:
            assert service["metadata"]["labels"]["mirror.linkerd.io/exported"] == "true"
    assert all(
        "mirror.linkerd.io/exported" not in s["metadata"]["labels"] for s in _by_kind(primary, "Service").values()
    )
    routes = [r for r in primary if r["kind"] == "HTTPRoute" and r["metadata"]["name"].endswith("-mesh")]
    assert routes
    for route in routes:
        backends = route["spec"]["rules"][0]["backendRefs"]
        local = backends[0]["name"]
        if len(backends) == 2 and backends[1]["name"].endswith("-canary"):
            continue  # Argo Rollouts weights stable and canary; a third backend is not its to move
        assert backends == [
            {"name": local, "port": backends[0]["port"], "weight": 100},
            {"name": f"{local}-prod-us", "port": backends[0]["port"], "weight": 0},
        ]


def test_dns_failover_records_on_public_routes() -> None:
    for cluster, role in (("prod-eu", "PRIMARY"), ("prod-us", "SECONDARY")):
        routes = _by_kind(render(DEMO, "prod", cluster=cluster).objects, "HTTPRoute")
        assert routes
        for route in routes.values():
            notes = route["metadata"]["annotations"]
            assert notes["external-dns.alpha.kubernetes.io/set-identifier"] == cluster
            assert notes["external-dns.alpha.kubernetes.io/aws-failover"] == role
            assert ("external-dns.alpha.kubernetes.io/aws-health-check-id" in notes) == (cluster == "prod-eu")
    stable = _by_kind(render(LINKERD, "prod", cluster="prod-us").objects, "HTTPRoute")
    public = [r for r in stable.values() if r["spec"].get("hostnames")]
    assert public and all(
        r["metadata"]["annotations"]["external-dns.kubernetes.io/aws-failover"] == "SECONDARY" for r in public
    )
    assert all("annotations" not in r["metadata"] for r in _by_kind(render(DEMO, "prod").objects, "HTTPRoute").values())


def _without_dns_settings(fleet: Path, replacement: str = "") -> None:
    manifest = fleet / "naftiko.fleet.yaml"
    text = manifest.read_text()
    start = text.index("      dnsFailover:")
    end = text.index("\n", text.index("healthChecks", start)) + 1
    manifest.write_text(text[:start] + replacement + text[end:])


def test_dns_failover_is_on_by_default_in_a_multi_cluster_environment(tmp_path: Path) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    _without_dns_settings(fleet)
    result = render(fleet, "prod", cluster="prod-us")
    assert not [w for w in result.warnings if "DNS" in str(w) or "dnsFailover" in str(w)]
    for route in _by_kind(result.objects, "HTTPRoute").values():
        notes = route["metadata"]["annotations"]
        assert notes["external-dns.alpha.kubernetes.io/aws-failover"] == "SECONDARY"
        assert "external-dns.alpha.kubernetes.io/aws-health-check-id" not in notes


def test_dns_failover_off_or_impossible_is_said(tmp_path: Path) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    _without_dns_settings(fleet, "      dnsFailover: {enabled: false}\n")
    result = render(fleet, "prod", cluster="prod-eu")
    assert any("dnsFailover.enabled is false: outside traffic does not fail over" in str(w) for w in result.warnings)
    assert all("annotations" not in r["metadata"] for r in _by_kind(result.objects, "HTTPRoute").values())
    two_primaries = OVERLAY.replace("role: standby}", "role: primary}")
    fleet = _write_fleet(tmp_path / "two", two_primaries)
    _without_dns_settings(fleet)
    result = render(fleet, "prod", cluster="prod-eu")  # active-active by default: said, not refused
    assert any("need exactly one primary cluster" in str(w) and "none rendered" in str(w) for w in result.warnings)
    assert all("annotations" not in r["metadata"] for r in _by_kind(result.objects, "HTTPRoute").values())
    fleet = _write_fleet(tmp_path / "explicit", two_primaries)  # asked for: refused
    with pytest.raises(ValidationError, match=r"routing\.ingress\.dnsFailover: DNS failover records need exactly one"):
        render(fleet, "prod", cluster="prod-eu")


def test_replay_renders_a_revision_byte_for_byte(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DEMO, repo / "fleet")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.email=t@e", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "fleet")
    fleet = repo / "fleet"
    assert CliRunner().invoke(main, ["lock", str(fleet), "--env", "prod"]).exit_code == 0  # pins + store entries
    git("add", ".")
    git("commit", "-qm", "lock prod")
    then = {c: render(fleet, "prod", cluster=c).to_yaml() for c in ("prod-eu", "prod-us")}
    # the working tree moves on (uncommitted), the store entries of the pins too
    assert list((fleet / ".skipper" / "store").iterdir())
    shutil.rmtree(fleet / ".skipper" / "store")
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(manifest.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    for cluster, text in then.items():
        replay = CliRunner().invoke(main, ["render", str(fleet), "--env", "prod", "--cluster", cluster, "--at", "HEAD"])
        assert replay.exit_code == 0, replay.stderr
        assert replay.stdout == text


def test_the_operator_target_states_its_restarts(tmp_path: Path) -> None:
    operator = FIXTURES / "valid" / "operator"
    shutil.copytree(operator, tmp_path / "fleet")
    env = sorted(p.stem for p in (tmp_path / "fleet" / "environments").glob("*.yaml"))[0]
    spec = next((tmp_path / "fleet" / "capabilities").rglob("*.y*ml"))
    spec.write_text(spec.read_text() + "# changed\n")
    old = review.keyed(render(operator, env, target="operator").yaml_documents())
    new = review.keyed(render(tmp_path / "fleet", env, target="operator").yaml_documents())
    found, _ = effects.effects(old, new, review.compare(old, new, "a", "b"))
    restarts = [e for e in found if e.effect == "restart"]
    assert restarts and restarts[0].reasons == ("spec changed (the Skipper operator rolls it)",)


def test_failover_never_replaces_a_symlinked_overlay(tmp_path: Path) -> None:
    fleet = _write_fleet(tmp_path, OVERLAY)
    real = fleet / "environments" / "prod-real.yaml"
    (fleet / "environments" / "prod.yaml").rename(real)
    (fleet / "environments" / "prod.yaml").symlink_to("prod-real.yaml")
    result = CliRunner().invoke(main, ["failover", str(fleet), "--env", "prod", "--to", "prod-us"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "the overlay is a symlink" in result.stderr
    assert (fleet / "environments" / "prod.yaml").is_symlink() and real.read_text() == OVERLAY
