"""apply / status / logs hand the rendered objects to kubectl (a recording stand-in here: no cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main

DEMO = FIXTURES / "valid" / "demo"


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    """A kubectl stand-in that records its argv and stdin, and exits 0."""
    script = tmp_path / "kubectl"
    record = tmp_path / "calls.jsonl"
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"data = sys.stdin.read() if '-f' in sys.argv else ''\n"
        f"open({str(record)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'stdin': data}}) + '\\n')\n"
    )
    script.chmod(0o755)
    return script


def _calls(kubectl: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (kubectl.parent / "calls.jsonl").read_text().splitlines()]


def test_apply_sends_exactly_the_render_server_side(kubectl: Path) -> None:
    args = ["apply", str(DEMO), "--env", "prod", "--cluster", "prod-eu", "--dry-run", "--kubectl", str(kubectl)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    call = _calls(kubectl)[0]
    assert call["argv"] == [
        "--context",
        "prod-eu",
        "apply",
        "--server-side",
        "--field-manager=skipper-render",
        "-f",
        "-",
        "--dry-run=server",
    ]
    rendered = CliRunner().invoke(main, ["render", str(DEMO), "--env", "prod", "--cluster", "prod-eu"]).stdout
    assert call["stdin"] == rendered
    assert list(yaml.safe_load_all(str(call["stdin"])))


def test_status_and_logs_select_by_labels(kubectl: Path) -> None:
    assert CliRunner().invoke(main, ["status", str(DEMO), "--env", "dev", "--kubectl", str(kubectl)]).exit_code == 0
    assert (
        CliRunner().invoke(main, ["logs", "ping", "-C", str(DEMO), "--env", "dev", "--kubectl", str(kubectl)]).exit_code
        == 0
    )
    status, logs = _calls(kubectl)
    assert status["argv"][:2] == ["get", "deployments,services,horizontalpodautoscalers,poddisruptionbudgets"]
    assert "app.kubernetes.io/part-of=shipyard,naftiko.io/environment=dev" in status["argv"]
    assert logs["argv"][:5] == ["logs", "-n", "shipyard-dev", "-l", "naftiko.io/capability=ping"]


def test_unknown_capability_and_missing_kubectl(kubectl: Path) -> None:
    result = CliRunner().invoke(main, ["logs", "nope", "-C", str(DEMO), "--env", "dev", "--kubectl", str(kubectl)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "unknown capability 'nope'" in result.stderr
    result = CliRunner().invoke(main, ["status", str(DEMO), "--env", "dev", "--kubectl", "/nonexistent/kubectl"])
    assert result.exit_code == 1
    assert "not found: the cluster commands need kubectl" in result.stderr
