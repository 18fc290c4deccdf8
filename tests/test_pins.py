"""Version pinning: the bundle store, promote and lock (SPEC 2.1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main
from skipper_render import render
from skipper_render.errors import ValidationError

DEMO = FIXTURES / "valid" / "demo"


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    return shutil.copytree(DEMO, tmp_path / "fleet")


def _spec_text(fleet: Path, env: str, cap: str) -> str:
    objects = render(fleet, env).objects
    text: str = next(o for o in objects if o["metadata"]["name"] == f"{cap}-spec")["data"]["capability.yaml"]
    return text


def test_promote_pins_and_prod_keeps_the_reviewed_spec(fleet: Path) -> None:
    before = (fleet / "environments" / "prod.yaml").read_text()
    result = CliRunner().invoke(main, ["promote", "shipyard", "--from", "staging", "--to", "prod", "-C", str(fleet)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # staging and prod run the same bundle: nothing renders differently
    after = (fleet / "environments" / "prod.yaml").read_text()
    assert after.startswith(before.rstrip("\n") + "\n  pins:\n    shipyard: {engine: v1.0.0-beta4, spec: sha256:")
    assert "# null deletes: prod lets the class HPA scale ping" in after
    pin = yaml.safe_load(after)["spec"]["pins"]["shipyard"]["spec"]
    assert (fleet / ".skipper" / "store" / pin.removeprefix("sha256:") / "bundle.json").is_file()
    spec = fleet / "capabilities" / "shipyard" / "shipyard.ikanos.yml"
    spec.write_text(spec.read_text().replace("Shipyard Fleet Management", "Shipyard v2"))
    assert "Shipyard v2" in _spec_text(fleet, "staging", "shipyard")  # main moves on
    assert "Shipyard v2" not in _spec_text(fleet, "prod", "shipyard")  # prod renders the pinned bundle
    imported = fleet / "capabilities" / "shipyard" / "shared" / "legacy-consumes.yaml"
    imported.unlink()  # even an import removed from the tree stays available to prod
    assert render(fleet, "prod").objects


def test_promote_prints_the_rendered_diff(fleet: Path) -> None:
    spec = fleet / "capabilities" / "ping" / "ping.ikanos.yml"
    CliRunner().invoke(main, ["lock", str(fleet), "--env", "staging"])
    spec.write_text(spec.read_text().replace("Native Regression", "Regression v2"))
    result = CliRunner().invoke(main, ["promote", "ping", "--from", "dev", "--to", "staging", "-C", str(fleet)])
    assert result.exit_code == 0, result.stderr
    assert "--- staging-before/shipyard-staging/configmap_ping-spec" in result.stdout
    assert (
        "-      display: Native Regression — HTTP Connector\n+      display: Regression v2 — HTTP Connector"
        in result.stdout
    )
    assert "+        naftiko.io/spec-digest: " in result.stdout  # the pods roll


def test_lock_pins_every_capability(fleet: Path) -> None:
    result = CliRunner().invoke(main, ["lock", str(fleet), "--env", "dev"])
    assert result.exit_code == 0, result.stderr
    pins = yaml.safe_load((fleet / "environments" / "dev.yaml").read_text())["spec"]["pins"]
    assert set(pins) == {"oauth-tools", "ping", "shipyard", "teams", "telemetry"}
    assert "# trace everything in dev" in (fleet / "environments" / "dev.yaml").read_text()


def test_a_tampered_store_entry_is_an_error(fleet: Path) -> None:
    CliRunner().invoke(main, ["lock", str(fleet), "--env", "prod"])
    pin = yaml.safe_load((fleet / "environments" / "prod.yaml").read_text())["spec"]["pins"]["teams"]["spec"]
    entry = fleet / ".skipper" / "store" / pin.removeprefix("sha256:")
    stored = next(p for p in entry.rglob("*.naftiko.yml"))
    stored.write_text(stored.read_text() + "\n# edited after review\n")
    with pytest.raises(ValidationError, match="does not match its digest"):
        render(fleet, "prod")
    shutil.rmtree(entry)
    with pytest.raises(ValidationError, match=r"pinned bundle sha256:[0-9a-f]{64} is not in \.skipper/store"):
        render(fleet, "prod")


def test_unknown_capability_or_environment(fleet: Path) -> None:
    result = CliRunner().invoke(main, ["promote", "nope", "--from", "dev", "--to", "prod", "-C", str(fleet)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "prod does not render capability 'nope' (absent or unknown there)" in result.stderr
    # ping is absent in prod: a pin there would change nothing and hide the mistake
    result = CliRunner().invoke(main, ["promote", "ping", "--from", "dev", "--to", "prod", "-C", str(fleet)])
    assert result.exit_code == 1 and "prod does not render capability 'ping'" in result.stderr
    result = CliRunner().invoke(main, ["promote", "shipyard", "--from", "nope", "--to", "prod", "-C", str(fleet)])
    assert result.exit_code == 1 and "unknown environment 'nope'" in result.stderr
    result = CliRunner().invoke(main, ["lock", str(fleet), "--env", "qa"])
    assert "unknown environment 'qa'" in result.stderr
