"""Target `operator`: what it renders beside the Capability CRs, and what it says it leaves out."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import FIXTURES

from skipper_render import render

OPERATOR = FIXTURES / "valid" / "operator"


def test_classes_are_safe_to_share_between_environments_and_fleets(tmp_path: Path) -> None:
    """CapabilityClasses are cluster-scoped: two renders on one cluster must not fight over labels."""
    staging = [o for o in render(OPERATOR, "staging", target="operator").objects if o["kind"] == "CapabilityClass"]
    assert staging
    for obj in staging:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "skipper-render",
            "app.kubernetes.io/name": "capability-class",
        }


def test_external_secrets_come_along_and_dropped_families_are_named(tmp_path: Path) -> None:
    fleet = Path(shutil.copytree(FIXTURES / "valid" / "secure", tmp_path / "fleet"))
    result = render(fleet, "prod", target="operator")
    kinds = {o["kind"] for o in result.objects}
    assert "ExternalSecret" in kinds and "Capability" in kinds  # the operator's pods mount these Secrets
    assert not kinds & {"Certificate", "NetworkPolicy"}
    workloads = [o for o in result.objects if o["kind"] == "Deployment"]
    assert [o["metadata"]["name"] for o in workloads] == ["vault-fleet-mcp-gateway"]  # ours; the operator runs the rest
    said = {
        w.message.split(":", 1)[1].split(" is rendered")[0].strip()
        for w in result.warnings
        if "target operator" in w.message
    }
    assert said == {"no Certificate", "no NetworkPolicy", "no Warden"}
