from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main

DEMO = FIXTURES / "valid" / "demo"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_environments_are_compared_object_by_object() -> None:
    code, out, _ = run("diff", str(DEMO), "--env", "dev", "--env-b", "prod", "--exit-code")
    assert code == 1
    assert "--- dev/deployment.apps_shipyard\n+++ prod/deployment.apps_shipyard\n" in out
    assert "--- dev/deployment.apps_ping\n+++ /dev/null\n" in out  # ping is absent in prod
    assert "-  namespace: shipyard-dev\n+  namespace: shipyard-prod\n" in out


def test_no_difference_exits_0_even_with_exit_code() -> None:
    assert run("diff", str(DEMO), "--env", "dev", "--env-b", "dev", "--exit-code") == (0, "", "")


def test_markdown_is_a_pr_comment() -> None:
    code, out, _ = run("diff", str(DEMO), "--env", "staging", "--env-b", "prod", "--format", "markdown")
    assert code == 0
    assert out.startswith("### skipper diff staging -> prod\n")
    assert "| `deployment.apps_ping` | removed |" in out
    assert "<details><summary><code>deployment.apps_shipyard</code> (changed)</summary>" in out
    assert "```diff\n" in out


def test_against_a_rendered_directory(tmp_path: Path) -> None:
    assert run("render", str(DEMO), "--env", "dev", "--output-dir", str(tmp_path / "r"))[0] == 0
    assert run("diff", str(DEMO), "--env", "dev", "--against", str(tmp_path / "r"), "--exit-code") == (0, "", "")
    (tmp_path / "r" / "shipyard-dev" / "service_ping.yaml").unlink()
    code, out, _ = run("diff", str(DEMO), "--env", "dev", "--against", str(tmp_path / "r"), "--exit-code")
    assert code == 1
    assert "+++ rendered/shipyard-dev/service_ping" in out


def test_against_a_git_ref(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DEMO, repo / "fleet")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "base", "--allow-empty")
    git("add", ".")
    git("-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "fleet")
    manifest = repo / "fleet" / "naftiko.fleet.yaml"
    manifest.write_text(manifest.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    code, out, _ = run("diff", str(repo / "fleet"), "--env", "dev", "--against", "HEAD", "--exit-code")
    assert code == 1
    assert (
        "--- HEAD/shipyard-dev/deployment.apps_shipyard\n+++ working-tree/shipyard-dev/deployment.apps_shipyard" in out
    )
    assert "-          value: info\n+          value: debug\n" in out
    code, _, err = run("diff", str(repo / "fleet"), "--env", "dev", "--against", "no-such-ref")
    assert code == 1
    assert "--against: git rev-parse 'no-such-ref'" in err


def test_needs_exactly_one_comparison() -> None:
    assert run("diff", str(DEMO), "--env", "dev")[0] == 2
