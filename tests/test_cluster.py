"""apply / diff --live / status / logs hand the rendered objects to kubectl (a recording stand-in
here: no cluster was tried). The stand-in records argv, stdin and KUBECTL_APPLYSET, and answers
`get -o json` with what the test puts in `reply.json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main
from skipper_render.workflows.cluster import applyset_id

DEMO = FIXTURES / "valid" / "demo"
PRUNE_ENV = "KUBECTL_APPLYSET"


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    """A kubectl stand-in that records its argv and stdin, prints reply.json for `get`, exits with exit.txt."""
    script = tmp_path / "kubectl"
    record = tmp_path / "calls.jsonl"
    script.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        "data = sys.stdin.read() if '-f' in sys.argv else ''\n"
        f"open({str(record)!r}, 'a').write(json.dumps("
        f"{{'argv': sys.argv[1:], 'stdin': data, 'applyset': os.environ.get({PRUNE_ENV!r})}}) + '\\n')\n"
        f"reply = {str(tmp_path / 'reply.json')!r}\n"
        "if 'get' in sys.argv and os.path.exists(reply): sys.stdout.write(open(reply).read())\n"
        f"code = {str(tmp_path / 'exit.txt')!r}\n"
        "sys.exit(int(open(code).read()) if os.path.exists(code) else 0)\n"
    )
    script.chmod(0o755)
    return script


def _calls(kubectl: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (kubectl.parent / "calls.jsonl").read_text().splitlines()]


def _docs(stream: object) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(str(stream)) if d]


def _render(*args: str) -> str:
    return CliRunner().invoke(main, ["render", str(DEMO), *args]).stdout


def test_apply_sends_the_namespace_first_then_exactly_the_rest(kubectl: Path) -> None:
    args = ["apply", str(DEMO), "--env", "prod", "--cluster", "prod-eu", "--dry-run", "--kubectl", str(kubectl)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    first, second = _calls(kubectl)
    expected = ["--context", "prod-eu", "apply", "--server-side", "--field-manager=skipper-render", "-f", "-"]
    assert first["argv"] == second["argv"] == [*expected, "--dry-run=server"]
    assert [d["kind"] for d in _docs(first["stdin"])] == ["Namespace"]
    rendered = _docs(_render("--env", "prod", "--cluster", "prod-eu"))
    assert _docs(first["stdin"]) + _docs(second["stdin"]) == rendered  # all of it, in render order
    assert first["applyset"] is None and second["applyset"] is None  # no pruning without --prune


def test_apply_prune_is_a_kubectl_applyset_without_the_namespace(kubectl: Path) -> None:
    args = ["apply", str(DEMO), "--env", "dev", "--prune", "--kubectl", str(kubectl)]
    assert CliRunner().invoke(main, args).exit_code == 0
    namespace, members = _calls(kubectl)
    assert "--prune" not in namespace["argv"]  # the namespace is never a member: never pruned
    assert members["argv"] == [
        "apply",
        "--server-side",
        "--field-manager=skipper-render",
        "--prune",
        "--applyset=configmap/shipyard-skipper-applyset",
        "-n",
        "shipyard-dev",
        "-f",
        "-",
    ]
    assert members["applyset"] == "true"  # kubectl refuses --applyset without it
    kinds = [d["kind"] for d in _docs(members["stdin"])]
    assert "Namespace" not in kinds and "Deployment" in kinds
    for doc in _docs(members["stdin"]):  # kubectl adds the membership label itself, and refuses it in input
        assert "applyset.kubernetes.io/part-of" not in (doc["metadata"].get("labels") or {})  # type: ignore[union-attr]


def test_a_failing_namespace_apply_stops_before_the_rest(kubectl: Path) -> None:
    (kubectl.parent / "exit.txt").write_text("1")
    result = CliRunner().invoke(main, ["apply", str(DEMO), "--env", "dev", "--prune", "--kubectl", str(kubectl)])
    assert result.exit_code == 1
    assert len(_calls(kubectl)) == 1


def test_applyset_id_is_kubectls() -> None:
    # kubectl's own test vector (staging/src/k8s.io/kubectl/pkg/cmd/apply/applyset_test.go)
    assert (
        applyset_id("test-foo", "test-ns", "Foo", "foo.bar")
        == "applyset-f9Rk5tKHoB72oV1tU2iFKxDwL8MBZTjMHFQ8V9WNNlA-v1"
    )


def test_diff_live_passes_kubectls_exit_code(kubectl: Path) -> None:
    (kubectl.parent / "exit.txt").write_text("1")
    args = ["diff", str(DEMO), "--env", "dev", "--live", "--kubectl", str(kubectl)]
    assert CliRunner().invoke(main, args).exit_code == 1  # kubectl diff: 1 = differences
    (kubectl.parent / "exit.txt").write_text("0")
    assert CliRunner().invoke(main, args).exit_code == 0
    call = _calls(kubectl)[0]
    assert call["argv"] == ["diff", "--server-side", "--field-manager=skipper-render", "-f", "-"]
    assert _docs(call["stdin"]) == _docs(_render("--env", "dev"))


def test_diff_live_prune_labels_members_as_kubectl_apply_did(kubectl: Path) -> None:
    args = ["diff", str(DEMO), "--env", "dev", "--live", "--prune", "--kubectl", str(kubectl)]
    assert CliRunner().invoke(main, args).exit_code == 0
    label = applyset_id("shipyard-skipper-applyset", "shipyard-dev")
    for doc in _docs(_calls(kubectl)[0]["stdin"]):
        labels = doc["metadata"]["labels"]  # type: ignore[index]
        assert ("applyset.kubernetes.io/part-of" in labels) == (doc["kind"] != "Namespace")
        if doc["kind"] != "Namespace":
            assert labels["applyset.kubernetes.io/part-of"] == label


def test_diff_live_excludes_other_comparisons() -> None:
    result = CliRunner().invoke(main, ["diff", str(DEMO), "--env", "dev", "--live", "--against", "HEAD"])
    assert result.exit_code == 2
    assert CliRunner().invoke(main, ["diff", str(DEMO), "--env", "dev", "--env-b", "prod", "--prune"]).exit_code == 2


def test_status_reads_deployments_rollouts_hpas_and_pdbs(kubectl: Path) -> None:
    reply = {
        "items": [
            {
                "kind": "Deployment",
                "metadata": {"name": "shipyard"},
                "spec": {"replicas": 3},
                "status": {"readyReplicas": 3, "updatedReplicas": 3},
            },
            {
                "kind": "Rollout",
                "metadata": {"name": "oauth-tools"},
                "spec": {"replicas": 2, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {}]}}},
                "status": {
                    "phase": "Paused",
                    "currentStepIndex": 1,
                    "readyReplicas": 2,
                    "replicas": 2,
                    "canary": {"weights": {"canary": {"weight": 20}, "stable": {"weight": 80}}},
                    "message": "CanaryPauseStep",
                },
            },
            {
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "shipyard"},
                "spec": {"minReplicas": 2, "maxReplicas": 6},
                "status": {"currentReplicas": 3},
            },
        ]
    }
    (kubectl.parent / "reply.json").write_text(json.dumps(reply))
    base = ["status", str(DEMO), "--env", "prod", "--cluster", "prod-eu", "--kubectl", str(kubectl)]
    result = CliRunner().invoke(main, [*base, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert rows[("Rollout", "oauth-tools")] == {
        "kind": "Rollout",
        "name": "oauth-tools",
        "ready": "2/2",
        "status": "Paused",
        "detail": "step 1/3, canary weight 20%: CanaryPauseStep",
    }
    assert rows[("Deployment", "shipyard")]["status"] == "Available"
    assert rows[("HorizontalPodAutoscaler", "shipyard")]["detail"] == "min 2, max 6"
    assert rows[("Deployment", "teams")]["status"] == "Missing"  # rendered, not in the cluster
    assert rows[("PodDisruptionBudget", "shipyard")]["status"] == "Missing"
    get = _calls(kubectl)[0]["argv"]
    assert get[:4] == [
        "--context",
        "prod-eu",
        "get",
        "deployments.apps,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,rollouts.argoproj.io",
    ]
    assert get[-2:] == ["-o", "json"]
    assert "app.kubernetes.io/part-of=shipyard,naftiko.io/environment=prod" in get
    table = CliRunner().invoke(main, base).stdout
    assert table.splitlines()[0].split() == ["KIND", "NAME", "READY", "STATUS", "DETAIL"]
    assert "Rollout" in table and "step 1/3, canary weight 20%" in table


def test_status_asks_only_for_rendered_kinds(kubectl: Path) -> None:
    minimal = str(FIXTURES / "valid" / "minimal")
    assert CliRunner().invoke(main, ["status", minimal, "--kubectl", str(kubectl)]).exit_code == 0
    assert _calls(kubectl)[0]["argv"][1].startswith("deployments.apps,")  # type: ignore[index]
    assert "rollouts" not in _calls(kubectl)[0]["argv"][1]  # type: ignore[operator] # no Rollout: no CRD needed


def test_logs_select_by_labels_with_since(kubectl: Path) -> None:
    base = ["logs", "ping", "-C", str(DEMO), "--env", "dev", "--kubectl", str(kubectl)]
    assert CliRunner().invoke(main, base).exit_code == 0
    assert CliRunner().invoke(main, [*base, "--since", "1h30m", "-f"]).exit_code == 0
    tail, since = _calls(kubectl)
    assert tail["argv"][:5] == ["logs", "-n", "shipyard-dev", "-l", "naftiko.io/capability=ping"]
    assert "--tail=200" in tail["argv"] and "--follow" not in tail["argv"]
    assert "--since=1h30m" in since["argv"] and "--tail=200" not in since["argv"] and "--follow" in since["argv"]
    result = CliRunner().invoke(main, [*base, "--since", "yesterday"])
    assert result.exit_code == 1 and "'yesterday' is not a duration" in result.stderr


def test_unknown_capability_and_missing_kubectl(kubectl: Path) -> None:
    result = CliRunner().invoke(main, ["logs", "nope", "-C", str(DEMO), "--env", "dev", "--kubectl", str(kubectl)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "unknown capability 'nope'" in result.stderr
    result = CliRunner().invoke(main, ["status", str(DEMO), "--env", "dev", "--kubectl", "/nonexistent/kubectl"])
    assert result.exit_code == 1
    assert "not found: the cluster commands need kubectl" in result.stderr


def test_prune_in_a_multi_cluster_environment_needs_the_cluster(kubectl: Path) -> None:
    result = CliRunner().invoke(main, ["apply", str(DEMO), "--env", "prod", "--prune", "--kubectl", str(kubectl)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "--prune needs --cluster" in result.stderr
    assert not (kubectl.parent / "calls.jsonl").exists()  # kubectl never ran
